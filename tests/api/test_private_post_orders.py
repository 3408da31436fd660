"""``POST /private/orders``: orders take over cart locks (SPEC §6).

Every test asserts the answer and then the stock as the product detail shows it
(``unit_total_locked`` / ``unit_total_available`` / ``unit_total_sold``) and, where
it matters, the stored rows: nothing a failed request touched may have changed.
"""
from decimal import Decimal

import pytest

from .. import factories as f
from ..checks import assert_error


def stock(client, headers, product_id="p1", instance="admin"):
    """(locked, available, sold) of a product, as its detail shows them."""
    d = f.product(client, headers, product_id, instance)
    return d["unit_total_locked"], d["unit_total_available"], d["unit_total_sold"]


def cart_locks(db, lock_uuid="cart-1"):
    """{product_id: quantity} of the cart-lock rows of ``lock_uuid``."""
    return {r["product_id"]: r["quantity"] for r in db.execute(
        """SELECT p.product_id, h.quantity FROM holds h JOIN products p USING (product_serial)
            WHERE h.lock_uuid = %s""", (lock_uuid,))}


def order_holds(db, order_id):
    """{product_id: (quantity, expiration)} of an order's holds."""
    return {r["product_id"]: (r["quantity"], r["expiration"]) for r in db.execute(
        """SELECT p.product_id, h.quantity, h.expiration
             FROM holds h JOIN products p USING (product_serial)
             JOIN orders o USING (order_serial) WHERE o.order_id = %s""", (order_id,))}


def assert_exact(db):
    """products.reserved is the sum of its holds, and nothing is oversold."""
    bad = db.execute(
        """SELECT p.product_id, p.reserved, COALESCE(sum(h.quantity), 0) AS held
             FROM products p LEFT JOIN holds h USING (product_serial)
            GROUP BY p.product_serial
           HAVING p.reserved <> COALESCE(sum(h.quantity), 0)
               OR p.total_sold + p.reserved > p.total_stock""").fetchall()
    assert bad == []


def locked(client, h, product_id, qty, lock_uuid="cart-1"):
    resp = f.lock(client, h, product_id, lock_uuid, unit_quantity=str(qty))
    assert resp.status_code == 204, resp.get_json()


# -- the hand-over ------------------------------------------------------------------

def test_fewer_ordered_than_locked_frees_the_leftover(client, h, db):
    f.create_product(client, h, "p1", total_stock=10)
    locked(client, h, "p1", 5)
    assert stock(client, h) == ("5", "5", "0")
    resp = f.post_order(client, h, [("p1", 3)], ["cart-1"])
    assert resp.status_code == 200, resp.get_json()
    order_id = resp.get_json()["order_id"]
    assert stock(client, h) == ("3", "7", "0")
    assert cart_locks(db) == {}
    assert {k: v[0] for k, v in order_holds(db, order_id).items()} == {"p1": Decimal(3)}
    assert_exact(db)


def test_more_ordered_than_locked_takes_the_rest_from_free_stock(client, h, db):
    f.create_product(client, h, "p1", total_stock=10)
    locked(client, h, "p1", 2)
    locked(client, h, "p1", 5, lock_uuid="other-cart")
    # Free: 10 - 7 = 3, plus the 2 of cart-1: an order of 5 fits exactly.
    order_id = f.create_order(client, h, [("p1", 5)], ["cart-1"])
    assert stock(client, h) == ("10", "0", "0")
    assert cart_locks(db) == {}
    assert cart_locks(db, "other-cart") == {"p1": Decimal(5)}
    assert order_holds(db, order_id)["p1"][0] == 5
    assert_exact(db)


