"""Instances of today: the auth forms, the key pair, the v22+ defaults and ``DELETE
[/instances/$I]/private`` (``POST /management/instances/$I/auth`` has a module of its
own)."""
import base64
import logging
import re

import psycopg
import pytest

from taler_inventory import talercrypto
from taler_inventory.backenddb import schema
from tests import factories
from tests.checks import assert_error

PW = "shop-password-1234"
LEGACY = f"secret-token:{PW}"
CROCKFORD_KEY = re.compile(r"^[0-9A-HJKMNP-TV-Z]{52}$")


def _create(client, admin_headers, auth, instance_id="shop", **fields):
    body = {"id": instance_id, "name": "Shop", "auth": auth, **fields}
    return client.post("/management/instances", json=body, headers=admin_headers)


def _bearer(secret):
    return {"Authorization": f"Bearer {secret}"}


def _row(db, instance_id="shop"):
    return db.execute("SELECT * FROM instances WHERE instance_id = %s", (instance_id,)).fetchone()


# -- the auth forms ------------------------------------------------------------------

@pytest.mark.parametrize("auth", [{"method": "token", "password": PW},
                                  {"method": "token", "token": LEGACY}])
def test_password_and_legacy_token_forms_are_the_same_credential(client, admin_headers, db,
                                                                 auth):
    assert _create(client, admin_headers, auth, default_pay_delay={"d_us": 7200000000}
                   ).status_code == 204
    # Basic with the password obtains tokens ...
    assert factories.token(client, "shop", PW, "readonly")
    # ... and the password presented as a bearer token is a credential of its own,
    # for every endpoint (Tryton and the Android POS app send it so).
    resp = client.get("/instances/shop/private", headers=_bearer(LEGACY))
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["auth"] == {"method": "token"}
    assert resp.get_json()["default_pay_delay"] == {"d_us": 7200000000}
    assert client.patch("/instances/shop/private", json={"email": "a@shop.example"},
                        headers=_bearer(LEGACY)).status_code == 204
    assert _row(db)["settings"]["email"] == "a@shop.example"
    assert client.get("/instances/shop/private/accounts",
                      headers=_bearer(LEGACY)).status_code == 200


def test_legacy_secret_obtains_tokens_with_any_scope(client, admin_headers):
    _create(client, admin_headers, {"method": "token", "token": LEGACY})
    for scope in ("write", "order-mgmt:refreshable", "all:refreshable"):
        resp = client.post("/instances/shop/private/token", headers=_bearer(LEGACY),
                           json={"scope": scope, "duration": {"d_us": "forever"}})
        assert resp.status_code == 200, resp.get_json()
        body = resp.get_json()
        assert body["token"].startswith("secret-token:") and body["scope"] == scope
        token = body["token"]
        assert client.get("/instances/shop/private/orders", headers=_bearer(token)
                          ).status_code == 200


def test_legacy_secret_works_on_the_lock_endpoint(client, admin_headers, db):
    _create(client, admin_headers, {"method": "token", "token": LEGACY})
    token = factories.token(client, "shop", PW)
    factories.create_product(client, factories.auth_headers(token), "p1", instance="shop")
    # First use (verified, then adopted) and the next ones (remembered).
    for quantity in (2, 3):
        resp = factories.lock(client, _bearer(LEGACY), "p1", instance="shop", quantity=quantity)
        assert resp.status_code == 204, resp.get_json()
    assert db.execute("SELECT quantity FROM holds").fetchone()["quantity"] == 3


def test_legacy_adoption_is_never_listed_and_holds_no_password(client, admin_headers, db):
    _create(client, admin_headers, {"method": "token", "token": LEGACY})
    assert client.get("/instances/shop/private", headers=_bearer(LEGACY)).status_code == 200
    internal = db.execute("SELECT * FROM tokens WHERE legacy").fetchall()
    assert len(internal) == 1 and internal[0]["scope"] == "all:refreshable"
    # Not the hash of the password: a fast hash of it would be guessable.
    import hashlib
    assert bytes(internal[0]["token_hash"]) != hashlib.sha256(LEGACY.encode()).digest()
    listing = client.get("/instances/shop/private/tokens", headers=_bearer(LEGACY))
    assert listing.status_code == 204 and listing.data == b""
    assert_error(client.delete(f"/instances/shop/private/tokens/{internal[0]['token_serial']}",
                               headers=_bearer(LEGACY)), 404, 10104)


