"""``/management/instances[/$ID]``: creating, listing, changing and deleting instances."""
import re

import pytest

from tests import factories
from tests.checks import assert_error

DAY_US = factories.DAY_US


def _body(instance_id="shop1", **fields):
    return {"id": instance_id, "name": f"Shop {instance_id}",
            "auth": {"method": "token", "password": "pw-shop"}, **fields}


def _row(db, instance_id):
    return db.execute("SELECT * FROM instances WHERE instance_id = %s", (instance_id,)).fetchone()


def test_post_creates_with_defaults(client, admin_headers, db):
    resp = client.post("/management/instances", headers=admin_headers, json=_body())
    assert resp.status_code == 204 and resp.data == b""
    row = _row(db, "shop1")
    assert row["name"] == "Shop shop1" and not row["deleted"]
    assert row["default_pay_delay"] == DAY_US and row["max_lock_duration"] == DAY_US
    assert row["max_active_locks"] is None
    assert row["password_hash"].startswith("$argon2id$")
    # Its password works on its own URL.
    factories.token(client, "shop1", "pw-shop")


def test_identical_repost_is_204_and_changes_nothing(client, admin_headers, db):
    body = _body(email="a@example.com", default_pay_delay={"d_us": 60_000_000})
    assert client.post("/management/instances", headers=admin_headers, json=body).status_code == 204
    before = _row(db, "shop1")
    resp = client.post("/management/instances", headers=admin_headers, json=body)
    assert resp.status_code == 204, resp.get_json()
    assert _row(db, "shop1") == before


@pytest.mark.parametrize("change", [
    {"name": "Other name"},
    {"auth": {"method": "token", "password": "other"}},
    {"default_pay_delay": {"d_us": 5}},
    {"max_lock_duration": {"d_us": 5}},
    {"max_active_locks": 3},
    {"email": "b@example.com"},
])
def test_repost_with_other_details_is_409(client, admin_headers, db, change):
    resp = client.post("/management/instances", headers=admin_headers, json=_body())
    assert resp.status_code == 204
    before = _row(db, "shop1")
    resp = client.post("/management/instances", headers=admin_headers, json={**_body(), **change})
    assert_error(resp, 409, 2600)
    assert _row(db, "shop1") == before


def test_taler_fields_are_stored_and_returned(client, admin_headers):
    extra = {"address": {"country": "CH", "town": "Bern"}, "jurisdiction": {"country": "CH"},
             "use_stefan": False, "default_wire_transfer_delay": {"d_us": 1000},
             "email": "shop@example.com", "phone_number": "+41 1", "website": "https://x.example",
             "logo": "data:image/png;base64,AAAA", "unknown_future_field": 1}
    client.post("/management/instances", headers=admin_headers,
                json=_body(max_lock_duration={"d_us": "forever"}, max_active_locks=10, **extra))
    resp = client.get("/management/instances/shop1", headers=admin_headers)
    assert resp.status_code == 200
    body = resp.get_json()
    for key, value in extra.items():
        if key != "unknown_future_field":
            assert body[key] == value, key
    assert "unknown_future_field" not in body
    assert body["id"] == "shop1" and body["name"] == "Shop shop1"
    assert body["auth"] == {"method": "token"}
    assert body["max_lock_duration"] == {"d_us": "forever"}
    assert body["default_pay_delay"] == {"d_us": DAY_US}
    assert body["max_active_locks"] == 10
    assert "password" not in str(body) and "argon2" not in str(body)


@pytest.mark.parametrize("body, code, field", [
    ({"name": "x", "auth": {"method": "token", "password": "p"}}, 25, "id"),
    ({"id": "shop1", "auth": {"method": "token", "password": "p"}}, 25, "name"),
    ({"id": "shop1", "name": "x"}, 25, "auth"),
    ({"id": "shop1", "name": "x", "auth": {"method": "token"}}, 25, "auth.password"),
    ({"id": "shop1", "name": "x", "auth": {"method": "other", "password": "p"}}, 26, "auth.method"),
    ({"id": "shop1", "name": "x", "auth": {"method": "token"}}, 25, "auth.password"),
    ({"id": "shop1", "name": "x", "auth": {"method": "token", "token": "x"}}, 26, "auth.token"),
    ({"id": "shop1", "name": "x", "auth": {"method": "token", "password": "p"},
      "default_refund_delay": {"d_us": "forever"}}, 26, "default_refund_delay"),
    ({"id": "shop1", "name": "x", "auth": {"method": "token", "password": "p"},
      "default_wire_transfer_delay": {"d_us": -1}}, 26, "default_wire_transfer_delay"),
    ({"id": "shop1", "name": "x", "auth": {"method": "token", "password": "p"},
      "default_wire_transfer_rounding_interval": "FORTNIGHT"}, 26,
     "default_wire_transfer_rounding_interval"),
    ({"id": "-bad", "name": "x", "auth": {"method": "token", "password": "p"}}, 26, "id"),
    ({"id": "a", "name": "x", "auth": {"method": "token", "password": "p"}}, 26, "id"),
    ({"id": "has/slash", "name": "x", "auth": {"method": "token", "password": "p"}}, 26, "id"),
    ({"id": "shop1", "name": "x", "auth": {"method": "token", "password": "p"},
      "max_active_locks": -1}, 26, "max_active_locks"),
    ({"id": "shop1", "name": "x", "auth": {"method": "token", "password": "p"},
      "default_pay_delay": {"d_us": "soon"}}, 26, "default_pay_delay"),
    ({"id": "shop1", "name": "x", "auth": {"method": "token", "password": "p"},
      "use_stefan": "yes"}, 26, "use_stefan"),
])
def test_malformed_post_is_400_naming_the_field(client, admin_headers, db, body, code, field):
    resp = client.post("/management/instances", headers=admin_headers, json=body)
    err = assert_error(resp, 400, code)
    assert err["detail"] == field
    assert db.execute("SELECT count(*) AS n FROM instances").fetchone()["n"] == 1


