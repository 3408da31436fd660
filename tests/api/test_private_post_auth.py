"""``POST [/instances/$I]/private/auth``: the own instance's new credentials."""
import pytest

from tests import factories
from tests.checks import assert_error

SHOP_PW = "pw-" + "x" * 8


def test_password_change_revokes_every_token(client, admin_headers, db):
    headers = factories.instance_headers(client, admin_headers, "shop1")
    other = factories.auth_headers(factories.token(client, "shop1", SHOP_PW, "readonly"))
    resp = client.post("/instances/shop1/private/auth", headers=headers,
                       json={"method": "token", "password": "new-password"})
    assert resp.status_code == 204
    assert_error(client.get("/instances/shop1/private", headers=headers), 401, 2015)
    assert_error(client.get("/instances/shop1/private", headers=other), 401, 2015)
    assert_error(client.post("/instances/shop1/private/token", json={"scope": "all"},
                             headers=factories.basic("shop1", SHOP_PW)), 401, 2015)
    fresh = factories.auth_headers(factories.token(client, "shop1", "new-password"))
    assert client.get("/instances/shop1/private", headers=fresh).status_code == 200
    # Other instances keep their tokens.
    assert client.get("/private", headers=admin_headers).status_code == 200
    counts = {r["instance_id"]: r["n"] for r in db.execute(
        "SELECT instance_id, count(token_serial) AS n FROM instances"
        " LEFT JOIN tokens USING (instance_serial) GROUP BY instance_id")}
    assert counts == {"admin": 1, "shop1": 1}


@pytest.mark.parametrize("body, code, field", [
    ({"method": "token"}, 25, "password"),
    ({"password": "x"}, 25, "method"),
    ({"method": "bogus", "password": "x"}, 26, "method"),
    ({"method": "token", "token": "no-prefix"}, 26, "token"),
    ({"method": "token", "token": "secret-token:"}, 26, "token"),
    ({"method": "token", "password": ""}, 26, "password"),
    ({"method": "token", "password": 5}, 26, "password"),
    ({"method": "token", "password": "\ud800"}, 26, "password"),
    ({"method": "token", "password": "a\u0000b"}, 26, "password"),
])
def test_password_change_malformed_is_400(client, admin_headers, body, code, field):
    err = assert_error(client.post("/private/auth", headers=admin_headers, json=body), 400, code)
    assert err["detail"] == field
    assert client.get("/private", headers=admin_headers).status_code == 200