@pytest.mark.parametrize("secret", ["secret-token:wrong", "secret-token:", LEGACY + "x"])
def test_wrong_legacy_secret_is_401(client, admin_headers, db, secret):
    _create(client, admin_headers, {"method": "token", "password": PW})
    assert_error(client.get("/instances/shop/private", headers=_bearer(secret)), 401, 2015)
    assert_error(factories.lock(client, _bearer(secret), "p1", instance="shop"), 401, 2015)
    assert db.execute("SELECT count(*) AS n FROM tokens").fetchone()["n"] == 1  # admin's


def test_password_change_ends_the_legacy_credential(client, admin_headers):
    _create(client, admin_headers, {"method": "token", "token": LEGACY})
    assert client.get("/instances/shop/private", headers=_bearer(LEGACY)).status_code == 200
    resp = client.post("/instances/shop/private/auth", headers=_bearer(LEGACY),
                       json={"method": "token", "password": "another-password"})
    assert resp.status_code == 204
    assert_error(client.get("/instances/shop/private", headers=_bearer(LEGACY)), 401, 2015)
    assert_error(factories.lock(client, _bearer(LEGACY), "p1", instance="shop"), 401, 2015)
    ok = client.get("/instances/shop/private", headers=_bearer("secret-token:another-password"))
    assert ok.status_code == 200


def test_legacy_secret_of_one_instance_is_no_credential_of_another(client, admin_headers):
    _create(client, admin_headers, {"method": "token", "token": LEGACY})
    _create(client, admin_headers, {"method": "token", "password": "other-pw"}, "shop2")
    assert client.get("/instances/shop/private", headers=_bearer(LEGACY)).status_code == 200
    assert_error(client.get("/instances/shop2/private", headers=_bearer(LEGACY)), 401, 2015)
    assert_error(client.get("/private", headers=_bearer(LEGACY)), 401, 2015)


def test_external_method_checks_no_credentials(client, admin_headers, db):
    assert _create(client, admin_headers, {"method": "external"}).status_code == 204
    assert _row(db)["auth_method"] == "external"
    resp = client.get("/instances/shop/private")
    assert resp.status_code == 200 and resp.get_json()["auth"] == {"method": "external"}
    headers = {}
    factories.create_product(client, headers, "p1", instance="shop")
    assert factories.lock(client, headers, "p1", instance="shop").status_code == 204
    token = client.post("/instances/shop/private/token", json={"scope": "readonly"})
    assert token.status_code == 200
    # Switching back to a password: credentials are checked again.
    assert client.post("/management/instances/shop/auth", headers=admin_headers,
                       json={"method": "token", "password": PW}).status_code == 204
    assert_error(client.get("/instances/shop/private"), 401, 2015)
    assert _row(db)["auth_method"] == "token"


def test_external_instance_cannot_be_logged_into_with_a_password(client, admin_headers):
    _create(client, admin_headers, {"method": "external"})
    # Every Basic login is as good as none: the gateway in front decides.
    resp = client.post("/instances/shop/private/token", json={"scope": "all"},
                       headers=factories.basic("shop", ""))
    assert resp.status_code == 200


# -- DELETE [/instances/$I]/private ----------------------------------------------------

def test_delete_private_disables_the_instance_and_erases_its_private_key(client, admin_headers,
                                                                         db):
    _create(client, admin_headers, {"method": "token", "password": PW})
    headers = factories.auth_headers(factories.token(client, "shop", PW))
    pub = bytes(_row(db)["merchant_pub"])
    resp = client.delete("/instances/shop/private", headers=headers)
    assert resp.status_code == 204 and resp.data == b""
    row = _row(db)
    assert row["deleted"] is True and row["merchant_priv"] is None
    assert bytes(row["merchant_pub"]) == pub
    assert_error(client.get("/instances/shop/private", headers=headers), 404, 2000)
    assert db.execute("SELECT count(*) AS n FROM tokens WHERE instance_serial = %s",
                      (row["instance_serial"],)).fetchone()["n"] == 0


