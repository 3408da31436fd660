"""Taler's encodings and primitives against Taler's own test vectors."""
import pytest

from taler_inventory import talercrypto as tc

# From taler-exchange's test-vector generator (taler-exchange-tvg), as wallet-core's
# taler-crypto tests use them.
TVG_KDF = {
    "salt": "94KPT83PCNS7J83KC5P78Y8",
    "ikm": "94KPT83MD1JJ0WV5CDS6AX10D5Q70XBM41NPAY90DNGQ8SBJD5GPR",
    "ctx": "94KPT83141HPYVKMCNW78833D1TPWTSC41GPRWVF41NPWVVQDRG62WS04XMPWSKF4WG6JVH0EHM6A82J8S1G",
    "out": "GTMR4QT05Z9WF5HKVG0WK9RPXGHSMHJNW377G9GJXCA8B0FEKPF4D27RJMSJZYWSQNTBJ5EYVV7ZW18B48"
           "Z0JVJJ80RHB706Y96Q358",
}
TVG_EDDSA_PRIV = "1KG54M8T3X8BSFSZXCR3SQBSR7Y9P53NX61M864S7TEVMJ2XVPF0"
TVG_EDDSA_PUB = "7BXWKG6N224C57RTDV8XEAHR108HG78NMA995BE8QAT5GC1S7E80"


def _decode(text):
    return tc.decode(text, len(text) * 5 // 8)


def test_crockford_decoding_of_the_vector():
    assert _decode(TVG_KDF["salt"]) == b"I'm very salty"


def test_kdf_matches_taler_test_vector():
    out = tc.kdf(64, _decode(TVG_KDF["ikm"]), _decode(TVG_KDF["salt"]), _decode(TVG_KDF["ctx"]))
    assert tc.encode(out) == TVG_KDF["out"]


def test_eddsa_public_key_matches_taler_test_vector():
    assert tc.encode(tc.public_key(tc.decode(TVG_EDDSA_PRIV, 32))) == TVG_EDDSA_PUB


def test_h_wire_is_the_kdf_of_the_nul_terminated_payto_uri_with_the_salt():
    salt = bytes(range(16))
    payto = "payto://iban/DE89370400440532013000?receiver-name=Shop"
    expected = tc.kdf(64, payto.encode() + b"\0", salt, b"merchant-wire-signature")
    assert tc.h_wire(payto, salt) == expected and len(expected) == 64
    assert tc.h_wire(payto, bytes(16)) != expected  # the salt matters
    assert tc.h_wire(payto + "x", salt) != expected


def test_new_key_pairs_are_distinct_and_consistent():
    (priv1, pub1), (priv2, pub2) = tc.new_key_pair(), tc.new_key_pair()
    assert len(priv1) == len(pub1) == 32 and priv1 != priv2 and pub1 != pub2
    assert tc.public_key(priv1) == pub1
    assert len(tc.encode(pub1)) == 52


def test_signatures_verify_with_the_public_key():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    priv, pub = tc.new_key_pair()
    Ed25519PublicKey.from_public_bytes(pub).verify(tc.sign(priv, b"contract"), b"contract")


def test_round_trip_and_lenient_letters():
    data = bytes(range(64))
    text = tc.encode(data)
    assert len(text) == 103 and tc.decode(text, 64) == data
    assert tc.decode(text.lower(), 64) == data


@pytest.mark.parametrize("text, length", [
    ("", 16), ("0" * 25, 16), ("0" * 27, 16), ("#" * 26, 16), ("é" * 26, 16),
    ("0" * 25 + "1", 16),  # the last character's unused bits are not zero
])
def test_malformed_base32_is_refused(text, length):
    with pytest.raises(tc.EncodingError):
        tc.decode(text, length)