def test_a_failed_order_leaves_its_cart_locks_intact(client, h, db):
    f.create_product(client, h, "p1", total_stock=10)
    f.create_product(client, h, "p2", total_stock=3, next_restock={"t_s": 2_000_000_000})
    locked(client, h, "p1", 4)
    locked(client, h, "p2", 1)
    locked(client, h, "p2", 2, lock_uuid="other-cart")
    before = db.execute("SELECT * FROM holds ORDER BY hold_serial").fetchall()
    resp = f.post_order(client, h, [("p1", 4), ("p2", 2)], ["cart-1"], order_id="o-fail")
    body = assert_error(resp, 410, 2670)
    assert body["product_id"] == "p2"
    assert (body["unit_requested_quantity"], body["requested_quantity"]) == ("2", 2)
    assert (body["unit_available_quantity"], body["available_quantity"]) == ("1", 1)
    assert body["restock_expected"] == {"t_s": 2_000_000_000}
    assert "next_lock_expiration" in body  # the other cart may free stock
    assert db.execute("SELECT * FROM holds ORDER BY hold_serial").fetchall() == before
    assert db.execute("SELECT count(*) AS n FROM orders").fetchone()["n"] == 0
    assert stock(client, h, "p1") == ("4", "6", "0")
    assert stock(client, h, "p2") == ("3", "0", "0")
    assert_exact(db)


def test_a_uuid_cannot_be_consumed_twice(client, h, db):
    f.create_product(client, h, "p1", total_stock=5)
    locked(client, h, "p1", 5)
    f.create_order(client, h, [("p1", 5)], ["cart-1"])
    assert stock(client, h) == ("5", "0", "0")
    # The cart is gone: a second order with it gets nothing from it.
    resp = f.post_order(client, h, [("p1", 1)], ["cart-1"])
    body = assert_error(resp, 410, 2670)
    assert body["unit_available_quantity"] == "0"
    assert stock(client, h) == ("5", "0", "0")
    assert db.execute("SELECT count(*) AS n FROM orders").fetchone()["n"] == 1
    assert_exact(db)


def test_a_uuid_holding_several_products_frees_those_not_ordered(client, h, db):
    for pid in ("p1", "p2", "p3"):
        f.create_product(client, h, pid, total_stock=10)
        locked(client, h, pid, 2)
    order_id = f.create_order(client, h, [("p2", 1)], ["cart-1"])
    assert cart_locks(db) == {}
    assert stock(client, h, "p1") == ("0", "10", "0")
    assert stock(client, h, "p2") == ("1", "9", "0")
    assert stock(client, h, "p3") == ("0", "10", "0")
    assert set(order_holds(db, order_id)) == {"p2"}
    assert_exact(db)


def test_several_uuids_are_all_taken_over(client, h, db):
    f.create_product(client, h, "p1", total_stock=4)
    locked(client, h, "p1", 2, "cart-a")
    locked(client, h, "p1", 2, "cart-b")
    f.create_order(client, h, [("p1", 4)], ["cart-a", "cart-b", "cart-a"])
    assert cart_locks(db, "cart-a") == {} and cart_locks(db, "cart-b") == {}
    assert stock(client, h) == ("4", "0", "0")
    assert_exact(db)


def test_order_without_locks_reserves(client, h, db):
    f.create_product(client, h, "p1", total_stock=10)
    resp = f.post_order(client, h, [("p1", 3)])
    assert resp.status_code == 200
    body = resp.get_json()
    assert set(body) == {"order_id", "token"}
    assert stock(client, h) == ("3", "7", "0")
    assert_exact(db)


def test_order_without_inventory_releases_the_carts(client, h, db):
    f.create_product(client, h, "p1", total_stock=10)
    locked(client, h, "p1", 3)
    f.create_order(client, h, [], ["cart-1"], amount="KUDOS:5")
    assert stock(client, h) == ("0", "10", "0")
    assert cart_locks(db) == {}


def test_unknown_and_expired_uuids_are_ignored(client, h, db):
    f.create_product(client, h, "p1", total_stock=10)
    f.insert_hold(db, "p1", 4, 1, lock_uuid="expired-cart")  # expired long ago
    order_id = f.create_order(client, h, [("p1", 10)], ["no-such-cart", "expired-cart"])
    assert order_holds(db, order_id)["p1"][0] == 10
    assert stock(client, h) == ("10", "0", "0")
    assert_exact(db)


