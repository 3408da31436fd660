"""``[/instances/$I]/private/accounts[/$H_WIRE]``: bank accounts with salt and h_wire."""
import pytest

from taler_inventory import talercrypto
from tests import factories
from tests.checks import assert_error

IBAN = "payto://iban/DE89370400440532013000?receiver-name=Shop"
X_TALER = "payto://x-taler-bank/bank.example/shop"


def _add(client, headers, payto=IBAN, instance="admin", **fields):
    return client.post(f"{factories.prefix(instance)}/private/accounts",
                       json={"payto_uri": payto, **fields}, headers=headers)


def _rows(db):
    return db.execute("SELECT * FROM instance_accounts ORDER BY account_serial").fetchall()


def test_add_returns_salt_and_the_hash_taler_computes(client, admin_headers, db):
    resp = _add(client, admin_headers)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert set(body) == {"h_wire", "salt"}
    salt = talercrypto.decode(body["salt"], 16)
    assert talercrypto.decode(body["h_wire"], 64) == talercrypto.h_wire(IBAN, salt)
    [row] = _rows(db)
    assert row["payto_uri"] == IBAN and row["active"] is True
    assert bytes(row["salt"]) == salt and bytes(row["h_wire"]) == talercrypto.h_wire(IBAN, salt)


def test_each_account_gets_its_own_salt(client, admin_headers):
    one = _add(client, admin_headers).get_json()
    two = _add(client, admin_headers, X_TALER).get_json()
    assert one["salt"] != two["salt"] and one["h_wire"] != two["h_wire"]


def test_get_one_account_never_shows_the_facade_credentials(client, admin_headers):
    body = _add(client, admin_headers, credit_facade_url="https://bank.example/facade/",
                credit_facade_credentials={"type": "basic", "username": "u",
                                           "password": "facade-secret"},
                extra_wire_subject_metadata="shop-1").get_json()
    resp = client.get(f"/private/accounts/{body['h_wire']}", headers=admin_headers)
    assert resp.status_code == 200
    assert resp.get_json() == {"payto_uri": IBAN, "h_wire": body["h_wire"], "salt": body["salt"],
                               "credit_facade_url": "https://bank.example/facade/",
                               "extra_wire_subject_metadata": "shop-1", "active": True}
    assert "facade-secret" not in resp.get_data(as_text=True)


def test_list_accounts(client, admin_headers):
    one = _add(client, admin_headers).get_json()
    two = _add(client, admin_headers, X_TALER).get_json()
    resp = client.get("/private/accounts", headers=admin_headers)
    assert resp.status_code == 200
    assert resp.get_json() == {"accounts": [
        {"payto_uri": IBAN, "h_wire": one["h_wire"], "active": True},
        {"payto_uri": X_TALER, "h_wire": two["h_wire"], "active": True}]}


def test_list_without_accounts_is_empty(client, admin_headers):
    resp = client.get("/private/accounts", headers=admin_headers)
    assert resp.status_code == 200 and resp.get_json() == {"accounts": []}


def test_adding_the_same_account_again_is_idempotent(client, admin_headers, db):
    first = _add(client, admin_headers).get_json()
    again = _add(client, admin_headers)
    assert again.status_code == 200 and again.get_json() == first
    assert len(_rows(db)) == 1


def test_same_account_with_other_facade_is_409(client, admin_headers, db):
    _add(client, admin_headers)
    before = _rows(db)
    assert_error(_add(client, admin_headers, credit_facade_url="https://other.example/"),
                 409, 2627)
    assert _rows(db) == before


def test_delete_deactivates_and_adding_again_reactivates(client, admin_headers, db):
    body = _add(client, admin_headers).get_json()
    resp = client.delete(f"/private/accounts/{body['h_wire']}", headers=admin_headers)
    assert resp.status_code == 204 and resp.data == b""
    assert _rows(db)[0]["active"] is False
    detail = client.get(f"/private/accounts/{body['h_wire']}", headers=admin_headers).get_json()
    assert detail["active"] is False
    assert_error(client.delete(f"/private/accounts/{body['h_wire']}", headers=admin_headers),
                 404, 2626)
    again = _add(client, admin_headers, credit_facade_url="https://bank.example/")
    assert again.status_code == 200 and again.get_json() == body  # same salt, same hash
    assert _rows(db)[0]["active"] is True
    assert _rows(db)[0]["credit_facade_url"] == "https://bank.example/"


def test_patch_changes_only_what_it_sends(client, admin_headers, db):
    body = _add(client, admin_headers, extra_wire_subject_metadata="keep").get_json()
    url = f"/private/accounts/{body['h_wire']}"
    resp = client.patch(url, json={"credit_facade_url": "https://bank.example/f/",
                                   "credit_facade_credentials": {"type": "none"}},
                        headers=admin_headers)
    assert resp.status_code == 204
    [row] = _rows(db)
    assert row["credit_facade_url"] == "https://bank.example/f/"
    assert row["credit_facade_credentials"] == {"type": "none"}
    assert row["extra_wire_subject_metadata"] == "keep" and row["payto_uri"] == IBAN
    assert client.patch(url, json={}, headers=admin_headers).status_code == 204
    assert _rows(db) == [row]


