"""``DELETE /private/orders/$ORDER_ID``: an unpaid order goes and its stock is
free at once; a paid one stays (409/2521)."""
import pytest

from .. import factories as f
from ..checks import assert_error
from .test_private_post_orders import assert_exact, order_holds, stock


def test_deleting_an_unpaid_order_frees_its_stock(client, h, db):
    f.create_product(client, h, "p1", total_stock=5)
    f.create_product(client, h, "p2", total_stock=5)
    assert f.lock(client, h, "p1", "cart-1", quantity=2).status_code == 204
    order_id = f.create_order(client, h, [("p1", 3), ("p2", 5)], ["cart-1"])
    assert stock(client, h, "p2") == ("5", "0", "0")
    assert client.delete(f"/private/orders/{order_id}", headers=h).status_code == 204
    assert stock(client, h, "p1") == ("0", "5", "0")
    assert stock(client, h, "p2") == ("0", "5", "0")
    assert db.execute("SELECT count(*) AS n FROM holds").fetchone()["n"] == 0
    assert db.execute("SELECT count(*) AS n FROM order_lines").fetchone()["n"] == 0
    assert_error(client.get(f"/private/orders/{order_id}", headers=h), 404, 2005)
    assert_error(client.delete(f"/private/orders/{order_id}", headers=h), 404, 2005)
    assert_exact(db)


def test_a_paid_order_is_not_deleted(client, h, db):
    f.create_product(client, h, "p1", total_stock=5)
    order_id = f.create_order(client, h, [("p1", 2)])
    assert client.post(f"/private/orders/{order_id}/paid", headers=h).status_code == 204
    body = assert_error(client.delete(f"/private/orders/{order_id}", headers=h), 409, 2521)
    assert body["detail"] == order_id
    assert stock(client, h) == ("0", "3", "2")
    assert client.get(f"/private/orders/{order_id}", headers=h).get_json()["order_status"] \
        == "paid"


def test_deleting_an_expired_unpaid_order_keeps_counters_exact(client, h, db):
    f.create_product(client, h, "p1", total_stock=5)
    order_id = f.create_order(client, h, [("p1", 2)])
    # Let the hold expire without any cleanup.
    db.execute("UPDATE holds SET expiration = 1")
    assert stock(client, h) == ("0", "5", "0")
    assert client.delete(f"/private/orders/{order_id}", headers=h).status_code == 204
    assert order_holds(db, order_id) == {}
    assert db.execute("SELECT reserved FROM products").fetchone()["reserved"] == 0
    assert_exact(db)


@pytest.mark.parametrize("order_id", ["nope", "a%00b", "x" * 300])
def test_unknown_order_is_404(client, h, order_id):
    assert_error(client.delete(f"/private/orders/{order_id}", headers=h), 404, 2005)


def test_needs_orders_write(client, h, db):
    f.create_product(client, h, "p1", total_stock=5)
    order_id = f.create_order(client, h, [("p1", 2)])
    ro = f.auth_headers(f.token(client, "admin", f.ADMIN_PASSWORD, "readonly"))
    assert_error(client.delete(f"/private/orders/{order_id}", headers=ro), 403, 16)
    assert stock(client, h) == ("2", "3", "0")


def test_other_instances_cannot_delete(client, admin_headers, db):
    f.create_product(client, admin_headers, "p1", total_stock=5)
    order_id = f.create_order(client, admin_headers, [("p1", 2)])
    h1 = f.instance_headers(client, admin_headers, "shop1")
    assert_error(client.delete(f"/instances/shop1/private/orders/{order_id}", headers=h1),
                 404, 2005)
    assert stock(client, admin_headers) == ("2", "3", "0")


def test_a_product_held_by_an_unpaid_order_is_not_deleted_unless_forced(client, h, db):
    f.create_product(client, h, "p1", total_stock=5)
    f.create_product(client, h, "p2", total_stock=5)
    order_id = f.create_order(client, h, [("p1", 2), ("p2", 1)])
    assert_error(client.delete("/private/products/p1", headers=h), 409, 2680)
    assert stock(client, h, "p1") == ("2", "3", "0")
    assert client.delete("/private/products/p1?force=yes", headers=h).status_code == 204
    assert set(order_holds(db, order_id)) == {"p2"}
    # The order keeps its line; paying it sells what still exists.
    body = client.get(f"/private/orders/{order_id}", headers=h).get_json()
    assert [line["product_id"] for line in body["inventory_products"]] == ["p1", "p2"]
    assert client.post(f"/private/orders/{order_id}/paid", headers=h).status_code == 204
    assert stock(client, h, "p2") == ("0", "4", "1")
    assert_exact(db)


def test_a_paid_order_does_not_block_deleting_its_product(client, h, db):
    f.create_product(client, h, "p1", total_stock=5)
    order_id = f.create_order(client, h, [("p1", 2)])
    assert client.post(f"/private/orders/{order_id}/paid", headers=h).status_code == 204
    assert client.delete("/private/products/p1", headers=h).status_code == 204
    assert client.get(f"/private/orders/{order_id}", headers=h).status_code == 200
