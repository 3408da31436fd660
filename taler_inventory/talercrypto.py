"""Taler's wire encodings and primitives: Crockford base32, the KDF, EdDSA keys, h_wire.

Everything cryptographic comes from ``cryptography`` and the standard library; this
module only composes them the way Taler (GNUnet) defines:

* Crockford base32 is RFC 4648 base32 (5-bit groups, most significant bit first, the
  last group padded with zero bits) with the alphabet ``0-9A-Z`` minus ``ILOU`` and no
  ``=`` padding.
* ``kdf`` is GNUnet's HKDF: extract with HMAC-SHA512, expand with HMAC-SHA256.
* ``h_wire`` of a bank account is ``kdf(64, payto_uri || NUL, salt,
  "merchant-wire-signature")`` with a 16-byte salt (``TALER_merchant_wire_signature_
  hash``).
"""
import base64
import hashlib
import hmac
import secrets

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

_RFC4648 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TO_CROCKFORD = str.maketrans(_RFC4648, _CROCKFORD)
# Decoding is lenient the way Taler's is: lower case, and O/I/L/U read as 0/1/1/V.
_FROM_CROCKFORD = str.maketrans(_CROCKFORD + "OIL", _RFC4648 + "ABB")

WIRE_SALT_BYTES = 16
HASH_BYTES = 64
_WIRE_INFO = b"merchant-wire-signature"


class EncodingError(ValueError):
    """Text that is not the Crockford base32 of the expected number of bytes."""


def encode(data: bytes) -> str:
    """Crockford base32, as Taler writes keys, hashes and salts."""
    return base64.b32encode(data).decode("ascii").rstrip("=").translate(_TO_CROCKFORD)


def decode(text: str, length: int) -> bytes:
    """Decode Crockford base32 of exactly ``length`` bytes, canonical form only."""
    if not isinstance(text, str) or not text.isascii() or len(text) != (length * 8 + 4) // 5:
        raise EncodingError(f"expected {(length * 8 + 4) // 5} base32 characters")
    upper = text.upper().replace("U", "V")
    if any(c not in _CROCKFORD + "OIL" for c in upper):
        raise EncodingError("not Crockford base32")
    padded = upper.translate(_FROM_CROCKFORD)
    padded += "=" * (-len(padded) % 8)
    try:
        data = base64.b32decode(padded)
    except (ValueError, base64.binascii.Error):
        raise EncodingError("not Crockford base32") from None
    if encode(data) != upper.translate(str.maketrans("OIL", "011")):
        raise EncodingError("the padding bits are not zero")
    return data


def kdf(length: int, ikm: bytes, salt: bytes, info: bytes) -> bytes:
    """GNUnet's ``GNUNET_CRYPTO_kdf``: HKDF, extract HMAC-SHA512, expand HMAC-SHA256."""
    prk = hmac.new(salt, ikm, hashlib.sha512).digest()
    return HKDFExpand(algorithm=hashes.SHA256(), length=length, info=info).derive(prk)


def h_wire(payto_uri: str, salt: bytes) -> bytes:
    """The hash of a bank account's payto URI with its salt, as in contract terms."""
    return kdf(HASH_BYTES, payto_uri.encode("utf-8") + b"\0", salt, _WIRE_INFO)


def new_wire_salt() -> bytes:
    return secrets.token_bytes(WIRE_SALT_BYTES)


def new_key_pair() -> tuple[bytes, bytes]:
    """A fresh EdDSA (Ed25519) key pair: (32-byte private seed, 32-byte public key)."""
    seed = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
        serialization.NoEncryption())
    return seed, public_key(seed)


def public_key(private_seed: bytes) -> bytes:
    """The Ed25519 public key of a 32-byte private seed."""
    return Ed25519PrivateKey.from_private_bytes(private_seed).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def sign(private_seed: bytes, message: bytes) -> bytes:
    """An Ed25519 signature (for the contracts the order API signs)."""
    return Ed25519PrivateKey.from_private_bytes(private_seed).sign(message)
