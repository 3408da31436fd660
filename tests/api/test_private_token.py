"""``POST /private/token`` and ``DELETE /private/token``: obtaining and revoking tokens."""
import base64

import pytest
from freezegun import freeze_time

from tests import factories
from tests.checks import assert_error

ADMIN_PW = factories.ADMIN_PASSWORD


def _count_tokens(db, instance="admin"):
    return db.execute("SELECT count(*) AS n FROM tokens JOIN instances USING (instance_serial)"
                      " WHERE instance_id = %s", (instance,)).fetchone()["n"]


def test_basic_auth_obtains_token_stored_as_hash_only(client, db):
    with freeze_time("2030-01-01 00:00:00"):
        resp = client.post("/private/token", headers=factories.basic("admin", ADMIN_PW),
                           json={"scope": "readonly", "description": "pos terminal"})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert set(body) == {"token", "access_token", "scope", "expiration", "refreshable"}
    # "token" is today's name of the secret; "access_token" the one before v19.
    assert body["token"] == body["access_token"]
    assert body["access_token"].startswith("secret-token:")
    assert body["scope"] == "readonly" and body["refreshable"] is False
    # Default duration: one day.
    assert body["expiration"] == {"t_s": 1893456000 + 24 * 3600}
    row = db.execute("SELECT * FROM tokens").fetchone()
    assert row["scope"] == "readonly" and row["description"] == "pos terminal"
    assert len(row["token_hash"]) == 32
    assert body["access_token"].encode() not in bytes(row["token_hash"])


def test_token_with_explicit_duration(client):
    with freeze_time("2030-01-01 00:00:00"):
        resp = client.post("/private/token", headers=factories.basic("admin", ADMIN_PW),
                           json={"scope": "all", "duration": {"d_us": 3_600_000_000}})
    assert resp.get_json()["expiration"] == {"t_s": 1893456000 + 3600}


def test_forever_token_never_expires(client):
    resp = client.post("/private/token", headers=factories.basic("admin", ADMIN_PW),
                       json={"scope": "all", "duration": {"d_us": "forever"}})
    assert resp.status_code == 200
    assert resp.get_json()["expiration"] == {"t_s": "never"}
    headers = factories.auth_headers(resp.get_json()["access_token"])
    assert client.get("/private", headers=headers).status_code == 200


@pytest.mark.parametrize("headers", [
    {},
    factories.basic("admin", "wrong"),
    factories.basic("other", ADMIN_PW),
    factories.basic("admin", ""),
    {"Authorization": "Basic !!!not-base64"},
    {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode()},
    {"Authorization": "Bearer secret-token:unknown"},
    {"Authorization": "Digest something"},
])
def test_bad_credentials_are_401(client, db, headers):
    resp = client.post("/private/token", headers=headers, json={"scope": "readonly"})
    assert_error(resp, 401, 2015)
    assert _count_tokens(db) == 0


def test_instance_is_resolved_before_authentication(client, db):
    resp = client.post("/instances/nosuch/private/token", json={"scope": "readonly"})
    assert_error(resp, 404, 2000)
    resp = client.post("/instances/nosuch/private/token", json={"scope": "readonly"},
                       headers=factories.basic("nosuch", "pw"))
    assert_error(resp, 404, 2000)


@pytest.mark.parametrize("body, code, field", [
    ({}, 25, "scope"),
    ({"scope": "superuser"}, 26, "scope"),
    ({"scope": 7}, 26, "scope"),
    ({"scope": "all", "duration": {"d_us": -1}}, 26, "duration"),
    ({"scope": "all", "duration": 5}, 26, "duration"),
    ({"scope": "all", "duration": {"d_us": 1.5}}, 26, "duration"),
    # PostgreSQL cannot store these: a 400, not a 500.
    ({"scope": "all", "description": "a\u0000b"}, 26, "description"),
    ({"scope": "all", "description": "\ud800"}, 26, "description"),
])
def test_malformed_token_request_is_400(client, db, body, code, field):
    resp = client.post("/private/token", headers=factories.basic("admin", ADMIN_PW), json=body)
    err = assert_error(resp, 400, code)
    assert field in err["detail"]
    assert _count_tokens(db) == 0


def test_null_optional_fields_mean_absent(client):
    resp = client.post("/private/token", headers=factories.basic("admin", ADMIN_PW),
                       json={"scope": "readonly", "duration": None, "description": None})
    assert resp.status_code == 200, resp.get_json()


@pytest.mark.parametrize("prefix", ["Bearer ", "bearer ", "BEARER  ", ""])
def test_bearer_word_is_optional(client, prefix):
    token = factories.token(client, "admin", ADMIN_PW, "readonly")
    resp = client.get("/private", headers={"Authorization": prefix + token})
    assert resp.status_code == 200, resp.get_json()