def test_instance_ids_with_dots_at_and_dashes(client, admin_headers):
    for instance_id in ("my.shop", "me@shop", "Shop_1-2"):
        factories.create_instance(client, admin_headers, instance_id)
        headers = factories.auth_headers(factories.token(client, instance_id, "pw-" + "x" * 8))
        resp = client.get(f"/instances/{instance_id}/private", headers=headers)
        assert resp.get_json()["id"] == instance_id


def test_default_is_the_admin_and_cannot_be_created(client, admin_headers, db):
    # /instances/default/... redirects to the admin instance: such an instance
    # could never be reached, so the id counts as taken.
    resp = client.post("/management/instances", headers=admin_headers, json=_body("default"))
    err = assert_error(resp, 409, 2600)
    assert err["detail"] == "default"
    assert _row(db, "default") is None
    assert db.execute("SELECT count(*) AS n FROM instances").fetchone()["n"] == 1


@pytest.mark.parametrize("change, field", [
    ({"name": "a\u0000b"}, "name"),
    ({"auth": {"method": "token", "password": "\ud800"}}, "auth.password"),
    ({"email": "a\u0000"}, "email"),
    ({"logo": "\udc00"}, "logo"),
    ({"address": {"street": "\u0000"}}, "address"),
])
def test_unstorable_text_is_400(client, admin_headers, db, change, field):
    resp = client.post("/management/instances", headers=admin_headers,
                       json={**_body(), **change})
    assert assert_error(resp, 400, 26)["detail"] == field
    assert _row(db, "shop1") is None


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_impossible_instance_id_in_the_path_is_404(client, admin_headers, method):
    resp = getattr(client, method)("/management/instances/a%00b", headers=admin_headers,
                                   json={})
    assert_error(resp, 404, 2000)


def test_list_instances(client, admin_headers):
    factories.create_instance(client, admin_headers, "shop1", website="https://s.example")
    resp = client.get("/management/instances", headers=admin_headers)
    assert resp.status_code == 200
    entries = {e["id"]: e for e in resp.get_json()["instances"]}
    assert set(entries) == {"admin", "shop1"}
    shop1 = entries["shop1"]
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{52}", shop1.pop("merchant_pub"))
    assert shop1 == {"id": "shop1", "name": "Shop shop1", "deleted": False,
                     "payment_targets": [], "website": "https://s.example"}


def test_get_unknown_instance_is_404(client, admin_headers):
    assert_error(client.get("/management/instances/nosuch", headers=admin_headers), 404, 2000)


def test_patch_changes_given_fields_only(client, admin_headers, db):
    factories.create_instance(client, admin_headers, "shop1", email="a@example.com",
                              address={"town": "Bern"})
    resp = client.patch("/management/instances/shop1", headers=admin_headers,
                        json={"name": "Renamed", "max_active_locks": 5,
                              "max_lock_duration": {"d_us": 600_000_000},
                              "email": "b@example.com", "website": None})
    assert resp.status_code == 204, resp.get_json()
    row = _row(db, "shop1")
    assert row["name"] == "Renamed" and row["max_active_locks"] == 5
    assert row["max_lock_duration"] == 600_000_000 and row["default_pay_delay"] == DAY_US
    assert row["settings"] == {"email": "b@example.com", "address": {"town": "Bern"}}
    # null means "absent": unchanged; -1 lifts the cap.
    resp = client.patch("/management/instances/shop1", headers=admin_headers,
                        json={"max_active_locks": None})
    assert resp.status_code == 204
    assert _row(db, "shop1")["max_active_locks"] == 5
    resp = client.patch("/management/instances/shop1", headers=admin_headers,
                        json={"max_active_locks": -1})
    assert resp.status_code == 204
    assert _row(db, "shop1")["max_active_locks"] is None


def test_patch_rejects_malformed_and_unknown(client, admin_headers, db):
    factories.create_instance(client, admin_headers, "shop1")
    err = assert_error(client.patch("/management/instances/shop1", headers=admin_headers,
                                    json={"max_lock_duration": {"d_us": -5}}), 400, 26)
    assert err["detail"] == "max_lock_duration"
    err = assert_error(client.patch("/management/instances/shop1", headers=admin_headers,
                                    json={"max_active_locks": -2}), 400, 26)
    assert err["detail"] == "max_active_locks"
    assert_error(client.patch("/management/instances/nosuch", headers=admin_headers,
                              json={"name": "x"}), 404, 2000)
    assert _row(db, "shop1")["max_lock_duration"] == DAY_US