@pytest.mark.parametrize("body, code, field", [
    ({}, 25, "payto_uri"),
    ({"payto_uri": 5}, 26, "payto_uri"),
    ({"payto_uri": "iban/DE89370400440532013000"}, 24, "payto_uri"),
    ({"payto_uri": "payto://iban/"}, 24, "payto_uri"),
    ({"payto_uri": "payto://iban/DE00370400440532013000"}, 24, "payto_uri"),
    ({"payto_uri": "payto://x-taler-bank/bank example/shop"}, 24, "payto_uri"),
    ({"payto_uri": "payto://iban/DE89370400440532013000\u0000"}, 26, "payto_uri"),
    ({"payto_uri": IBAN, "credit_facade_url": "not a url"}, 26, "credit_facade_url"),
    ({"payto_uri": IBAN, "credit_facade_credentials": {"type": "magic"}}, 26,
     "credit_facade_credentials.type"),
    ({"payto_uri": IBAN, "credit_facade_credentials": {"type": "basic", "username": "u"}}, 25,
     "credit_facade_credentials.password"),
    ({"payto_uri": IBAN, "extra_wire_subject_metadata": "has space"}, 26,
     "extra_wire_subject_metadata"),
    ({"payto_uri": IBAN, "extra_wire_subject_metadata": "x" * 41}, 26,
     "extra_wire_subject_metadata"),
])
def test_malformed_add_is_400_naming_the_field(client, admin_headers, db, body, code, field):
    resp = client.post("/private/accounts", json=body, headers=admin_headers)
    err = assert_error(resp, 400, code)
    assert err["detail"] == field or err.get("parameter") == field, err
    assert _rows(db) == []


@pytest.mark.parametrize("h_wire", ["nothex", "0" * 102, "0" * 104, "U" * 103 + "!"])
@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_malformed_h_wire_is_400_2023(client, admin_headers, db, h_wire, method):
    _add(client, admin_headers)
    before = _rows(db)
    resp = getattr(client, method)(f"/private/accounts/{h_wire}", headers=admin_headers,
                                   json={} if method == "patch" else None)
    assert_error(resp, 400, 2023)
    assert _rows(db) == before


@pytest.mark.parametrize("method, code", [("get", 2022), ("patch", 2022), ("delete", 2626)])
def test_unknown_h_wire_is_404(client, admin_headers, db, method, code):
    _add(client, admin_headers)
    before = _rows(db)
    unknown = talercrypto.encode(bytes(64))
    resp = getattr(client, method)(f"/private/accounts/{unknown}", headers=admin_headers,
                                   json={} if method == "patch" else None)
    assert_error(resp, 404, code)
    assert _rows(db) == before


def test_malformed_patch_is_400_and_changes_nothing(client, admin_headers, db):
    body = _add(client, admin_headers).get_json()
    before = _rows(db)
    resp = client.patch(f"/private/accounts/{body['h_wire']}", headers=admin_headers,
                        json={"extra_wire_subject_metadata": "no spaces please"})
    assert assert_error(resp, 400, 26)["detail"] == "extra_wire_subject_metadata"
    assert _rows(db) == before


def test_accounts_are_isolated_between_instances(client, admin_headers, db):
    shop = factories.instance_headers(client, admin_headers, "shop1")
    mine = _add(client, shop, instance="shop1").get_json()
    url = f"/private/accounts/{mine['h_wire']}"
    # The admin instance sees none of them, and cannot touch them.
    assert client.get("/private/accounts", headers=admin_headers).get_json() == {"accounts": []}
    assert_error(client.get(url, headers=admin_headers), 404, 2022)
    assert_error(client.patch(url, json={"credit_facade_url": "https://x.example/"},
                              headers=admin_headers), 404, 2022)
    assert_error(client.delete(url, headers=admin_headers), 404, 2626)
    # The same payto URI may be an account of both, each with its own salt.
    theirs = _add(client, admin_headers).get_json()
    assert theirs["salt"] != mine["salt"]
    assert client.get(f"/instances/shop1{url}", headers=shop).get_json()["active"] is True
    # A token of shop1 is no credential at the admin instance.
    assert_error(client.get("/private/accounts", headers=shop), 401, 2015)


def test_management_list_shows_the_payment_targets(client, admin_headers):
    _add(client, admin_headers)
    _add(client, admin_headers, X_TALER)
    entries = {e["id"]: e for e in
               client.get("/management/instances", headers=admin_headers).get_json()["instances"]}
    assert entries["admin"]["payment_targets"] == ["iban", "x-taler-bank"]


@pytest.mark.parametrize("scope, allowed", [("readonly", False), ("order-full", False),
                                            ("all", True)])
def test_adding_needs_accounts_write(client, admin_headers, db, scope, allowed):
    headers = factories.auth_headers(factories.token(client, "admin", factories.ADMIN_PASSWORD,
                                                     scope))
    resp = _add(client, headers)
    if allowed:
        assert resp.status_code == 200
    else:
        assert assert_error(resp, 403, 16)["detail"] == "accounts-write"
        assert _rows(db) == []
    listing = client.get("/private/accounts", headers=headers)
    assert listing.status_code == (200 if scope in ("readonly", "all") else 403)