def test_token_of_60_seconds_expires_at_exactly_60_seconds(client, db):
    with freeze_time("2030-01-01 00:00:00") as clock:
        token = factories.token(client, "admin", ADMIN_PW, "readonly",
                                duration={"d_us": 60_000_000})
        headers = factories.auth_headers(token)
        assert client.get("/private", headers=headers).status_code == 200
        clock.tick(59)
        assert client.get("/private", headers=headers).status_code == 200
        clock.tick(0.999999)
        assert client.get("/private", headers=headers).status_code == 200
        clock.tick(0.000001)
        assert_error(client.get("/private", headers=headers), 401, 2015)
        clock.tick(3600)
        assert_error(client.get("/private", headers=headers), 401, 2015)
    # The expired row stays until gc; it grants nothing.
    assert _count_tokens(db) == 1


def test_delete_token_revokes_the_presented_token_only(client, db):
    first = factories.auth_headers(factories.token(client, "admin", ADMIN_PW, "readonly"))
    second = factories.auth_headers(factories.token(client, "admin", ADMIN_PW, "readonly"))
    resp = client.delete("/private/token", headers=first)
    assert resp.status_code == 204 and resp.data == b""
    assert_error(client.get("/private", headers=first), 401, 2015)
    assert client.get("/private", headers=second).status_code == 200
    assert _count_tokens(db) == 1
    # Revoking it again: it is no credential any more.
    assert_error(client.delete("/private/token", headers=first), 401, 2015)


def test_delete_token_needs_a_token(client, db):
    assert_error(client.delete("/private/token"), 401, 2015)
    assert_error(client.delete("/private/token", headers=factories.basic("admin", ADMIN_PW)),
                 401, 2015)
    assert_error(client.delete("/instances/nosuch/private/token"), 404, 2000)


def test_delete_expired_token_is_401(client, db):
    with freeze_time("2030-01-01 00:00:00") as clock:
        headers = factories.auth_headers(factories.token(
            client, "admin", ADMIN_PW, "readonly", duration={"d_us": 1_000_000}))
        clock.tick(2)
        assert_error(client.delete("/private/token", headers=headers), 401, 2015)


def test_any_scope_may_revoke_itself(client, db):
    headers = factories.auth_headers(factories.token(client, "admin", ADMIN_PW, "order-simple"))
    assert client.delete("/private/token", headers=headers).status_code == 204
    assert _count_tokens(db) == 0


# -- refresh ----------------------------------------------------------------------

def test_refreshable_token_obtains_a_new_token(client, db):
    old = factories.token(client, "admin", ADMIN_PW, "readonly:refreshable")
    resp = client.post("/private/token", headers=factories.auth_headers(old),
                       json={"scope": "readonly:refreshable", "duration": {"d_us": 60_000_000}})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["scope"] == "readonly:refreshable" and body["refreshable"] is True
    assert body["access_token"] != old
    assert client.get("/private", headers=factories.auth_headers(body["access_token"])) \
        .status_code == 200
    assert _count_tokens(db) == 2


def test_refresh_may_narrow_the_scope(client):
    old = factories.token(client, "admin", ADMIN_PW, "all:refreshable")
    resp = client.post("/private/token", headers=factories.auth_headers(old),
                       json={"scope": "readonly"})
    assert resp.status_code == 200
    assert resp.get_json()["refreshable"] is False


def test_token_without_refreshable_cannot_refresh(client, db):
    old = factories.token(client, "admin", ADMIN_PW, "all")
    resp = client.post("/private/token", headers=factories.auth_headers(old),
                       json={"scope": "readonly"})
    err = assert_error(resp, 403, 16)
    assert "token-refresh" in err["detail"]
    assert _count_tokens(db) == 1


@pytest.mark.parametrize("old_scope, new_scope", [
    ("readonly:refreshable", "all"),
    ("readonly:refreshable", "write"),
    ("order-simple:refreshable", "order-pos"),
    ("order-pos:refreshable", "order-full"),
    ("order-mgmt:refreshable", "order-pos:refreshable"),
])
def test_refresh_cannot_escalate(client, db, old_scope, new_scope):
    old = factories.token(client, "admin", ADMIN_PW, old_scope)
    resp = client.post("/private/token", headers=factories.auth_headers(old),
                       json={"scope": new_scope})
    assert_error(resp, 403, 16)
    assert _count_tokens(db) == 1


def test_refreshable_request_flag_is_the_scope_suffix(client, db):
    resp = client.post("/private/token", headers=factories.basic("admin", ADMIN_PW),
                       json={"scope": "readonly", "refreshable": True})
    assert resp.status_code == 200
    assert resp.get_json()["refreshable"] is True
    assert resp.get_json()["scope"] == "readonly:refreshable"
    row = db.execute("SELECT scope, refreshable FROM tokens").fetchone()
    assert row == {"scope": "readonly:refreshable", "refreshable": True}