def test_unknown_product_is_404_and_nothing_is_reserved(client, h, db):
    f.create_product(client, h, "p1", total_stock=10)
    locked(client, h, "p1", 2)
    resp = f.post_order(client, h, [("p1", 1), ("nope", 1)], ["cart-1"])
    body = assert_error(resp, 404, 2006)
    assert body["detail"] == "nope"
    assert cart_locks(db) == {"p1": Decimal(2)}
    assert stock(client, h) == ("2", "8", "0")
    assert db.execute("SELECT count(*) AS n FROM orders").fetchone()["n"] == 0


def test_fractional_quantities(client, h, db):
    f.create_product(client, h, "cheese", unit="kg", unit_allow_fraction=True,
                     unit_precision_level=3, unit_total_stock="2.5", unit_price=["KUDOS:4"])
    locked(client, h, "cheese", "0.75")
    order_id = f.create_order(client, h, [("cheese", "1.125")], ["cart-1"])
    assert stock(client, h, "cheese") == ("1.125", "1.375", "0")
    resp = client.get(f"/private/orders/{order_id}", headers=h)
    body = resp.get_json()
    assert body["inventory_products"] == [
        {"product_id": "cheese", "quantity": 1, "unit_quantity": "1.125"}]
    assert body["contract_terms"]["amount"] == "KUDOS:4.5"
    assert body["total_amount"] == "KUDOS:4.5"
    # More fraction digits than the product allows: 400 naming the line.
    resp = f.post_order(client, h, [("cheese", "0.0001")])
    body = assert_error(resp, 400, 26)
    assert body["parameter"] == "inventory_products[0].unit_quantity"
    assert stock(client, h, "cheese") == ("1.125", "1.375", "0")
    assert_exact(db)


def test_whole_unit_product_rejects_fractions(client, h, db):
    f.create_product(client, h, "p1", total_stock=10)
    resp = f.post_order(client, h, [("p1", 1), ("p1", "0.5")])
    body = assert_error(resp, 400, 26)
    assert body["parameter"] == "inventory_products[1].unit_quantity"
    assert stock(client, h) == ("0", "10", "0")


def test_minimum_quantity(client, h, db):
    f.create_product(client, h, "p1", total_stock=10, unit_minimum_quantity="3")
    body = assert_error(f.post_order(client, h, [("p1", 2)]), 400, 26)
    assert body["parameter"] == "inventory_products[0].unit_quantity"
    f.create_order(client, h, [("p1", 3)])
    assert stock(client, h) == ("3", "7", "0")


def test_unlimited_products_always_fit_and_hold_nothing(client, h, db):
    f.create_product(client, h, "inf", unit_total_stock="-1")
    order_id = f.create_order(client, h, [("inf", 1_000_000)])
    assert order_holds(db, order_id) == {}
    d = f.product(client, h, "inf")
    assert (d["unit_total_stock"], d["unit_total_locked"], d["unit_total_sold"]) == ("-1", "0", "0")
    assert client.post(f"/private/orders/{order_id}/paid", headers=h).status_code == 204
    assert f.product(client, h, "inf")["unit_total_sold"] == "1000000"


def test_duplicate_lines_of_a_product_add_up(client, h, db):
    f.create_product(client, h, "p1", total_stock=5)
    order_id = f.create_order(client, h, [("p1", 2), ("p1", 3)])
    assert order_holds(db, order_id)["p1"][0] == 5
    body = assert_error(f.post_order(client, h, [("p1", 1)]), 410, 2670)
    assert body["unit_available_quantity"] == "0"
    assert stock(client, h) == ("5", "0", "0")


# -- amount, ids, tokens, contract ------------------------------------------------

def test_amount_is_the_sum_of_the_lines(client, h, db):
    f.create_product(client, h, "p1", unit_price=["KUDOS:1.25"])
    f.create_product(client, h, "p2", unit_price=["KUDOS:0.1"])
    order_id = f.create_order(client, h, [("p1", 3), ("p2", 7)])
    terms = client.get(f"/private/orders/{order_id}", headers=h).get_json()["contract_terms"]
    assert terms["amount"] == "KUDOS:4.45"
    inv = [p for p in terms["products"] if "product_id" in p]
    assert [(p["product_id"], p["quantity"], p["unit_quantity"], p["price"]) for p in inv] == [
        ("p1", 3, "3", "KUDOS:3.75"), ("p2", 7, "7", "KUDOS:0.7")]