def test_delete_private_with_purge_removes_the_instance(client, admin_headers, db):
    _create(client, admin_headers, {"method": "token", "password": PW})
    headers = factories.auth_headers(factories.token(client, "shop", PW))
    factories.create_product(client, headers, "p1", instance="shop")
    assert client.delete("/instances/shop/private?purge=YES", headers=headers).status_code == 204
    assert _row(db) is None
    assert db.execute("SELECT count(*) AS n FROM products").fetchone()["n"] == 0


def test_delete_private_needs_instances_write(client, admin_headers, db):
    _create(client, admin_headers, {"method": "token", "password": PW})
    headers = factories.auth_headers(factories.token(client, "shop", PW, "readonly"))
    before = _row(db)
    assert assert_error(client.delete("/instances/shop/private", headers=headers),
                        403, 16)["detail"] == "instances-write"
    assert _row(db) == before


def test_admin_cannot_delete_itself(client, admin_headers, db):
    assert_error(client.delete("/private", headers=admin_headers), 409, 10106)
    assert _row(db, "admin")["deleted"] is False


# -- keys --------------------------------------------------------------------------

def test_every_instance_gets_its_own_key_pair(client, admin_headers, db):
    _create(client, admin_headers, {"method": "token", "password": PW})
    _create(client, admin_headers, {"method": "token", "password": PW}, "shop2")
    pubs = set()
    for instance_id in ("shop", "shop2"):
        row = _row(db, instance_id)
        assert talercrypto.public_key(bytes(row["merchant_priv"])) == bytes(row["merchant_pub"])
        headers = factories.auth_headers(factories.token(client, instance_id, PW))
        shown = client.get(f"/instances/{instance_id}/private", headers=headers).get_json()
        assert CROCKFORD_KEY.match(shown["merchant_pub"])
        assert talercrypto.decode(shown["merchant_pub"], 32) == bytes(row["merchant_pub"])
        pubs.add(shown["merchant_pub"])
    assert len(pubs) == 2


def _secret_forms(secret: bytes):
    return {secret.hex(), secret.hex().upper(), talercrypto.encode(secret),
            base64.b64encode(secret).decode(),
            base64.urlsafe_b64encode(secret).decode().rstrip("="),
            base64.b32encode(secret).decode().rstrip("=")}


def test_private_key_never_appears_in_an_answer_or_a_log(client, admin_headers, db, caplog):
    caplog.set_level(logging.DEBUG)
    answers = [_create(client, admin_headers, {"method": "token", "password": PW})]
    headers = factories.auth_headers(factories.token(client, "shop", PW))
    for method, url in [("get", "/instances/shop/private"), ("get", "/management/instances"),
                        ("get", "/management/instances/shop"), ("get", "/instances/shop/config"),
                        ("get", "/openapi.json"), ("patch", "/instances/shop/private"),
                        ("get", "/instances/shop/private/tokens")]:
        h = admin_headers if "management" in url else headers
        answers.append(getattr(client, method)(url, headers=h,
                                               json={"name": "x"} if method == "patch" else None))
    priv = bytes(_row(db)["merchant_priv"])
    text = "\n".join(r.get_data(as_text=True) + str(r.headers) for r in answers)
    text += "\n".join(r.getMessage() for r in caplog.records)
    for form in _secret_forms(priv):
        assert form not in text


# -- defaults and every field --------------------------------------------------------

