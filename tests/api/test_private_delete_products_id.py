"""DELETE /private/products/$ID: refused while held, unless ?force=yes."""
import pytest

from taler_inventory.timeutil import US_PER_S, now_us
from tests import factories as f
from tests.checks import assert_error

HOUR = 3600 * US_PER_S


def delete(client, headers, product_id, query="", instance="admin"):
    return client.delete(f"{f.prefix(instance)}/private/products/{product_id}{query}",
                         headers=headers)


def holds(db):
    return db.execute("SELECT count(*) AS n FROM holds").fetchone()["n"]


def test_delete_then_unknown(client, admin_headers, db):
    cat = client.post("/private/categories", json={"name": "c"},
                      headers=admin_headers).get_json()["category_id"]
    f.create_product(client, admin_headers, "p", categories=[cat])
    resp = delete(client, admin_headers, "p")
    assert resp.status_code == 204 and resp.data == b""
    resp = client.get("/private/products/p", headers=admin_headers)
    assert (resp.status_code, resp.get_json()["code"]) == (404, 2006)
    resp = delete(client, admin_headers, "p")
    assert (resp.status_code, resp.get_json()["code"]) == (404, 2006)
    # An id no product can have (PostgreSQL cannot compare a NUL): 404, not 500.
    resp = delete(client, admin_headers, "a%00b", "?force=yes")
    assert (resp.status_code, resp.get_json()["code"]) == (404, 2006)
    assert db.execute("SELECT count(*) AS n FROM product_categories").fetchone()["n"] == 0
    # The category stays.
    assert client.get(f"/private/categories/{cat}", headers=admin_headers).status_code == 200


def test_live_hold_blocks_deletion(client, admin_headers, db):
    f.create_product(client, admin_headers, "p")
    f.insert_hold(db, "p", 2, now_us() + HOUR)
    resp = delete(client, admin_headers, "p")
    assert (resp.status_code, resp.get_json()["code"]) == (409, 2680)
    assert f.product(client, admin_headers, "p")["unit_total_locked"] == "2"
    assert holds(db) == 1


def test_expired_holds_do_not_block(client, admin_headers, db):
    f.create_product(client, admin_headers, "p")
    f.insert_hold(db, "p", 2, now_us() - US_PER_S)
    assert delete(client, admin_headers, "p").status_code == 204
    assert holds(db) == 0


def test_force_deletes_a_held_product(client, admin_headers, db):
    f.create_product(client, admin_headers, "p")
    f.create_product(client, admin_headers, "q")
    f.insert_hold(db, "p", 2, now_us() + HOUR, lock_uuid="a")
    f.insert_hold(db, "p", 1, now_us() + HOUR, lock_uuid="b")
    f.insert_hold(db, "q", 1, now_us() + HOUR, lock_uuid="a")
    assert delete(client, admin_headers, "p", "?force=yes").status_code == 204
    assert holds(db) == 1
    assert f.product(client, admin_headers, "q")["unit_total_locked"] == "1"


def test_force_keeps_the_lock_count_exact(client, admin_headers, db):
    shop = f.instance_headers(client, admin_headers, "shop1", max_active_locks=10)
    f.create_product(client, shop, "p", instance="shop1")
    f.create_product(client, shop, "q", instance="shop1")
    for uuid in ("a", "b", "c"):
        f.insert_hold(db, "p", 1, now_us() + HOUR, lock_uuid=uuid, instance="shop1")
    f.insert_hold(db, "q", 1, now_us() + HOUR, lock_uuid="a", instance="shop1")

    def active():
        return db.execute("SELECT active_locks FROM instances"
                          " WHERE instance_id = 'shop1'").fetchone()["active_locks"]

    assert active() == 4
    assert delete(client, shop, "p", "?force=yes", instance="shop1").status_code == 204
    assert active() == 1


def test_force_through_the_lock_api(client, admin_headers, db):
    shop = f.instance_headers(client, admin_headers, "shop1", max_active_locks=2)
    f.create_product(client, shop, "p", instance="shop1")
    f.create_product(client, shop, "q", instance="shop1")
    for uuid in ("a", "b"):
        resp = client.post("/instances/shop1/private/products/p/lock", headers=shop, json={
            "lock_uuid": uuid, "duration": {"d_us": HOUR}})
        assert resp.status_code == 204, resp.get_json()
    assert delete(client, shop, "p", instance="shop1").status_code == 409
    assert delete(client, shop, "p", "?force=yes", instance="shop1").status_code == 204
    # The cap counts the two locks as gone: two new locks fit.
    for uuid in ("c", "d"):
        resp = client.post("/instances/shop1/private/products/q/lock", headers=shop, json={
            "lock_uuid": uuid, "duration": {"d_us": HOUR}})
        assert resp.status_code == 204, resp.get_json()


def test_force_without_holds_and_explicit_no(client, admin_headers, db):
    f.create_product(client, admin_headers, "p")
    f.create_product(client, admin_headers, "q")
    f.insert_hold(db, "q", 1, now_us() + HOUR)
    assert delete(client, admin_headers, "p", "?force=yes").status_code == 204
    assert delete(client, admin_headers, "q", "?force=no").status_code == 409


@pytest.mark.parametrize("query", ["?force=YES", "?force=1", "?force=", "?force=no"])
def test_force_other_than_yes_is_the_default(client, admin_headers, db, query):
    # Taler: "Any other value (or omitting the parameter) keeps the default behavior".
    f.create_product(client, admin_headers, "held")
    f.insert_hold(db, "held", 1, now_us() + HOUR)
    f.create_product(client, admin_headers, "free")
    assert_error(delete(client, admin_headers, "held", query), 409, 2680)
    assert f.product(client, admin_headers, "held")["unit_total_locked"] == "1"
    assert delete(client, admin_headers, "free", query).status_code == 204
    assert client.get("/private/products/free", headers=admin_headers).status_code == 404


def test_instances_are_isolated(client, admin_headers):
    shop = f.instance_headers(client, admin_headers, "shop1")
    f.create_product(client, admin_headers, "p")
    f.create_product(client, shop, "p", instance="shop1")
    assert delete(client, shop, "p", instance="shop1").status_code == 204
    f.product(client, admin_headers, "p")
    resp = delete(client, shop, "p", instance="shop1")
    assert (resp.status_code, resp.get_json()["code"]) == (404, 2006)


def test_permissions(client, admin_headers):
    f.create_product(client, admin_headers, "p")
    pos = f.auth_headers(f.token(client, "admin", f.ADMIN_PASSWORD, "order-full"))
    resp = delete(client, pos, "p")
    assert (resp.status_code, resp.get_json()["code"]) == (403, 16)
    resp = delete(client, {}, "p")
    assert (resp.status_code, resp.get_json()["code"]) == (401, 2015)
    f.product(client, admin_headers, "p")
