"""Taler's contract terms: what the instance adds to them, their hash, the signed
purpose, and forgettable fields.

The hash of contract terms (``h_contract_terms``) is SHA-512 over their canonical
JSON: object keys sorted, no whitespace, strings as UTF-8 with only the escapes
JSON requires (RFC 8785 for the values contracts carry).  Fields a merchant may
forget later are listed with a salt in their object's ``_forgettable``; before
hashing, each of them is replaced by its salted hash in ``_forgotten``, so the hash
is the same before and after the merchant forgets them.
"""
import hashlib
import json
import re
import secrets
import struct

from . import talercrypto

#: ``TALER_SIGNATURE_MERCHANT_CONTRACT``: the purpose of the merchant's signature
#: over a contract hash.
MERCHANT_CONTRACT_PURPOSE = 1101
#: The instance details that go into the contract's ``merchant`` object.
MERCHANT_FIELDS = ("address", "jurisdiction", "email", "website", "logo")
FORGETTABLE = "_forgettable"
FORGOTTEN = "_forgotten"


class ForgetPathError(ValueError):
    """A forget path that is not ``$.field``, ``$.a[1].b`` or ``$.a[*].b``."""


class NotForgettable(ValueError):
    """A forget path names a field its object does not list in ``_forgettable``."""


crockford = talercrypto.encode


def merchant(instance) -> dict:
    """The ``merchant`` of contract terms: the instance's name and public details."""
    details = {"name": instance["name"]}
    settings = instance["settings"] or {}
    details.update({k: settings[k] for k in MERCHANT_FIELDS if settings.get(k)})
    return details


def wire_method(payto_uri: str) -> str:
    """The wire method of a payto URI: its target type (``payto://iban/...``: iban)."""
    return payto_uri.split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0].lower()


def add_merchant(terms: dict, *, instance, account, base_url: str, exchanges: list) -> dict:
    """Add what the instance says to the terms (in place): ``merchant``,
    ``merchant_pub``, ``merchant_base_url``, ``exchanges`` and, from its bank
    account, ``wire_method`` and ``h_wire`` (neither without an account)."""
    terms["merchant"] = merchant(instance)
    terms["merchant_pub"] = talercrypto.encode(instance["merchant_pub"])
    terms["merchant_base_url"] = base_url
    terms["exchanges"] = list(exchanges)
    if account is not None:
        terms["wire_method"] = wire_method(account["payto_uri"])
        terms["h_wire"] = talercrypto.encode(account["h_wire"])
    return terms


def signed_purpose(h_contract: bytes) -> bytes:
    """What the merchant signs: GNUnet's purpose header (its size and
    :data:`MERCHANT_CONTRACT_PURPOSE`, 32-bit big-endian each) and the hash."""
    return struct.pack(">II", 8 + len(h_contract), MERCHANT_CONTRACT_PURPOSE) + h_contract


def sign(private_seed: bytes, terms: dict) -> str:
    """The instance's EdDSA signature over the contract's hash, in base32."""
    return talercrypto.encode(talercrypto.sign(private_seed, signed_purpose(contract_hash(terms))))


def canonical(value) -> bytes:
    """The canonical JSON encoding of ``value`` that Taler hashes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, allow_nan=False).encode("utf-8")


def contract_hash(terms: dict) -> bytes:
    """``h_contract_terms``: SHA-512 of the canonical terms, forgettable fields hashed."""
    return hashlib.sha512(canonical(_hash_forgettable(terms))).digest()


def salted_hash(value, salt: str) -> bytes:
    """GNUnet's KDF (HKDF: HMAC-SHA512 extract, HMAC-SHA256 expand) of a field's
    canonical JSON, keyed with its salt, as Taler hashes a forgettable field."""
    return talercrypto.kdf(talercrypto.HASH_BYTES, canonical(value), salt.encode() + b"\0", b"")


def seed_forgettable(value):
    """Give every ``_forgettable`` entry sent as ``true`` a random salt (in place)."""
    if isinstance(value, dict):
        marks = value.get(FORGETTABLE)
        if isinstance(marks, dict):
            for key, mark in marks.items():
                if mark is True:
                    marks[key] = crockford(secrets.token_bytes(32))
        for item in value.values():
            seed_forgettable(item)
    elif isinstance(value, list):
        for item in value:
            seed_forgettable(item)
    return value


def _hash_forgettable(value):
    if isinstance(value, list):
        return [_hash_forgettable(item) for item in value]
    if not isinstance(value, dict):
        return value
    marks = value.get(FORGETTABLE)
    result = {k: _hash_forgettable(v) for k, v in value.items() if k != FORGETTABLE}
    if isinstance(marks, dict):
        forgotten = dict(result.get(FORGOTTEN) or {})
        for key, salt in marks.items():
            if key in result and isinstance(salt, str):
                forgotten[key] = crockford(salted_hash(value[key], salt))
                del result[key]
        if forgotten:
            result[FORGOTTEN] = forgotten
    return result


_STEP = re.compile(r"\.([A-Za-z0-9_$-]+)|\[(\*|0|[1-9][0-9]{0,8})\]")


def parse_path(path: str) -> list:
    """``$.a[1].b`` → ["a", 1, "b"]; ``*`` stays "*".  It must end with a field."""
    if not isinstance(path, str) or not path.startswith("$"):
        raise ForgetPathError(path)
    steps, pos = [], 1
    while pos < len(path):
        match = _STEP.match(path, pos)
        if match is None:
            raise ForgetPathError(path)
        field, index = match.groups()
        steps.append(field if field is not None else "*" if index == "*" else int(index))
        pos = match.end()
    if not steps or path.endswith("]"):
        raise ForgetPathError(path)
    return steps


def forget(terms: dict, paths: list[list]) -> int:
    """Forget the fields at ``paths`` in ``terms`` (in place); return how many were
    still there.  A field that is not there (or was forgotten before) is skipped."""
    removed = 0
    for steps in paths:
        for parent, key in _parents(terms, steps[:-1], steps[-1]):
            if key not in parent:
                continue
            salt = (parent.get(FORGETTABLE) or {}).get(key)
            if not isinstance(salt, str):
                raise NotForgettable(key)
            parent.setdefault(FORGOTTEN, {})[key] = crockford(salted_hash(parent[key], salt))
            del parent[key]
            removed += 1
    return removed


def _parents(node, steps, last):
    if not steps:
        if isinstance(node, dict):
            yield node, last
        return
    step, rest = steps[0], steps[1:]
    if step == "*":
        children = node if isinstance(node, list) else []
    elif isinstance(step, int):
        children = [node[step]] if isinstance(node, list) and step < len(node) else []
    else:
        children = [node[step]] if isinstance(node, dict) and step in node else []
    for child in children:
        yield from _parents(child, rest, last)
