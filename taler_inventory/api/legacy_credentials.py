"""The instance password presented as a bearer token (the documentation's legacy form).

Clients of before v19 (and Tryton and the Android POS app today) send
``Authorization: Bearer secret-token:<password>`` to every endpoint of an instance.
"""
import hashlib
import hmac
import secrets
import threading

from flask import current_app

from .. import auth
from ..backenddb import instances as instances_db
from ..backenddb import tokens as tokens_db
from ..db import get_db
from ..timeutil import HOUR


class LegacyCredentials:
    """The instance password presented as ``Bearer secret-token:<password>``.

    The documentation's legacy form (Tryton sends it on every request).  Verifying a
    password costs an Argon2 hash, so a verified one is *adopted*: the server makes
    an internal access token with every permission (``tokens.legacy``, never listed,
    valid for :attr:`TTL`) and remembers, in this process, which token stands for
    that password.  Only a keyed hash of the password is kept in memory, and nothing
    of it in the database; changing the password deletes the instance's tokens, so
    the adoption ends with it.
    """

    TTL = HOUR
    SCOPE = "all" + auth.REFRESHABLE_SUFFIX  # what the password itself allows
    MAX_ENTRIES = 10_000

    def __init__(self):
        self._key = secrets.token_bytes(32)
        self._entries = {}
        self._lock = threading.Lock()

    def _slot(self, instance_id: str, token: str) -> bytes:
        return hmac.digest(self._key, f"{instance_id}\0{token}".encode("utf-8", "replace"),
                           hashlib.sha256)

    def cached(self, instance_id: str, token: str, now: int) -> bytes | None:
        if not self._entries:  # no password adopted: nothing to look up (most requests)
            return None
        entry = self._entries.get(self._slot(instance_id, token))
        return entry[0] if entry is not None and entry[1] > now else None

    def adopt(self, row, token: str, now: int) -> bytes | None:
        """Verify ``token`` as the password of the instance ``row``; on success store an
        internal token and return its hash."""
        slot = self._slot(row["instance_id"], token)
        with self._lock:
            self._entries.pop(slot, None)
        password = token[len(auth.TOKEN_PREFIX):]
        if row["auth_method"] != "token" or not password:
            return None
        stored = get_db().run(instances_db.password_hash, row["instance_serial"])
        if stored is None or not current_app.extensions["taler_inventory_passwords"].verify(
                stored, password):
            return None
        _, token_hash = auth.new_token()
        expiration = now + self.TTL
        get_db().run(tokens_db.insert_token, instance_serial=row["instance_serial"],
                     token_hash=token_hash, scope=self.SCOPE, refreshable=True,
                     creation_time=now, expiration=expiration, description=None,
                     legacy=True)
        with self._lock:
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries.clear()
            self._entries[slot] = (token_hash, expiration)
        return token_hash


def legacy_credentials() -> LegacyCredentials:
    """The app's one :class:`LegacyCredentials` (made on first use)."""
    ext = current_app.extensions
    if "taler_inventory_legacy_credentials" not in ext:
        ext["taler_inventory_legacy_credentials"] = LegacyCredentials()
    return ext["taler_inventory_legacy_credentials"]
