"""``POST /management/instances/$I/auth``: an instance's new credentials, set by the
admin."""
import pytest

from tests import factories
from tests.checks import assert_error

PW = "shop-password-1234"


def _create(client, admin_headers, auth, instance_id="shop", **fields):
    body = {"id": instance_id, "name": "Shop", "auth": auth, **fields}
    return client.post("/management/instances", json=body, headers=admin_headers)


def _row(db, instance_id="shop"):
    return db.execute("SELECT * FROM instances WHERE instance_id = %s", (instance_id,)).fetchone()


def test_management_auth_sets_a_new_password_and_revokes_tokens(client, admin_headers, db):
    _create(client, admin_headers, {"method": "token", "password": PW})
    old = factories.auth_headers(factories.token(client, "shop", PW))
    resp = client.post("/management/instances/shop/auth", headers=admin_headers,
                       json={"method": "token", "password": "new-pw"})
    assert resp.status_code == 204 and "Content-Type" not in resp.headers
    assert_error(client.get("/instances/shop/private", headers=old), 401, 2015)
    assert factories.token(client, "shop", "new-pw")
    resp = client.post("/instances/shop/private/token", json={"scope": "all"},
                       headers=factories.basic("shop", PW))
    assert_error(resp, 401, 2015)


def test_management_auth_needs_an_admin_token(client, admin_headers, db):
    _create(client, admin_headers, {"method": "token", "password": PW})
    shop = factories.auth_headers(factories.token(client, "shop", PW))
    before = _row(db)
    assert_error(client.post("/management/instances/shop/auth", headers=shop,
                             json={"method": "token", "password": "x"}), 401, 2015)
    readonly = factories.auth_headers(factories.token(client, "admin", factories.ADMIN_PASSWORD,
                                                      "readonly"))
    err = assert_error(client.post("/management/instances/shop/auth", headers=readonly,
                                   json={"method": "token", "password": "x"}), 403, 16)
    assert err["detail"] == "instances-auth-write"
    assert _row(db) == before


@pytest.mark.parametrize("instance_id", ["nosuch", "bad id", "x"])
def test_management_auth_of_unknown_instance_is_404(client, admin_headers, instance_id):
    resp = client.post(f"/management/instances/{instance_id}/auth", headers=admin_headers,
                       json={"method": "token", "password": "x"})
    assert_error(resp, 404, 2000)


@pytest.mark.parametrize("body, code, field", [
    ({}, 25, "method"), ({"method": "token"}, 25, "password"),
    ({"method": "token", "token": "bearer-x"}, 26, "token"),
    ({"method": "secret"}, 26, "method"), ({"method": "token", "password": ""}, 26, "password"),
])
def test_management_auth_malformed_is_400(client, admin_headers, db, body, code, field):
    _create(client, admin_headers, {"method": "token", "password": PW})
    before = _row(db)
    err = assert_error(client.post("/management/instances/shop/auth", headers=admin_headers,
                                   json=body), 400, code)
    assert err["detail"] == field
    assert _row(db) == before
