"""``POST /private/orders/$ORDER_ID/paid`` (extension) and the order's life in time.

An order holds its lines until its pay deadline, exactly to the microsecond and
whether or not a cleanup has run; payment turns what it holds into ``total_sold``
exactly once; after the deadline payment gets only what is free then.
"""
from datetime import timedelta


from taler_inventory.backenddb import maintenance
from taler_inventory.timeutil import US_PER_S

from .. import factories as f
from ..support.clock import frozen_clock, t0_us
from ..checks import assert_error
from .test_private_post_orders import assert_exact, order_holds, stock

DAY_US = 24 * 3600 * US_PER_S


def pay(client, h, order_id, instance="admin"):
    return client.post(f"{f.prefix(instance)}/private/orders/{order_id}/paid", headers=h)


def status(client, h, order_id):
    return client.get(f"/private/orders/{order_id}", headers=h).get_json()["order_status"]


# -- payment ------------------------------------------------------------------------

def test_payment_moves_reserved_to_sold_once(client, h, db):
    f.create_product(client, h, "p1", total_stock=10)
    f.create_product(client, h, "p2", total_stock=10)
    assert f.lock(client, h, "p1", "cart-1", quantity=4).status_code == 204
    order_id = f.create_order(client, h, [("p1", 3), ("p2", 2)], ["cart-1"])
    assert stock(client, h, "p1") == ("3", "7", "0")
    assert pay(client, h, order_id).status_code == 204
    assert stock(client, h, "p1") == ("0", "7", "3")
    assert stock(client, h, "p2") == ("0", "8", "2")
    assert order_holds(db, order_id) == {}
    assert status(client, h, order_id) == "paid"
    # Idempotent: a second notification sells nothing more.
    assert pay(client, h, order_id).status_code == 204
    assert stock(client, h, "p1") == ("0", "7", "3")
    assert stock(client, h, "p2") == ("0", "8", "2")
    assert_exact(db)


def test_paying_an_unknown_order_is_404(client, h, db):
    assert_error(pay(client, h, "nope"), 404, 2005)
    assert_error(pay(client, h, "bad%00id"), 404, 2005)


def test_paying_needs_orders_write(client, h, db):
    order_id = f.create_order(client, h, amount="KUDOS:1")
    ro = f.auth_headers(f.token(client, "admin", f.ADMIN_PASSWORD, "readonly"))
    assert_error(pay(client, ro, order_id), 403, 16)
    assert status(client, h, order_id) == "unpaid"


def test_orders_of_other_instances_are_not_paid(client, h, db):
    f.create_instance(client, h, "shop1")
    order_id = f.create_order(client, h, amount="KUDOS:1", order_id="o-1")
    h1 = f.auth_headers(f.token(client, "shop1", "pw-" + "x" * 8))
    assert_error(pay(client, h1, order_id, instance="shop1"), 404, 2005)
    assert status(client, h, order_id) == "unpaid"


# -- exact expiry -------------------------------------------------------------------