def test_delete_disables_the_instance_and_revokes_its_tokens(client, admin_headers, db):
    headers = factories.instance_headers(client, admin_headers, "shop1")
    resp = client.delete("/management/instances/shop1", headers=admin_headers)
    assert resp.status_code == 204
    row = _row(db, "shop1")
    assert row["deleted"] is True
    assert db.execute("SELECT count(*) AS n FROM tokens WHERE instance_serial = %s",
                      (row["instance_serial"],)).fetchone()["n"] == 0
    assert_error(client.get("/instances/shop1/private", headers=headers), 404, 2000)
    assert_error(client.post("/instances/shop1/private/token", json={"scope": "all"},
                             headers=factories.basic("shop1", "pw-" + "x" * 8)), 404, 2000)
    assert_error(client.get("/management/instances/shop1", headers=admin_headers), 404, 2000)
    listed = {e["id"]: e["deleted"] for e in
              client.get("/management/instances", headers=admin_headers).get_json()["instances"]}
    assert listed == {"admin": False, "shop1": True}
    # Disabling twice: it is no longer there to disable.
    assert_error(client.delete("/management/instances/shop1", headers=admin_headers), 404, 2000)
    # Its id stays taken until it is purged.
    assert_error(client.post("/management/instances", headers=admin_headers,
                             json=_body("shop1")), 409, 2603)


def test_delete_with_purge_removes_the_instance_and_its_data(client, admin_headers, db):
    factories.instance_headers(client, admin_headers, "shop1")
    serial = _row(db, "shop1")["instance_serial"]
    resp = client.delete("/management/instances/shop1?purge=YES", headers=admin_headers)
    assert resp.status_code == 204
    assert _row(db, "shop1") is None
    assert db.execute("SELECT count(*) AS n FROM tokens WHERE instance_serial = %s",
                      (serial,)).fetchone()["n"] == 0
    # The id is free again.
    assert client.post("/management/instances", headers=admin_headers,
                       json=_body("shop1")).status_code == 204


def test_purge_of_a_disabled_instance(client, admin_headers, db):
    factories.create_instance(client, admin_headers, "shop1")
    client.delete("/management/instances/shop1", headers=admin_headers)
    assert client.delete("/management/instances/shop1?purge=YES",
                         headers=admin_headers).status_code == 204
    assert _row(db, "shop1") is None


def test_delete_unknown_and_admin(client, admin_headers, db):
    assert_error(client.delete("/management/instances/nosuch", headers=admin_headers), 404, 2000)
    assert_error(client.delete("/management/instances/admin", headers=admin_headers), 409, 10106)
    assert _row(db, "admin")["deleted"] is False


# -- who may manage -----------------------------------------------------------------

MANAGEMENT_CALLS = [
    ("post", "/management/instances", _body("shop9")),
    ("get", "/management/instances", None),
    ("get", "/management/instances/shop1", None),
    ("patch", "/management/instances/shop1", {"name": "x"}),
    ("delete", "/management/instances/shop1", None),
]


@pytest.mark.parametrize("method, url, body", MANAGEMENT_CALLS)
def test_management_needs_an_admin_token(client, admin_headers, db, method, url, body):
    shop1 = factories.instance_headers(client, admin_headers, "shop1")
    for headers in ({}, shop1, factories.basic("admin", factories.ADMIN_PASSWORD),
                    {"Authorization": "Bearer secret-token:forged"}):
        resp = getattr(client, method)(url, headers=headers, json=body)
        assert_error(resp, 401, 2015)
    assert _row(db, "shop9") is None
    assert _row(db, "shop1")["name"] == "Shop shop1" and not _row(db, "shop1")["deleted"]


@pytest.mark.parametrize("method, url, body", MANAGEMENT_CALLS)
def test_management_permissions(client, admin_headers, db, method, url, body):
    factories.create_instance(client, admin_headers, "shop1")
    readonly = factories.auth_headers(factories.token(client, "admin", factories.ADMIN_PASSWORD,
                                                      "readonly"))
    resp = getattr(client, method)(url, headers=readonly, json=body)
    if method == "get":
        assert resp.status_code == 200
    else:
        err = assert_error(resp, 403, 16)
        assert err["detail"] == "instances-write"
    for scope in ("order-full", "order-pos"):
        headers = factories.auth_headers(factories.token(client, "admin",
                                                         factories.ADMIN_PASSWORD, scope))
        assert_error(getattr(client, method)(url, headers=headers, json=body), 403, 16)
    assert _row(db, "shop9") is None and not _row(db, "shop1")["deleted"]


def test_authentication_comes_before_the_body(client):
    resp = client.post("/management/instances", data="{not json",
                       content_type="application/json")
    assert_error(resp, 401, 2015)