def test_no_amount_and_a_product_without_a_price_in_the_currency_is_400(client, h, db):
    f.create_product(client, h, "p1")
    f.create_product(client, h, "euro", unit_price=["EUR:2"])
    f.create_product(client, h, "both", unit_price=["EUR:2", "KUDOS:3"])
    body = assert_error(f.post_order(client, h, [("p1", 1), ("euro", 1)]), 400, 25)
    assert body["parameter"] == "order.amount" and body["product_id"] == "euro"
    assert stock(client, h, "p1") == ("0", "10", "0")
    # With an amount it is fine; a price in the backend's currency is used.
    f.create_order(client, h, [("euro", 1)], amount="KUDOS:0")
    assert stock(client, h, "euro") == ("1", "9", "0")
    order_id = f.create_order(client, h, [("both", 2)])
    terms = client.get(f"/private/orders/{order_id}", headers=h).get_json()["contract_terms"]
    assert terms["amount"] == "KUDOS:6"


def test_no_amount_and_no_inventory_is_400(client, h, db):
    body = assert_error(f.post_order(client, h, []), 400, 25)
    assert body["parameter"] == "order.amount"


def test_server_made_order_ids_are_unique_and_url_safe(client, h, db):
    ids = {f.create_order(client, h, amount="KUDOS:1") for _ in range(5)}
    assert len(ids) == 5
    for order_id in ids:
        assert all(c.isalnum() or c in ".-" for c in order_id), order_id
        assert client.get(f"/private/orders/{order_id}", headers=h).status_code == 200


def test_create_token_false_returns_no_token(client, h, db):
    resp = client.post("/private/orders", headers=h, json={
        "order": {"summary": "s", "amount": "KUDOS:1", "order_id": "o1"},
        "create_token": False})
    assert resp.status_code == 200
    assert resp.get_json() == {"order_id": "o1"}


def test_contract_keeps_other_fields(client, h, db):
    f.create_product(client, h, "p1")
    resp = client.post("/private/orders", headers=h, json={
        "order": {"summary": "s", "order_id": "o-1", "fulfillment_url": "https://x/${ORDER_ID}",
                  "products": [{"description": "gift wrap"}],
                  "extra": {"note": "hi", "weight": 1.25}},
        "inventory_products": [{"product_id": "p1", "quantity": 2}],
        "refund_delay": {"d_us": 3_600_000_000}})
    assert resp.status_code == 200, resp.get_json()
    terms = client.get("/private/orders/o-1", headers=h).get_json()["contract_terms"]
    assert terms["fulfillment_url"] == "https://x/o-1"
    assert terms["extra"] == {"note": "hi", "weight": 1.25}
    assert terms["products"][0] == {"description": "gift wrap"}
    assert terms["products"][1]["product_id"] == "p1"
    assert terms["amount"] == "KUDOS:2"
    assert terms["refund_deadline"]["t_s"] > terms["timestamp"]["t_s"]
    stored = db.execute("SELECT contract_terms::text AS t FROM orders").fetchone()["t"]
    assert '"weight": 1.25' in stored


# -- idempotency ----------------------------------------------------------------------

def test_same_request_again_is_idempotent(client, h, db):
    f.create_product(client, h, "p1", total_stock=5)
    locked(client, h, "p1", 2)
    first = f.post_order(client, h, [("p1", 4)], ["cart-1"], order_id="o-1")
    assert first.status_code == 200
    again = f.post_order(client, h, [("p1", 4)], ["cart-1"], order_id="o-1")
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    assert stock(client, h) == ("4", "1", "0")
    assert db.execute("SELECT count(*) AS n FROM holds").fetchone()["n"] == 1
    assert_exact(db)