def test_expired_refreshable_token_cannot_refresh(client):
    with freeze_time("2030-01-01 00:00:00") as clock:
        old = factories.token(client, "admin", ADMIN_PW, "all:refreshable",
                              duration={"d_us": 10_000_000})
        clock.tick(10)
        resp = client.post("/private/token", headers=factories.auth_headers(old),
                           json={"scope": "readonly"})
        assert_error(resp, 401, 2015)


# -- isolation ------------------------------------------------------------------------

def test_token_of_one_instance_is_401_on_another(client, admin_headers, db):
    shop1 = factories.instance_headers(client, admin_headers, "shop1")
    shop2 = factories.instance_headers(client, admin_headers, "shop2")
    assert client.get("/instances/shop1/private", headers=shop1).status_code == 200
    assert_error(client.get("/instances/shop2/private", headers=shop1), 401, 2015)
    assert_error(client.get("/private", headers=shop1), 401, 2015)
    assert_error(client.get("/instances/shop1/private", headers=admin_headers), 401, 2015)
    # Revoking through the wrong instance does not touch the token.
    assert_error(client.delete("/instances/shop2/private/token", headers=shop1), 401, 2015)
    assert client.get("/instances/shop1/private", headers=shop1).status_code == 200
    # A password of one instance does not open another.
    resp = client.post("/instances/shop2/private/token", json={"scope": "all"},
                       headers=factories.basic("shop1", "pw-" + "x" * 8))
    assert_error(resp, 401, 2015)
    assert client.get("/instances/shop2/private", headers=shop2).status_code == 200


def test_admin_token_has_no_power_over_other_instances_private_api(client, admin_headers):
    factories.create_instance(client, admin_headers, "shop1")
    resp = client.patch("/instances/shop1/private", headers=admin_headers, json={"name": "x"})
    assert_error(resp, 401, 2015)


def test_credentials_are_checked_before_the_body(client, db):
    resp = client.post("/private/token", data="{broken", content_type="application/json")
    assert_error(resp, 401, 2015)
    resp = client.post("/private/token", json={"scope": "nonsense"},
                       headers=factories.basic("admin", "wrong"))
    assert_error(resp, 401, 2015)
    assert _count_tokens(db) == 0


def test_openapi_documents_both_ways_to_a_token(client):
    operation = client.get("/openapi.json").get_json()["paths"]["/private/token"]["post"]
    assert operation["security"] == [{"basic": []}, {"bearer": []}]
    assert {"200", "400", "401", "403", "404"} <= set(operation["responses"])


# -- throttling of failed password logins ------------------------------------------------

def _login(client, password, address="192.0.2.1", instance="admin"):
    return client.post(f"{factories.prefix(instance)}/private/token", json={"scope": "all"},
                       headers=factories.basic(instance, password),
                       environ_base={"REMOTE_ADDR": address})


def test_failed_logins_of_an_address_are_throttled_with_retry_after(client, db):
    with freeze_time("2030-01-01 00:00:00") as clock:
        admin_headers = factories.auth_headers(factories.token(client, "admin", ADMIN_PW))
        tokens_before = _count_tokens(db)
        for _ in range(5):
            assert_error(_login(client, "wrong"), 401, 2015)
        # Even the right password waits now, and nothing is hashed.
        resp = _login(client, ADMIN_PW)
        body = assert_error(resp, 429, 10250)
        assert resp.headers["Retry-After"] == "60" and "address" in body["detail"]
        # Another address is not affected, nor are existing tokens.
        assert _login(client, ADMIN_PW, address="192.0.2.2").status_code == 200
        assert client.get("/private", headers=admin_headers).status_code == 200
        clock.tick(30)
        assert _login(client, ADMIN_PW).headers["Retry-After"] == "30"
        clock.tick(30)
        assert _login(client, ADMIN_PW).status_code == 200
        assert _count_tokens(db) == tokens_before + 2


def test_failed_logins_of_an_instance_are_throttled_from_every_address(client, admin_headers,
                                                                        db):
    password = factories.create_instance(client, admin_headers, "shop")
    with freeze_time("2030-01-01 00:00:00") as clock:
        for i in range(30):
            assert_error(_login(client, "wrong", address=f"198.51.100.{i}", instance="shop"),
                         401, 2015)
        resp = _login(client, password, address="203.0.113.9", instance="shop")
        body = assert_error(resp, 429, 10250)
        assert "instance" in body["detail"] and resp.headers["Retry-After"] == "60"
        # Another instance is not affected.
        assert _login(client, ADMIN_PW, address="203.0.113.9").status_code == 200
        clock.tick(61)
        assert _login(client, password, address="203.0.113.9", instance="shop") \
            .status_code == 200