def test_defaults_are_stored_and_returned(client, admin_headers, db):
    resp = _create(client, admin_headers, {"method": "token", "password": PW},
                   default_refund_delay={"d_us": 3600000000},
                   default_wire_transfer_delay={"d_us": 7200000000},
                   default_wire_transfer_rounding_interval="DAY", email="s@shop.example")
    assert resp.status_code == 204
    row = _row(db)
    assert (row["default_refund_delay"], row["default_wire_transfer_delay"],
            row["default_wire_transfer_rounding_interval"]) == (3600000000, 7200000000, "DAY")
    headers = factories.auth_headers(factories.token(client, "shop", PW))
    shown = client.get("/instances/shop/private", headers=headers).get_json()
    assert {k: shown[k] for k in ("default_refund_delay", "default_wire_transfer_delay",
                                  "default_wire_transfer_rounding_interval")} == {
        "default_refund_delay": {"d_us": 3600000000},
        "default_wire_transfer_delay": {"d_us": 7200000000},
        "default_wire_transfer_rounding_interval": "DAY"}
    assert client.patch("/instances/shop/private", headers=headers,
                        json={"default_wire_transfer_rounding_interval": "WEEK"}
                        ).status_code == 204
    again = client.get("/instances/shop/private", headers=headers).get_json()
    assert again["default_wire_transfer_rounding_interval"] == "WEEK"
    assert again["default_refund_delay"] == {"d_us": 3600000000}


def test_get_private_has_every_documented_field(client, admin_headers):
    _create(client, admin_headers, {"method": "token", "password": PW})
    headers = factories.auth_headers(factories.token(client, "shop", PW))
    shown = client.get("/instances/shop/private", headers=headers).get_json()
    assert {"name", "merchant_pub", "address", "jurisdiction", "use_stefan",
            "default_pay_delay", "default_refund_delay", "default_wire_transfer_delay",
            "default_wire_transfer_rounding_interval", "auth"} <= set(shown)
    assert "password" not in str(shown) and "merchant_priv" not in shown
    assert "email_validated" not in shown and "phone_validated" not in shown


def test_contacts_are_shown_as_not_validated(client, admin_headers):
    _create(client, admin_headers, {"method": "token", "password": PW},
            email="s@shop.example", phone_number="+41 79 000 00 00")
    headers = factories.auth_headers(factories.token(client, "shop", PW))
    shown = client.get("/instances/shop/private", headers=headers).get_json()
    assert shown["email"] == "s@shop.example" and shown["email_validated"] is False
    assert shown["phone_number"] == "+41 79 000 00 00" and shown["phone_validated"] is False


def test_identical_creation_again_is_204_and_another_auth_method_is_409(client, admin_headers):
    auth = {"method": "token", "password": PW}
    assert _create(client, admin_headers, auth, default_refund_delay={"d_us": 5}
                   ).status_code == 204
    assert _create(client, admin_headers, auth, default_refund_delay={"d_us": 5}
                   ).status_code == 204
    assert_error(_create(client, admin_headers, auth, default_refund_delay={"d_us": 6}),
                 409, 2600)
    assert_error(_create(client, admin_headers, {"method": "external"},
                         default_refund_delay={"d_us": 5}), 409, 2600)


# -- upgrade -------------------------------------------------------------------------

def test_upgrade_gives_existing_instances_a_key_pair_and_keeps_their_delays(scratch_url):
    with psycopg.connect(scratch_url, autocommit=True) as conn:
        with conn.transaction():
            conn.execute((schema.SQL_DIR / "versioning.sql").read_text())
            conn.execute("SET LOCAL search_path TO inventory")
            for path in schema.patch_files():
                if path.stem >= "inventory-0006":
                    continue
                conn.execute(path.read_text())
                conn.execute("INSERT INTO inventory.schema_patches VALUES (%s)", (path.stem,))
            conn.execute(
                """INSERT INTO inventory.instances (instance_id, name, password_hash,
                       default_pay_delay, max_lock_duration, settings)
                   VALUES ('old', 'Old', 'x', 1, 1,
                           '{"default_wire_transfer_delay": {"d_us": 42}, "email": "o@x"}')""")
    applied = schema.dbinit(scratch_url)
    assert "inventory-0006" in applied
    with psycopg.connect(scratch_url, row_factory=psycopg.rows.dict_row) as conn:
        row = conn.execute("SELECT * FROM inventory.instances").fetchone()
    assert talercrypto.public_key(bytes(row["merchant_priv"])) == bytes(row["merchant_pub"])
    assert row["default_wire_transfer_delay"] == 42 and row["settings"] == {"email": "o@x"}
    assert row["auth_method"] == "token"