def test_same_order_id_with_other_details_is_409(client, h, db):
    f.create_product(client, h, "p1", total_stock=5)
    f.create_order(client, h, [("p1", 1)], order_id="o-1")
    body = assert_error(f.post_order(client, h, [("p1", 2)], order_id="o-1"), 409, 2503)
    assert body["detail"] == "o-1"
    assert stock(client, h) == ("1", "4", "0")


# -- bad input --------------------------------------------------------------------------

BAD_BODIES = [
    ({}, 25, "order"),
    ({"order": "x"}, 26, "order"),
    ({"order": {}}, 25, "order.summary"),
    ({"order": {"summary": 5, "amount": "KUDOS:1"}}, 26, "order.summary"),
    ({"order": {"summary": "s", "amount": "KUDOS"}}, 26, "order.amount"),
    ({"order": {"summary": "s", "amount": "EUR:1"}}, 26, "order.amount"),
    ({"order": {"summary": "s", "amount": "KUDOS:1", "order_id": "a/b"}}, 26, "order.order_id"),
    ({"order": {"summary": "s", "amount": "KUDOS:1", "order_id": ""}}, 26, "order.order_id"),
    ({"order": {"summary": "s", "amount": "KUDOS:1", "pay_deadline": 5}}, 26,
     "order.pay_deadline"),
    ({"order": {"summary": "s", "amount": "KUDOS:1", "pay_deadline": {"t_s": 1}}}, 26,
     "order.pay_deadline"),
    ({"order": {"summary": "s", "amount": "KUDOS:1", "extra": {"k": "a\u0000b"}}}, 26,
     "order.extra"),
    ({"order": {"summary": "s", "amount": "KUDOS:1", "x": ["\u0000"]}}, 26, "order.x"),
    ({"order": {"summary": "s"}, "inventory_products": {}}, 26, "inventory_products"),
    ({"order": {"summary": "s"}, "inventory_products": [{}]}, 25,
     "inventory_products[0].product_id"),
    ({"order": {"summary": "s"}, "inventory_products": [{"product_id": "p1", "quantity": 1.5}]},
     26, "inventory_products[0].quantity"),
    ({"order": {"summary": "s"}, "inventory_products": [{"product_id": "p1", "quantity": -1}]},
     26, "inventory_products[0].quantity"),
    ({"order": {"summary": "s"}, "inventory_products": [{"product_id": "p1",
                                                         "unit_quantity": "1e3"}]},
     26, "inventory_products[0].unit_quantity"),
    ({"order": {"summary": "s"}, "inventory_products": [{"product_id": "p1",
                                                         "unit_quantity": "0"}]},
     26, "inventory_products[0].unit_quantity"),
    ({"order": {"summary": "s"}, "inventory_products": [
        {"product_id": "p1", "quantity": 2, "unit_quantity": "3"}]},
     26, "inventory_products[0].unit_quantity"),
    ({"order": {"summary": "s"}, "inventory_products": [{"product_id": "p1"}],
      "lock_uuids": "cart-1"}, 26, "lock_uuids"),
    ({"order": {"summary": "s"}, "inventory_products": [{"product_id": "p1"}],
      "lock_uuids": ["bad uuid"]}, 26, "lock_uuids[0]"),
    ({"order": {"summary": "s"}, "inventory_products": [{"product_id": "p1"}],
      "create_token": "yes"}, 26, "create_token"),
]


@pytest.mark.parametrize("body,code,field", BAD_BODIES)
def test_bad_input_is_400_naming_the_field(client, h, db, body, code, field):
    f.create_product(client, h, "p1", total_stock=10)
    locked(client, h, "p1", 2)
    resp = client.post("/private/orders", headers=h, json=body)
    err = assert_error(resp, 400, code)
    assert err["parameter"] == field, err
    assert cart_locks(db) == {"p1": Decimal(2)}
    assert stock(client, h) == ("2", "8", "0")
    assert db.execute("SELECT count(*) AS n FROM orders").fetchone()["n"] == 0


