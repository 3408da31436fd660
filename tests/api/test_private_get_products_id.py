"""GET /private/products/$ID: details with what is locked and available now."""
from freezegun import freeze_time

from taler_inventory.timeutil import US_PER_S, now_us
from tests import factories as f
from tests.support.clock import frozen_headers


def test_unknown_product_is_404(client, admin_headers):
    resp = client.get("/private/products/nope", headers=admin_headers)
    assert (resp.status_code, resp.get_json()["code"]) == (404, 2006)
    # An id no product can have (PostgreSQL cannot compare a NUL): 404, not 500.
    resp = client.get("/private/products/a%00b", headers=admin_headers)
    assert (resp.status_code, resp.get_json()["code"]) == (404, 2006)


def test_other_instance_product_is_404(client, admin_headers):
    shop = f.instance_headers(client, admin_headers, "shop1")
    f.create_product(client, shop, "p", instance="shop1")
    resp = client.get("/private/products/p", headers=admin_headers)
    assert (resp.status_code, resp.get_json()["code"]) == (404, 2006)
    assert f.product(client, shop, "p", instance="shop1")["total_stock"] == 10


@freeze_time("2027-01-15 08:00:00")
def test_live_holds_are_locked_expired_ones_not(client, db):
    admin_headers = frozen_headers(client)
    now = now_us()
    f.create_product(client, admin_headers, "p", unit_allow_fraction=True,
                     unit_total_stock="10.5", unit_total_sold="1.25", unit_total_lost="0.25")
    f.insert_hold(db, "p", "2.5", now + 60 * US_PER_S, lock_uuid="a")
    f.insert_hold(db, "p", "1", now, lock_uuid="b")             # expires right now
    f.insert_hold(db, "p", "3", now - US_PER_S, lock_uuid="c")  # expired, not reclaimed
    detail = f.product(client, admin_headers, "p")
    assert (detail["unit_total_locked"], detail["total_locked"]) == ("2.5", 2)
    assert (detail["unit_total_available"], detail["total_available"]) == ("6.5", 6)
    # Stored rows are untouched by a read.
    assert db.execute("SELECT reserved FROM products").fetchone()["reserved"] == 6.5


def test_expiry_moves_with_the_clock(client, db):
    with freeze_time("2027-01-15 08:00:00") as clock:
        admin_headers = frozen_headers(client)
        f.create_product(client, admin_headers, "p")
        f.insert_hold(db, "p", 4, now_us() + 10 * US_PER_S)
        assert f.product(client, admin_headers, "p")["unit_total_available"] == "6"
        clock.tick(10)
        detail = f.product(client, admin_headers, "p")
        assert detail["unit_total_locked"] == "0" and detail["unit_total_available"] == "10"


def test_available_never_negative(client, admin_headers, db):
    f.create_product(client, admin_headers, "p", total_stock=5)
    f.insert_hold(db, "p", 4, now_us() + 3600 * US_PER_S)
    # A loss recorded later may oversubscribe the holds.
    db.execute("UPDATE products SET total_lost = 3 WHERE product_id = 'p'")
    detail = f.product(client, admin_headers, "p")
    assert (detail["unit_total_available"], detail["total_available"]) == ("0", 0)
    assert detail["unit_total_locked"] == "4"


def test_unlimited_product(client, admin_headers):
    f.create_product(client, admin_headers, "p", total_stock=-1, total_sold=7)
    detail = f.product(client, admin_headers, "p")
    assert (detail["unit_total_stock"], detail["total_stock"]) == ("-1", -1)
    assert (detail["unit_total_available"], detail["total_available"]) == ("-1", -1)
    assert detail["unit_total_sold"] == "7"


def test_lock_api_is_reflected(client, admin_headers):
    f.create_product(client, admin_headers, "p", unit_allow_fraction=True,
                     unit_total_stock="3")
    resp = client.post("/private/products/p/lock", headers=admin_headers, json={
        "lock_uuid": "cart", "duration": {"d_us": 60 * US_PER_S}, "unit_quantity": "1.5"})
    assert resp.status_code == 204, resp.get_json()
    detail = f.product(client, admin_headers, "p")
    assert detail["unit_total_locked"] == "1.5" and detail["unit_total_available"] == "1.5"


def test_permissions(client, admin_headers):
    f.create_product(client, admin_headers, "p")
    pos = f.auth_headers(f.token(client, "admin", f.ADMIN_PASSWORD, "order-pos"))
    assert client.get("/private/products/p", headers=pos).status_code == 200
    simple = f.auth_headers(f.token(client, "admin", f.ADMIN_PASSWORD, "order-mgmt"))
    resp = client.get("/private/products/p", headers=simple)
    assert (resp.status_code, resp.get_json()["code"]) == (403, 16)
    resp = client.get("/instances/nowhere/private/products/p", headers=admin_headers)
    assert (resp.status_code, resp.get_json()["code"]) == (404, 2000)


def test_unlimited_product_matches_its_openapi_schema(client, admin_headers):
    # /openapi.json described unit_total_stock and unit_total_available with the
    # pattern of a finite quantity, while an unlimited product shows "-1" in both.
    import re

    f.create_product(client, admin_headers, "u", unit_total_stock="-1")
    doc = client.get("/openapi.json").get_json()
    detail = f.product(client, admin_headers, "u")
    assert detail["unit_total_stock"] == detail["unit_total_available"] == "-1"
    pos = client.get("/private/pos", headers=admin_headers).get_json()["products"][0]
    for name, shown in (("ProductDetail", detail), ("PosProduct", pos)):
        for field, prop in doc["components"]["schemas"][name]["properties"].items():
            if "pattern" in prop and field in shown:
                assert re.search(prop["pattern"], shown[field]), (name, field, shown[field])
