"""The own instance: ``GET|PATCH /private``, and which scope may call which endpoint of
the foundation (``POST /private/auth``: test_private_post_auth.py)."""
import pytest

from taler_inventory import auth
from tests import factories
from tests.checks import assert_error


def test_get_private_shows_own_settings(client, admin_headers):
    headers = factories.instance_headers(client, admin_headers, "shop1",
                                         email="s@example.com", max_active_locks=7)
    resp = client.get("/instances/shop1/private", headers=headers)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["id"] == "shop1" and body["name"] == "Shop shop1"
    assert body["email"] == "s@example.com" and body["max_active_locks"] == 7
    assert body["auth"] == {"method": "token"}
    assert body["default_pay_delay"] == {"d_us": factories.DAY_US}
    admin = client.get("/private", headers=admin_headers).get_json()
    assert admin["id"] == "admin" and admin["max_active_locks"] is None


def test_patch_private_changes_own_settings_only(client, admin_headers, db):
    headers = factories.instance_headers(client, admin_headers, "shop1")
    resp = client.patch("/instances/shop1/private", headers=headers,
                        json={"name": "New", "default_pay_delay": {"d_us": 5_000_000},
                              "address": {"town": "Biel"}})
    assert resp.status_code == 204
    rows = {r["instance_id"]: r for r in db.execute("SELECT * FROM instances")}
    assert rows["shop1"]["name"] == "New"
    assert rows["shop1"]["default_pay_delay"] == 5_000_000
    assert rows["shop1"]["settings"] == {"address": {"town": "Biel"}}
    assert rows["admin"]["name"] == "admin" and rows["admin"]["settings"] == {}


def test_patch_private_malformed_is_400(client, admin_headers, db):
    err = assert_error(client.patch("/private", headers=admin_headers, json={"name": ""}),
                       400, 26)
    assert err["detail"] == "name"
    assert db.execute("SELECT name FROM instances").fetchone()["name"] == "admin"


@pytest.mark.parametrize("body, field", [
    ({"name": "a\u0000b"}, "name"),
    ({"email": "\ud800"}, "email"),
    ({"website": "a\u0000"}, "website"),
    ({"address": {"town": "a\u0000"}}, "address"),
    ({"jurisdiction": {"\u0000": "x"}}, "jurisdiction"),
    ({"default_wire_transfer_delay": {"d_us": "\u0000"}}, "default_wire_transfer_delay"),
])
def test_patch_private_unstorable_text_is_400(client, admin_headers, db, body, field):
    # PostgreSQL cannot store NUL or unpaired surrogates: a 400, never a 500.
    before = db.execute("SELECT * FROM instances").fetchone()
    err = assert_error(client.patch("/private", headers=admin_headers, json=body), 400, 26)
    assert err["detail"] == field
    assert db.execute("SELECT * FROM instances").fetchone() == before


def test_unknown_instance_is_404_without_credentials(client):
    for method, url in (("get", "/instances/nosuch/private"),
                        ("patch", "/instances/nosuch/private"),
                        ("post", "/instances/nosuch/private/auth"),
                        ("get", "/instances/nosuch/private/tokens"),
                        ("delete", "/instances/nosuch/private/tokens/1"),
                        ("get", "/instances/bad%20id/private")):
        resp = getattr(client, method)(url, json={})
        assert_error(resp, 404, 2000)


# -- every scope against every permission (the endpoints of the foundation) ------------

SCOPES = sorted(auth.SCOPES) + [s + ":refreshable" for s in sorted(auth.SCOPES)]

ENDPOINTS = {
    "instances-read": [("get", "/private", None)],
    "tokens-read": [("get", "/private/tokens", None)],
    "instances-write": [("patch", "/private", {"email": "x@example.com"})],
    "instances-auth-write": [("post", "/private/auth", {"method": "token", "password": "np"})],
    "tokens-write": [("delete", "/private/tokens/{serial}", None)],
}


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("permission, method, url, body", [
    (perm, *call) for perm, calls in ENDPOINTS.items() for call in calls])
def test_scope_against_permission(client, admin_headers, db, scope, permission, method, url,
                                  body):
    headers = factories.instance_headers(client, admin_headers, "shop1", scope=scope)
    serial = db.execute("SELECT max(token_serial) AS s FROM tokens").fetchone()["s"]
    before = db.execute("SELECT * FROM instances WHERE instance_id = 'shop1'").fetchone()
    resp = getattr(client, method)("/instances/shop1" + url.format(serial=serial),
                                   headers=headers, json=body)
    if permission in auth.permissions(scope):
        assert resp.status_code in (200, 204), resp.get_json()
    else:
        err = assert_error(resp, 403, 16)
        assert err["detail"] == permission
        after = db.execute("SELECT * FROM instances WHERE instance_id = 'shop1'").fetchone()
        assert after == before
        assert db.execute("SELECT count(*) AS n FROM tokens WHERE token_serial = %s",
                          (serial,)).fetchone()["n"] == 1


@pytest.mark.parametrize("scope", ["readonly", "all", "write"])
def test_read_scopes_include_instances_read(scope):
    assert "instances-read" in auth.permissions(scope)