@pytest.mark.parametrize("number", ["1e999999", "-1E-1001"])
def test_numbers_beyond_numeric_are_400(client, h, db, number):
    resp = client.post("/private/orders", headers=h, content_type="application/json",
                       data='{"order": {"summary": "s", "amount": "KUDOS:1",'
                            f' "extra": {{"w": [{number}]}}}}}}')
    body = assert_error(resp, 400, 26)
    assert body["parameter"] == "order.extra.w[0]"
    assert db.execute("SELECT count(*) AS n FROM orders").fetchone()["n"] == 0


def test_lines_of_a_product_add_up_to_at_most_2_52(client, h, db):
    f.create_product(client, h, "inf", unit_total_stock="-1")
    line = {"product_id": "inf", "quantity": 2**52 - 1}
    resp = client.post("/private/orders", headers=h, json={
        "order": {"summary": "s", "amount": "KUDOS:1"}, "inventory_products": [line, line]})
    body = assert_error(resp, 400, 26)
    assert body["parameter"] == "inventory_products[1].unit_quantity"
    resp = client.post("/private/orders", headers=h, json={
        "order": {"summary": "s", "amount": "KUDOS:1"}, "inventory_products": [line]})
    assert resp.status_code == 200
    order_id = resp.get_json()["order_id"]
    assert client.post(f"/private/orders/{order_id}/paid", headers=h).status_code == 204
    assert f.product(client, h, "inf")["total_sold"] == 2**52 - 1


def test_not_json_is_400(client, h):
    resp = client.post("/private/orders", headers=h, data="{",
                       content_type="application/json")
    assert_error(resp, 400, 22)


def test_nulls_mean_absent(client, h, db):
    resp = client.post("/private/orders", headers=h, json={
        "order": {"summary": "s", "amount": "KUDOS:1", "order_id": None,
                  "pay_deadline": None},
        "inventory_products": None, "lock_uuids": None, "create_token": None})
    assert resp.status_code == 200, resp.get_json()
    assert "token" in resp.get_json()


# -- instances and permissions ----------------------------------------------------

def test_orders_are_per_instance(client, admin_headers, db):
    h1 = f.instance_headers(client, admin_headers, "shop1")
    f.create_product(client, h1, "p1", instance="shop1", total_stock=2)
    f.create_product(client, admin_headers, "p1", total_stock=2)
    resp = f.lock(client, h1, "p1", "cart-1", instance="shop1", quantity=2)
    assert resp.status_code == 204
    locked(client, admin_headers, "p1", 2)
    # The admin order takes over admin's cart-1 only; shop1's cart-1 is untouched.
    f.create_order(client, admin_headers, [("p1", 1)], ["cart-1"], order_id="same")
    assert stock(client, h1, "p1", "shop1") == ("2", "0", "0")
    assert stock(client, admin_headers, "p1") == ("1", "1", "0")
    f.create_order(client, h1, [("p1", 2)], ["cart-1"], instance="shop1", order_id="same")
    assert stock(client, h1, "p1", "shop1") == ("2", "0", "0")
    assert client.get("/instances/shop1/private/orders/same", headers=h1).status_code == 200
    # A token of one instance does not work on another.
    assert client.get("/private/orders/same", headers=h1).status_code == 401


@pytest.mark.parametrize("scope,post,get,lock", [
    ("order-simple", 200, 200, 403),
    ("order-pos", 200, 200, 204),
    ("order-full", 200, 200, 204),
    ("order-mgmt", 200, 200, 403),
    ("readonly", 403, 200, 403),
])
def test_scopes(client, admin_headers, scope, post, get, lock):
    f.create_product(client, admin_headers, "p1")
    h = f.auth_headers(f.token(client, "admin", f.ADMIN_PASSWORD, scope))
    assert f.lock(client, h, "p1", "c").status_code == lock
    resp = f.post_order(client, h, [("p1", 1)], order_id="o1")
    assert resp.status_code == post
    if post == 403:
        assert resp.get_json()["code"] == 16
        f.create_order(client, admin_headers, [("p1", 1)], order_id="o1")
    assert client.get("/private/orders/o1", headers=h).status_code == get
    assert client.get("/private/orders", headers=h).status_code == get


def test_no_token_is_401(client):
    assert_error(client.post("/private/orders", json={}), 401, 2015)
