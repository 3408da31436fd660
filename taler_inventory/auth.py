"""Passwords, access tokens, scopes and the permission check.

Passwords are stored as Argon2id hashes.  Access tokens are 32 random bytes shown
once as ``secret-token:<base32>``; only their SHA-256 is stored, and a token is
looked up by that hash (index-backed): the database never sees the secret.
"""
import base64
import functools
import hashlib
import secrets
import threading
from contextlib import contextmanager

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .errors import ErrorCode, TalerError

TOKEN_PREFIX = "secret-token:"

#: Every permission an endpoint requires, with the names of the merchant documentation
#: of today (each endpoint's "Required permission").
READ_PERMISSIONS = frozenset({
    "products-read", "categories-read", "orders-read", "instances-read", "tokens-read",
    "accounts-read", "units-read", "groups-read", "pots-read", "webhooks-read",
})
ALL_PERMISSIONS = READ_PERMISSIONS | {
    "products-write", "products-lock", "categories-write", "orders-write", "orders-refund",
    "instances-write", "instances-auth-write", "tokens-write", "accounts-write",
    "units-write", "groups-write", "pots-write", "webhooks-write",
    "token-refresh",
}
_ORDER_SIMPLE = frozenset({"orders-read", "orders-write"})
# A POS also shows the catalogue it sells from (GET /private/pos needs products-read).
_ORDER_POS = _ORDER_SIMPLE | {"products-read", "products-lock"}
_ORDER_MGMT = _ORDER_SIMPLE | {"orders-refund"}

#: Scope name -> permissions (without the ``:refreshable`` suffix), as the documentation's
#: table: ``readonly`` every ``*-read``, ``all`` (``write`` is its deprecated name)
#: everything, the ``order-*`` scopes what a shop or POS front end needs.
SCOPES = {
    "readonly": READ_PERMISSIONS,
    # Refreshing is never implied: only the ":refreshable" suffix grants it.
    "all": ALL_PERMISSIONS - {"token-refresh"},
    "write": ALL_PERMISSIONS - {"token-refresh"},
    "order-simple": _ORDER_SIMPLE,
    "order-pos": _ORDER_POS,
    "order-mgmt": _ORDER_MGMT,
    "order-full": _ORDER_POS | _ORDER_MGMT,
}
REFRESHABLE_SUFFIX = ":refreshable"


def parse_scope(scope: str) -> tuple[str, bool] | None:
    """Split ``scope`` into (base scope, refreshable); None if unknown."""
    refreshable = scope.endswith(REFRESHABLE_SUFFIX)
    base = scope[: -len(REFRESHABLE_SUFFIX)] if refreshable else scope
    if base not in SCOPES:
        return None
    return base, refreshable


def permissions(scope: str) -> frozenset:
    """The permissions a stored scope grants (unknown scope: none)."""
    parsed = parse_scope(scope)
    if parsed is None:
        return frozenset()
    base, refreshable = parsed
    perms = SCOPES[base]
    if refreshable:
        perms = perms | {"token-refresh"}
    return frozenset(perms)


@functools.cache
def scopes_granting(permission: str) -> tuple[str, ...]:
    """Every stored scope (with and without ``:refreshable``) that grants ``permission``."""
    return tuple(sorted(scope for base in SCOPES for scope in (base, base + REFRESHABLE_SUFFIX)
                        if permission in permissions(scope)))


def new_token() -> tuple[str, bytes]:
    """Return (the token as shown to the client, its hash for storage)."""
    raw = secrets.token_bytes(32)
    text = TOKEN_PREFIX + base64.b32encode(raw).decode("ascii").rstrip("=")
    return text, hash_token(text)


def hash_token(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


class Passwords:
    """Argon2id password hashing with configurable cost.

    Each hash takes ``memory_cost`` KiB while it runs, so at most ``concurrency``
    run at once in a process (None: no bound, for the command line): a flood of
    logins costs at most ``concurrency × memory_cost`` of memory.  A check that
    finds no free slot within ``wait`` seconds is answered 503 with ``Retry-After``.
    """

    def __init__(self, time_cost=3, memory_cost=65536, *, concurrency=None, wait=2.0):
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost)
        self._slots = threading.BoundedSemaphore(concurrency) if concurrency else None
        self._wait = wait

    @contextmanager
    def _slot(self):
        if self._slots is None:
            yield
            return
        if not self._slots.acquire(timeout=self._wait):
            raise TalerError(ErrorCode.INVENTORY_PASSWORD_CHECKS_BUSY, retry_after=1)
        try:
            yield
        finally:
            self._slots.release()

    def hash(self, password: str) -> str:
        with self._slot():
            return self._hasher.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        with self._slot():
            try:
                return self._hasher.verify(stored, password)
            except (VerificationError, InvalidHashError):
                return False