def test_expiry_frees_at_the_exact_instant(client, h, db):
    f.create_product(client, h, "p1", total_stock=5)
    with frozen_clock() as clock:
        t0 = t0_us(clock)
        deadline = t0 + 60 * US_PER_S
        order_id = f.create_order(client, h, [("p1", 5)],
                                  pay_deadline={"t_s": deadline // US_PER_S})
        assert order_holds(db, order_id) == {"p1": (5, deadline)}

        clock.tick(timedelta(seconds=59, microseconds=999_999))
        assert stock(client, h) == ("5", "0", "0")
        assert_error(f.lock(client, h, "p1", "cart-2"), 410, 2670)

        clock.tick(timedelta(microseconds=1))  # exactly the deadline
        # No cleanup has run: the row is still there, yet it holds nothing.
        assert order_holds(db, order_id) == {"p1": (5, deadline)}
        assert stock(client, h) == ("0", "5", "0")
        assert f.lock(client, h, "p1", "cart-2", quantity=5).status_code == 204
        assert stock(client, h) == ("5", "0", "0")
        assert order_holds(db, order_id) == {}  # reclaimed by the lock on its way
        assert_exact(db)


def test_default_pay_deadline_is_the_instance_pay_delay(client, h, db):
    f.create_product(client, h, "p1", total_stock=5)
    with frozen_clock() as clock:
        t0 = t0_us(clock)
        # The clock moves a whole day: a token of the frozen instant that outlives it
        # (the fixture's was minted in real time and may expire within that day).
        h = f.auth_headers(f.token(client, "admin", f.ADMIN_PASSWORD,
                                   duration={"d_us": 2 * DAY_US}))
        order_id = f.create_order(client, h, [("p1", 2)])
        body = client.get(f"/private/orders/{order_id}", headers=h).get_json()
        assert body["pay_deadline"] == {"t_s": (t0 + DAY_US) // US_PER_S}
        assert body["contract_terms"]["pay_deadline"] == body["pay_deadline"]
        clock.tick(timedelta(microseconds=DAY_US - 1))
        assert stock(client, h) == ("2", "3", "0")
        clock.tick(timedelta(microseconds=1))
        assert stock(client, h) == ("0", "5", "0")


def test_a_pay_deadline_in_the_past_is_400(client, h, db):
    f.create_product(client, h, "p1", total_stock=5)
    with frozen_clock() as clock:
        now_s = t0_us(clock) // US_PER_S
        for t_s in (now_s - 1, now_s):
            body = assert_error(f.post_order(client, h, [("p1", 1)],
                                             pay_deadline={"t_s": t_s}), 400, 26)
            assert body["parameter"] == "order.pay_deadline"
        assert stock(client, h) == ("0", "5", "0")


def test_gc_reclaims_the_holds_of_expired_orders(client, h, db, database_url):
    f.create_product(client, h, "p1", total_stock=5)
    with frozen_clock() as clock:
        t0 = t0_us(clock)
        order_id = f.create_order(client, h, [("p1", 3)],
                                  pay_deadline={"t_s": t0 // US_PER_S + 60})
        maintenance.gc(database_url, t0 + 59 * US_PER_S)
        assert order_holds(db, order_id)["p1"][0] == 3
        maintenance.gc(database_url, t0 + 60 * US_PER_S)
        assert order_holds(db, order_id) == {}
        assert db.execute("SELECT reserved FROM products").fetchone()["reserved"] == 0
        clock.tick(timedelta(seconds=60))
        assert status(client, h, order_id) == "unpaid"
        assert stock(client, h) == ("0", "5", "0")
        # Paid late: the stock is still free, so it is sold.
        assert pay(client, h, order_id).status_code == 204
        assert stock(client, h) == ("0", "2", "3")
        assert_exact(db)


def test_paying_after_the_deadline_sells_what_is_still_free(client, h, db):
    f.create_product(client, h, "p1", total_stock=5)
    with frozen_clock() as clock:
        t0 = t0_us(clock)
        order_id = f.create_order(client, h, [("p1", 3)],
                                  pay_deadline={"t_s": t0 // US_PER_S + 60})
        clock.tick(timedelta(seconds=61))
        # The expired hold is still stored (no cleanup ran): it must not count twice.
        assert order_holds(db, order_id)["p1"][0] == 3
        assert pay(client, h, order_id).status_code == 204
        assert stock(client, h) == ("0", "2", "3")
        assert order_holds(db, order_id) == {}
        assert_exact(db)


def test_paying_after_the_deadline_when_the_stock_is_gone_is_410(client, h, db):
    f.create_product(client, h, "p1", total_stock=5, next_restock={"t_s": 2_000_000_000})
    f.create_product(client, h, "p2", total_stock=5)
    with frozen_clock() as clock:
        t0 = t0_us(clock)
        order_id = f.create_order(client, h, [("p2", 1), ("p1", 3)],
                                  pay_deadline={"t_s": t0 // US_PER_S + 60})
        clock.tick(timedelta(seconds=60))
        assert f.lock(client, h, "p1", "cart-2", quantity=4).status_code == 204
        body = assert_error(pay(client, h, order_id), 410, 2161)
        assert body["product_id"] == "p1"
        assert (body["unit_requested_quantity"], body["requested_quantity"]) == ("3", 3)
        assert (body["unit_available_quantity"], body["available_quantity"]) == ("1", 1)
        assert body["restock_expected"] == {"t_s": 2_000_000_000}
        # Nothing was sold, not even the line that would have fitted.
        assert status(client, h, order_id) == "unpaid"
        assert stock(client, h, "p1") == ("4", "1", "0")
        assert stock(client, h, "p2") == ("0", "5", "0")
        # Once the cart lets go, the late payment goes through.
        assert client.delete("/private/locks/cart-2", headers=h).status_code == 204
        assert pay(client, h, order_id).status_code == 204
        assert stock(client, h, "p1") == ("0", "2", "3")
        assert stock(client, h, "p2") == ("0", "4", "1")
        assert_exact(db)
