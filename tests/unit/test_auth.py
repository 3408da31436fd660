"""Scopes, permissions, token secrets and password hashing (no database)."""
import pytest

from taler_inventory import auth

READS = {"products-read", "categories-read", "orders-read", "instances-read", "tokens-read",
         "accounts-read", "units-read", "groups-read", "pots-read", "webhooks-read"}
EVERYTHING = READS | {"products-write", "products-lock", "categories-write", "orders-write",
                      "orders-refund", "instances-write", "instances-auth-write",
                      "tokens-write", "accounts-write", "units-write", "groups-write",
                      "pots-write", "webhooks-write", "token-refresh"}
ORDER_SIMPLE = {"orders-read", "orders-write"}
ORDER_POS = ORDER_SIMPLE | {"products-read", "products-lock"}
ORDER_MGMT = ORDER_SIMPLE | {"orders-refund"}

#: The documentation's scope table (SPEC §2 with today's permission names), written out
#: by hand so the table in auth.py is checked, not copied.
EXPECTED = {
    "readonly": READS,
    "all": EVERYTHING - {"token-refresh"},
    "write": EVERYTHING - {"token-refresh"},
    "order-simple": ORDER_SIMPLE,
    "order-pos": ORDER_POS,
    "order-mgmt": ORDER_MGMT,
    "order-full": ORDER_POS | ORDER_MGMT,
}


@pytest.mark.parametrize("scope", sorted(EXPECTED))
def test_scope_grants_exactly_its_permissions(scope):
    assert auth.permissions(scope) == EXPECTED[scope]


@pytest.mark.parametrize("scope", sorted(EXPECTED))
def test_refreshable_suffix_adds_token_refresh(scope):
    assert auth.permissions(scope + ":refreshable") == EXPECTED[scope] | {"token-refresh"}
    assert auth.parse_scope(scope + ":refreshable") == (scope, True)
    assert auth.parse_scope(scope) == (scope, False)


@pytest.mark.parametrize("scope", sorted(EXPECTED))
@pytest.mark.parametrize("permission", sorted(EVERYTHING))
def test_every_scope_against_every_permission(scope, permission):
    granted = permission in auth.permissions(scope)
    assert granted == (permission in EXPECTED[scope])


@pytest.mark.parametrize("scope", ["", "admin", "ALL", "readonly:", ":refreshable",
                                   "readonly:refreshable:refreshable", "all "])
def test_unknown_scope_grants_nothing(scope):
    assert auth.parse_scope(scope) is None
    assert auth.permissions(scope) == frozenset()


def test_token_is_random_and_only_its_hash_is_kept():
    text, digest = auth.new_token()
    other, _ = auth.new_token()
    assert text.startswith("secret-token:") and text != other
    assert len(text) - len("secret-token:") >= 52  # 32 random bytes in base32
    assert len(digest) == 32 and text.encode() not in digest
    assert auth.hash_token(text) == digest
    assert auth.hash_token(other) != digest


def test_password_hash_is_salted_and_verifies():
    passwords = auth.Passwords(time_cost=1, memory_cost=64)
    secret = "correct horse battery staple"
    first, second = passwords.hash(secret), passwords.hash(secret)
    assert first != second and secret not in first
    assert first.startswith("$argon2id$")
    assert passwords.verify(first, secret)
    assert not passwords.verify(first, "wrong")
    assert not passwords.verify("not a hash", secret)
