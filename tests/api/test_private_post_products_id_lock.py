"""``POST /private/products/$ID/lock``: the Taler stock lock (SPEC §5).

Every test asserts the answer and then the stored state: the hold rows, the
``products.reserved`` counter and what the product detail shows.
"""
from datetime import timedelta
from decimal import Decimal

import pytest

from taler_inventory.timeutil import US_PER_S

from .. import factories as f
from ..support.clock import frozen_clock, t0_us
from ..checks import assert_error

DAY_S = 24 * 3600


def holds(db, product_id="p1", instance="admin"):
    """The cart-lock rows of a product: [(lock_uuid, quantity, expiration)]."""
    return [(r["lock_uuid"], r["quantity"], r["expiration"]) for r in db.execute(
        """SELECT h.lock_uuid, h.quantity, h.expiration
             FROM holds h JOIN products p USING (product_serial)
             JOIN instances i ON i.instance_serial = p.instance_serial
            WHERE p.product_id = %s AND i.instance_id = %s AND h.lock_uuid IS NOT NULL
            ORDER BY h.lock_uuid""", (product_id, instance))]


def reserved(db, product_id="p1", instance="admin") -> Decimal:
    return db.execute(
        """SELECT p.reserved FROM products p JOIN instances i USING (instance_serial)
            WHERE p.product_id = %s AND i.instance_id = %s""",
        (product_id, instance)).fetchone()["reserved"]


def locked_available(client, headers, product_id="p1", instance="admin"):
    detail = f.product(client, headers, product_id, instance)
    return detail["unit_total_locked"], detail["unit_total_available"]


def quantities(rows):
    return [(uuid, qty) for uuid, qty, _ in rows]


# -- quantity -----------------------------------------------------------------------

def test_no_quantity_locks_one(client, admin_headers, db):
    f.create_product(client, admin_headers, "p1", total_stock=10)
    resp = f.lock(client, admin_headers, "p1")
    assert resp.status_code == 204, resp.get_json()
    assert resp.get_data() == b""
    assert quantities(holds(db)) == [("cart-1", 1)]
    assert reserved(db) == 1
    assert locked_available(client, admin_headers) == ("1", "9")


@pytest.mark.parametrize("fields, expected", [
    ({"quantity": 3}, 3),
    ({"unit_quantity": "3"}, 3),
    ({"quantity": 3, "unit_quantity": "3"}, 3),
    ({"quantity": 3, "unit_quantity": "3.000"}, 3),
    ({"quantity": None, "unit_quantity": None}, 1),  # null means absent
    ({"quantity": 4, "unit_quantity": None}, 4),
])
def test_quantity_forms(client, admin_headers, db, fields, expected):
    f.create_product(client, admin_headers, "p1", total_stock=10)
    resp = f.lock(client, admin_headers, "p1", **fields)
    assert resp.status_code == 204, resp.get_json()
    assert quantities(holds(db)) == [("cart-1", expected)]
    assert reserved(db) == expected


def test_quantity_and_unit_quantity_disagree(client, admin_headers, db):
    f.create_product(client, admin_headers, "p1", total_stock=10)
    resp = f.lock(client, admin_headers, "p1", quantity=2, unit_quantity="3")
    body = assert_error(resp, 400, 26)
    assert body["detail"] == "unit_quantity"
    assert holds(db) == [] and reserved(db) == 0


def test_fraction_within_product_precision(client, admin_headers, db):
    f.create_product(client, admin_headers, "p1", unit_total_stock="10",
                     unit_allow_fraction=True, unit_precision_level=2)
    resp = f.lock(client, admin_headers, "p1", unit_quantity="1.25")
    assert resp.status_code == 204, resp.get_json()
    assert quantities(holds(db)) == [("cart-1", Decimal("1.25"))]
    assert reserved(db) == Decimal("1.25")
    assert locked_available(client, admin_headers) == ("1.25", "8.75")


@pytest.mark.parametrize("product_fields, unit_quantity", [
    ({"unit_allow_fraction": True, "unit_precision_level": 2}, "1.255"),
    ({"unit_allow_fraction": True, "unit_precision_level": 0}, "1.5"),
    ({}, "0.5"),  # no fractions allowed
    ({}, "1.000001"),
])
def test_fraction_beyond_product_precision(client, admin_headers, db, product_fields,
                                           unit_quantity):
    f.create_product(client, admin_headers, "p1", **product_fields)
    f.lock(client, admin_headers, "p1", lock_uuid="other", quantity=1)
    resp = f.lock(client, admin_headers, "p1", unit_quantity=unit_quantity)
    body = assert_error(resp, 400, 26)
    assert body["detail"] == "unit_quantity"
    assert quantities(holds(db)) == [("other", 1)]
    assert reserved(db) == 1


def test_below_minimum_quantity(client, admin_headers, db):
    f.create_product(client, admin_headers, "p1", total_stock=10, unit_minimum_quantity="2")
    body = assert_error(f.lock(client, admin_headers, "p1", quantity=1), 400, 26)
    assert body["detail"] == "unit_quantity"
    assert holds(db) == [] and reserved(db) == 0

    assert f.lock(client, admin_headers, "p1", quantity=2).status_code == 204
    assert quantities(holds(db)) == [("cart-1", 2)]
    # Lowering below the minimum is refused too, and the lock stays as it was ...
    assert_error(f.lock(client, admin_headers, "p1", quantity=1), 400, 26)
    assert quantities(holds(db)) == [("cart-1", 2)]
    # ... but a release is not a lock below the minimum.
    assert f.lock(client, admin_headers, "p1", quantity=0).status_code == 204
    assert holds(db) == [] and reserved(db) == 0


# -- re-lock and release ----------------------------------------------------------

def test_relock_replaces_quantity_and_expiry(client, admin_headers, db):
    f.create_product(client, admin_headers, "p1", total_stock=10)
    with frozen_clock() as clock:
        t0 = t0_us(clock)
        assert f.lock(client, admin_headers, "p1", quantity=3, seconds=60).status_code == 204
        assert holds(db) == [("cart-1", 3, t0 + 60 * US_PER_S)]
        clock.tick(timedelta(seconds=10))
        assert f.lock(client, admin_headers, "p1", quantity=2, seconds=30).status_code == 204
        # Replaced, not added: 2 (not 5) until t0+40 s (earlier than before).
        assert holds(db) == [("cart-1", 2, t0 + 40 * US_PER_S)]
        assert reserved(db) == 2
        assert f.lock(client, admin_headers, "p1", quantity=7, seconds=300).status_code == 204
        assert holds(db) == [("cart-1", 7, t0 + 310 * US_PER_S)]
        assert reserved(db) == 7
        assert locked_available(client, admin_headers) == ("7", "3")


def test_relock_counts_its_own_quantity_as_available(client, admin_headers, db):
    f.create_product(client, admin_headers, "p1", total_stock=5)
    assert f.lock(client, admin_headers, "p1", quantity=5).status_code == 204
    # All five are held by cart-1, yet cart-1 may lock five again (its own count).
    assert f.lock(client, admin_headers, "p1", quantity=5).status_code == 204
    assert quantities(holds(db)) == [("cart-1", 5)]
    body = assert_error(f.lock(client, admin_headers, "p1", "cart-2"), 410, 2670)
    assert body["available_quantity"] == 0
    assert f.lock(client, admin_headers, "p1", quantity=4).status_code == 204
    assert f.lock(client, admin_headers, "p1", "cart-2").status_code == 204
    assert quantities(holds(db)) == [("cart-1", 4), ("cart-2", 1)]
    assert reserved(db) == 5
    assert locked_available(client, admin_headers) == ("5", "0")


def test_failed_relock_leaves_the_lock_as_it_was(client, admin_headers, db):
    f.create_product(client, admin_headers, "p1", total_stock=5)
    with frozen_clock() as clock:
        t0 = t0_us(clock)
        f.lock(client, admin_headers, "p1", "cart-1", quantity=2, seconds=60)
        f.lock(client, admin_headers, "p1", "cart-2", quantity=3, seconds=60)
        clock.tick(timedelta(seconds=5))
        body = assert_error(f.lock(client, admin_headers, "p1", quantity=3, seconds=600),
                            410, 2670)
        # Available to cart-1: 5 - 3 held by cart-2, its own 2 included.
        assert (body["available_quantity"], body["unit_available_quantity"]) == (2, "2")
        assert holds(db) == [("cart-1", 2, t0 + 60 * US_PER_S),
                             ("cart-2", 3, t0 + 60 * US_PER_S)]
        assert reserved(db) == 5


def test_quantity_zero_releases(client, admin_headers, db):
    f.create_product(client, admin_headers, "p1", total_stock=5)
    f.lock(client, admin_headers, "p1", "cart-1", quantity=3)
    f.lock(client, admin_headers, "p1", "cart-2", quantity=2)
    resp = f.lock(client, admin_headers, "p1", "cart-1", quantity=0)
    assert resp.status_code == 204, resp.get_json()
    assert quantities(holds(db)) == [("cart-2", 2)]
    assert reserved(db) == 2
    assert locked_available(client, admin_headers) == ("2", "3")
    # Releasing again, or a cart that never held anything: still 204, nothing changes.
    assert f.lock(client, admin_headers, "p1", "cart-1", quantity=0).status_code == 204
    assert f.lock(client, admin_headers, "p1", "never", unit_quantity="0").status_code == 204
    assert quantities(holds(db)) == [("cart-2", 2)]
    assert reserved(db) == 2


# -- duration ---------------------------------------------------------------------

@pytest.mark.parametrize("duration", [{"d_us": 3600 * US_PER_S}, {"d_us": "forever"}])
def test_duration_capped_at_max_lock_duration(client, admin_headers, db, duration):
    headers = f.instance_headers(client, admin_headers, "shop1",
                                 max_lock_duration={"d_us": 120 * US_PER_S})
    f.create_product(client, headers, "p1", instance="shop1")
    with frozen_clock() as clock:
        resp = client.post("/instances/shop1/private/products/p1/lock", headers=headers,
                           json={"lock_uuid": "cart-1", "duration": duration})
        assert resp.status_code == 204, resp.get_json()
        assert holds(db, instance="shop1") == [("cart-1", 1, t0_us(clock) + 120 * US_PER_S)]


def test_forever_is_cut_to_the_default_day(client, admin_headers, db):
    f.create_product(client, admin_headers, "p1")
    with frozen_clock() as clock:
        resp = client.post("/private/products/p1/lock", headers=admin_headers,
                           json={"lock_uuid": "cart-1", "duration": {"d_us": "forever"}})
        assert resp.status_code == 204, resp.get_json()
        assert holds(db) == [("cart-1", 1, t0_us(clock) + DAY_S * US_PER_S)]


def test_duration_below_the_cap_is_kept(client, admin_headers, db):
    f.create_product(client, admin_headers, "p1")
    with frozen_clock() as clock:
        resp = client.post("/private/products/p1/lock", headers=admin_headers,
                           json={"lock_uuid": "cart-1", "duration": {"d_us": 1_500_001}})
        assert resp.status_code == 204, resp.get_json()
        assert holds(db) == [("cart-1", 1, t0_us(clock) + 1_500_001)]


# -- exact expiry -----------------------------------------------------------------

def test_expiry_is_exact_without_cleanup(client, admin_headers, db):
    f.create_product(client, admin_headers, "p1", total_stock=5)
    with frozen_clock() as clock:
        t0 = t0_us(clock)
        assert f.lock(client, admin_headers, "p1", "cart-1", quantity=5,
                      seconds=60).status_code == 204

        clock.tick(timedelta(seconds=59, microseconds=999_999))
        assert locked_available(client, admin_headers) == ("5", "0")
        body = assert_error(f.lock(client, admin_headers, "p1", "cart-2"), 410, 2670)
        assert body["available_quantity"] == 0
        assert body["next_lock_expiration"] == {"t_s": t0 // US_PER_S + 60}

        clock.tick(timedelta(microseconds=1))  # exactly t0 + 60 s
        # No cleanup has run: the expired row is still stored and still counted ...
        assert holds(db) == [("cart-1", 5, t0 + 60 * US_PER_S)]
        assert reserved(db) == 5
        # ... yet it holds nothing from this instant on.
        assert locked_available(client, admin_headers) == ("0", "5")
        resp = f.lock(client, admin_headers, "p1", "cart-2", quantity=5, seconds=60)
        assert resp.status_code == 204, resp.get_json()
        assert holds(db) == [("cart-2", 5, t0 + 120 * US_PER_S)]
        assert reserved(db) == 5


def test_expired_own_lock_is_replaced(client, admin_headers, db):
    f.create_product(client, admin_headers, "p1", total_stock=5)
    with frozen_clock() as clock:
        t0 = t0_us(clock)
        f.lock(client, admin_headers, "p1", quantity=4, seconds=10)
        clock.tick(timedelta(seconds=10))
        assert f.lock(client, admin_headers, "p1", quantity=1, seconds=10).status_code == 204
        assert holds(db) == [("cart-1", 1, t0 + 20 * US_PER_S)]
        assert reserved(db) == 1


def test_expired_holds_are_reclaimed_before_answering_410(client, admin_headers, db, app):
    """More expired holds than one request reclaims: all go before a 410 is decided."""
    batch = app.config["INVENTORY"]["RECLAIM_BATCH"]
    carts = batch * 2 + 3
    f.create_product(client, admin_headers, "p1", total_stock=carts)
    with frozen_clock() as clock:
        for i in range(carts):
            assert f.lock(client, admin_headers, "p1", f"old-{i}", seconds=5).status_code == 204
        clock.tick(timedelta(seconds=5))
        resp = f.lock(client, admin_headers, "p1", "cart-new", quantity=carts)
        assert resp.status_code == 204, resp.get_json()
        assert quantities(holds(db)) == [("cart-new", carts)]
        assert reserved(db) == carts


def test_a_lock_that_fits_reclaims_nothing(client, admin_headers, db):
    """The product row stays locked only for the counter: expired holds wait for the
    background reclaimer (or a lock that would not fit), and hold nothing meanwhile."""
    carts = 21
    f.create_product(client, admin_headers, "p1", total_stock=carts + 1)
    with frozen_clock() as clock:
        for i in range(carts):
            f.lock(client, admin_headers, "p1", f"old-{i:03}", seconds=5)
        clock.tick(timedelta(seconds=5))
        assert f.lock(client, admin_headers, "p1", "cart-new").status_code == 204
        assert len(holds(db)) == carts + 1
        assert reserved(db) == carts + 1
        assert locked_available(client, admin_headers) == ("1", str(carts))
        # The next lock does not fit the counter: every expired hold goes first.
        assert f.lock(client, admin_headers, "p1", "cart-big", quantity=carts).status_code == 204
        assert quantities(holds(db)) == [("cart-big", carts), ("cart-new", 1)]
        assert reserved(db) == carts + 1


# -- unlimited and unknown products -------------------------------------------------

def test_unlimited_product_reserves_nothing(client, admin_headers, db):
    f.create_product(client, admin_headers, "p1", total_stock=-1)
    resp = f.lock(client, admin_headers, "p1", quantity=1_000_000)
    assert resp.status_code == 204, resp.get_json()
    assert holds(db) == [] and reserved(db) == 0
    assert locked_available(client, admin_headers) == ("0", "-1")
    assert client.get("/private/locks", headers=admin_headers).get_json() == {"locks": []}


def test_unknown_product(client, admin_headers, db):
    f.create_product(client, admin_headers, "p1")
    body = assert_error(f.lock(client, admin_headers, "nope"), 404, 2006)
    assert body["detail"] == "nope"
    assert db.execute("SELECT count(*) AS n FROM holds").fetchone()["n"] == 0


@pytest.mark.parametrize("product_id", ["p%00", "p%FF", "p%201", "x" * 300])
def test_odd_product_ids_are_unknown(client, admin_headers, db, product_id):
    resp = client.post(f"/private/products/{product_id}/lock", headers=admin_headers,
                       json={"lock_uuid": "cart-1", "duration": {"d_us": 1}})
    assert_error(resp, 404, 2006)
    assert db.execute("SELECT count(*) AS n FROM holds").fetchone()["n"] == 0


# -- out of stock -------------------------------------------------------------------

def test_out_of_stock_body(client, admin_headers, db):
    restock_s = 2_000_000_000
    f.create_product(client, admin_headers, "p1", total_stock=5,
                     next_restock={"t_s": restock_s})
    with frozen_clock() as clock:
        t0_s = t0_us(clock) // US_PER_S
        f.lock(client, admin_headers, "p1", "cart-2", quantity=3, seconds=60)
        f.lock(client, admin_headers, "p1", "cart-3", quantity=1, seconds=30)
        f.lock(client, admin_headers, "p1", "cart-1", quantity=1, seconds=10)
        before = holds(db)
        resp = f.lock(client, admin_headers, "p1", "cart-1", quantity=3)
        body = assert_error(resp, 410, 2670)
        assert body == {
            "code": 2670, "hint": body["hint"], "detail": "p1", "product_id": "p1",
            "requested_quantity": 3, "unit_requested_quantity": "3",
            # 5 - 3 (cart-2) - 1 (cart-3); cart-1's own 1 is available to it.
            "available_quantity": 1, "unit_available_quantity": "1",
            "restock_expected": {"t_s": restock_s},
            # The earliest live lock of another cart (cart-1's own is not counted).
            "next_lock_expiration": {"t_s": t0_s + 30},
        }
        assert holds(db) == before
        assert reserved(db) == 5


def test_out_of_stock_without_restock_or_other_locks(client, admin_headers, db):
    f.create_product(client, admin_headers, "p1", total_stock=5, total_lost=5)
    body = assert_error(f.lock(client, admin_headers, "p1"), 410, 2670)
    assert body == {
        "code": 2670, "hint": body["hint"], "detail": "p1", "product_id": "p1",
        "requested_quantity": 1, "unit_requested_quantity": "1",
        "available_quantity": 0, "unit_available_quantity": "0"}
    assert holds(db) == [] and reserved(db) == 0


def test_out_of_stock_with_fractions(client, admin_headers, db):
    f.create_product(client, admin_headers, "p1", unit_total_stock="2.5",
                     unit_allow_fraction=True, unit_precision_level=3)
    f.lock(client, admin_headers, "p1", "cart-2", unit_quantity="0.125")
    body = assert_error(f.lock(client, admin_headers, "p1", unit_quantity="2.5"), 410, 2670)
    assert (body["requested_quantity"], body["unit_requested_quantity"]) == (2, "2.5")
    assert (body["available_quantity"], body["unit_available_quantity"]) == (2, "2.375")
    assert quantities(holds(db)) == [("cart-2", Decimal("0.125"))]
    assert f.lock(client, admin_headers, "p1", unit_quantity="2.375").status_code == 204
    assert reserved(db) == Decimal("2.5")
    assert locked_available(client, admin_headers) == ("2.5", "0")


# -- max_active_locks -----------------------------------------------------------------

def active_locks(db, instance):
    return db.execute("SELECT active_locks FROM instances WHERE instance_id = %s",
                      (instance,)).fetchone()["active_locks"]


def test_too_many_locks(client, admin_headers, db):
    headers = f.instance_headers(client, admin_headers, "shop1", max_active_locks=2)
    for pid in ("p1", "p2"):
        f.create_product(client, headers, pid, instance="shop1")
    assert f.lock(client, headers, "p1", "cart-a", instance="shop1").status_code == 204
    assert f.lock(client, headers, "p2", "cart-a", instance="shop1").status_code == 204
    body = assert_error(f.lock(client, headers, "p1", "cart-b", instance="shop1"), 429, 10102)
    assert body["hint"]
    assert quantities(holds(db, "p1", "shop1")) == [("cart-a", 1)]
    assert reserved(db, "p1", "shop1") == 1
    assert active_locks(db, "shop1") == 2
    # Changing a lock that exists is not a new lock.
    assert f.lock(client, headers, "p1", "cart-a", quantity=3,
                  instance="shop1").status_code == 204
    # A release makes room.
    assert f.lock(client, headers, "p2", "cart-a", quantity=0,
                  instance="shop1").status_code == 204
    assert active_locks(db, "shop1") == 1
    assert f.lock(client, headers, "p1", "cart-b", instance="shop1").status_code == 204
    assert quantities(holds(db, "p1", "shop1")) == [("cart-a", 3), ("cart-b", 1)]
    assert active_locks(db, "shop1") == 2


def test_expired_locks_do_not_count_toward_the_cap(client, admin_headers, db):
    headers = f.instance_headers(client, admin_headers, "shop1", max_active_locks=1)
    for pid in ("p1", "p2"):
        f.create_product(client, headers, pid, instance="shop1")
    with frozen_clock() as clock:
        assert f.lock(client, headers, "p1", "cart-a", seconds=60,
                      instance="shop1").status_code == 204
        assert_error(f.lock(client, headers, "p2", "cart-b", instance="shop1"), 429, 10102)
        clock.tick(timedelta(seconds=60))
        # cart-a's row on p1 is expired but not reclaimed (another product): no count.
        assert f.lock(client, headers, "p2", "cart-b", instance="shop1").status_code == 204
        assert quantities(holds(db, "p1", "shop1")) == [("cart-a", 1)]
        assert quantities(holds(db, "p2", "shop1")) == [("cart-b", 1)]
        assert active_locks(db, "shop1") == 2  # rows, expired included
        assert_error(f.lock(client, headers, "p2", "cart-c", instance="shop1"), 429, 10102)
        assert quantities(holds(db, "p2", "shop1")) == [("cart-b", 1)]


def test_release_and_unlimited_products_are_never_refused_by_the_cap(client, admin_headers,
                                                                     db):
    headers = f.instance_headers(client, admin_headers, "shop1", max_active_locks=0)
    f.create_product(client, headers, "p1", instance="shop1")
    f.create_product(client, headers, "free", instance="shop1", total_stock=-1)
    assert_error(f.lock(client, headers, "p1", instance="shop1"), 429, 10102)
    assert f.lock(client, headers, "p1", quantity=0, instance="shop1").status_code == 204
    assert f.lock(client, headers, "free", instance="shop1").status_code == 204
    assert db.execute("SELECT count(*) AS n FROM holds").fetchone()["n"] == 0
    assert active_locks(db, "shop1") == 0


# -- permissions and instances --------------------------------------------------------

def test_order_simple_token_may_not_lock(client, admin_headers, db):
    f.create_product(client, admin_headers, "p1")
    headers = f.auth_headers(f.token(client, "admin", f.ADMIN_PASSWORD, "order-simple"))
    body = assert_error(f.lock(client, headers, "p1"), 403, 16)
    assert body["detail"] == "products-lock"
    assert holds(db) == []


@pytest.mark.parametrize("scope", ["order-pos", "order-full", "all", "write"])
def test_lock_scopes(client, admin_headers, db, scope):
    f.create_product(client, admin_headers, "p1")
    headers = f.auth_headers(f.token(client, "admin", f.ADMIN_PASSWORD, scope))
    assert f.lock(client, headers, "p1").status_code == 204
    assert quantities(holds(db)) == [("cart-1", 1)]


def test_readonly_token_may_not_lock(client, admin_headers, db):
    f.create_product(client, admin_headers, "p1")
    headers = f.auth_headers(f.token(client, "admin", f.ADMIN_PASSWORD, "readonly"))
    assert_error(f.lock(client, headers, "p1"), 403, 16)
    assert_error(f.lock(client, {}, "p1"), 401, 2015)
    assert holds(db) == []


def test_instances_never_interfere(client, admin_headers, db):
    h1 = f.instance_headers(client, admin_headers, "shop1")
    h2 = f.instance_headers(client, admin_headers, "shop2")
    f.create_product(client, h1, "p1", instance="shop1", total_stock=1)
    f.create_product(client, h2, "p1", instance="shop2", total_stock=1)
    # The same uuid and product id: each instance has its own stock.
    assert f.lock(client, h1, "p1", "cart-1", instance="shop1").status_code == 204
    assert f.lock(client, h2, "p1", "cart-1", instance="shop2").status_code == 204
    assert_error(f.lock(client, h1, "p1", "cart-2", instance="shop1"), 410, 2670)
    # A release in one instance leaves the other's lock alone.
    assert f.lock(client, h1, "p1", "cart-1", quantity=0, instance="shop1").status_code == 204
    assert holds(db, "p1", "shop1") == []
    assert quantities(holds(db, "p1", "shop2")) == [("cart-1", 1)]
    assert reserved(db, "p1", "shop2") == 1
    # A token of shop1 does not open shop2; the admin's product p1 does not exist.
    assert_error(f.lock(client, h1, "p1", "cart-9", instance="shop2"), 401, 2015)
    assert_error(f.lock(client, admin_headers, "p1"), 404, 2006)
    assert quantities(holds(db, "p1", "shop2")) == [("cart-1", 1)]


# -- bad input ------------------------------------------------------------------------

GOOD = {"lock_uuid": "cart-1", "duration": {"d_us": 60 * US_PER_S}}


@pytest.mark.parametrize("change, code, field", [
    ({"lock_uuid": ""}, 26, "lock_uuid"),
    ({"lock_uuid": "x" * 129}, 26, "lock_uuid"),
    ({"lock_uuid": "caf\u00e9"}, 26, "lock_uuid"),
    ({"lock_uuid": "a b"}, 26, "lock_uuid"),
    ({"lock_uuid": "a\x00b"}, 26, "lock_uuid"),
    ({"lock_uuid": 123}, 26, "lock_uuid"),
    ({"lock_uuid": ["cart-1"]}, 26, "lock_uuid"),
    ({"lock_uuid": None}, 25, "lock_uuid"),
    ({"lock_uuid": ...}, 25, "lock_uuid"),
    ({"duration": ...}, 25, "duration"),
    ({"duration": None}, 25, "duration"),
    ({"duration": {"d_us": -1}}, 26, "duration"),
    ({"duration": {"d_us": "60"}}, 26, "duration"),
    ({"duration": {"d_us": 1.5}}, 26, "duration"),
    ({"duration": {"d_us": True}}, 26, "duration"),
    ({"duration": {"d_us": 2**63}}, 26, "duration"),
    ({"duration": {}}, 26, "duration"),
    ({"duration": "60"}, 26, "duration"),
    ({"duration": 60}, 26, "duration"),
    ({"quantity": -1}, 26, "quantity"),
    ({"quantity": 1.5}, 26, "quantity"),
    ({"quantity": 1e3}, 26, "quantity"),
    ({"quantity": True}, 26, "quantity"),
    ({"quantity": "1"}, 26, "quantity"),
    ({"quantity": 2**52}, 26, "quantity"),
    ({"quantity": {}}, 26, "quantity"),
    ({"unit_quantity": "1e3"}, 26, "unit_quantity"),
    ({"unit_quantity": ".5"}, 26, "unit_quantity"),
    ({"unit_quantity": "1."}, 26, "unit_quantity"),
    ({"unit_quantity": "+1"}, 26, "unit_quantity"),
    ({"unit_quantity": " 1"}, 26, "unit_quantity"),
    ({"unit_quantity": "-1"}, 26, "unit_quantity"),
    ({"unit_quantity": "01"}, 26, "unit_quantity"),
    ({"unit_quantity": "NaN"}, 26, "unit_quantity"),
    ({"unit_quantity": "1.1234567"}, 26, "unit_quantity"),
    ({"unit_quantity": "4503599627370496"}, 26, "unit_quantity"),
    ({"unit_quantity": ""}, 26, "unit_quantity"),
    ({"unit_quantity": 1}, 26, "unit_quantity"),
    ({"quantity": 1, "unit_quantity": "2"}, 26, "unit_quantity"),
])
def test_bad_input_names_the_field_and_changes_nothing(client, admin_headers, db, change,
                                                      code, field):
    f.create_product(client, admin_headers, "p1")
    with frozen_clock() as clock:
        assert f.lock(client, admin_headers, "p1", quantity=2).status_code == 204
        before = holds(db)
        clock.tick(timedelta(seconds=1))
        body = dict(GOOD, **{k: v for k, v in change.items() if v is not ...})
        for key in (k for k, v in change.items() if v is ...):
            del body[key]
        body = assert_error(client.post("/private/products/p1/lock", json=body,
                                        headers=admin_headers), 400, code)
        assert body["detail"] == field and body["parameter"] == field, body
        assert field in body["hint"]
        assert holds(db) == before
        assert reserved(db) == 2


@pytest.mark.parametrize("data", [b"", b"{", b"[]", b"null", b'"x"', b"{'a': 1}",
                                  b'{"lock_uuid": "c", "duration": {"d_us": NaN}}'])
def test_body_not_a_json_object(client, admin_headers, db, data):
    f.create_product(client, admin_headers, "p1")
    resp = client.post("/private/products/p1/lock", data=data, headers=admin_headers,
                       content_type="application/json")
    assert_error(resp, 400, 22)
    assert holds(db) == []


def test_unknown_fields_are_ignored(client, admin_headers, db):
    f.create_product(client, admin_headers, "p1")
    resp = client.post("/private/products/p1/lock", headers=admin_headers,
                       json=dict(GOOD, quantity=2, something_else={"x": 1}))
    assert resp.status_code == 204, resp.get_json()
    assert quantities(holds(db)) == [("cart-1", 2)]


# -- authorization inside the lock's own round trip ----------------------------------
# The lock endpoint checks the token in the same database call as the lock; the
# answers must be exactly those of every other endpoint.

def test_credentials_are_checked_before_the_body(client, admin_headers, db):
    headers = f.instance_headers(client, admin_headers, "shop1")
    f.create_product(client, headers, "p1", instance="shop1")
    bad_body = {"lock_uuid": "", "duration": "soon"}
    url = "/instances/shop1/private/products/p1/lock"
    assert_error(client.post(url, json=bad_body), 401, 2015)
    readonly = f.auth_headers(f.token(client, "shop1", "pw-" + "x" * 8, "readonly"))
    assert_error(client.post(url, json=bad_body, headers=readonly), 403, 16)
    assert_error(client.post("/instances/nope/private/products/p1/lock", json=bad_body,
                             headers=headers), 404, 2000)
    assert_error(client.post(url, json=bad_body, headers=headers), 400, 26)
    assert holds(db, "p1", "shop1") == []


def test_lock_answers_like_every_endpoint_on_bad_credentials(client, admin_headers, db):
    headers = f.instance_headers(client, admin_headers, "shop1")
    f.create_product(client, headers, "p1", instance="shop1")
    f.create_product(client, admin_headers, "p1")
    assert_error(f.lock(client, {}, "p1", instance="shop1"), 401, 2015)
    assert_error(f.lock(client, {"Authorization": "Bearer secret-token:nope"}, "p1",
                        instance="shop1"), 401, 2015)
    # A token of the admin instance is not one of shop1.
    assert_error(f.lock(client, admin_headers, "p1", instance="shop1"), 401, 2015)
    simple = f.auth_headers(f.token(client, "shop1", "pw-" + "x" * 8, "order-simple"))
    body = assert_error(f.lock(client, simple, "p1", instance="shop1"), 403, 16)
    assert body["detail"] == "products-lock"
    assert_error(f.lock(client, headers, "p1", instance="unknown"), 404, 2000)
    assert holds(db, "p1", "shop1") == [] and holds(db, "p1") == []
    assert reserved(db, "p1", "shop1") == 0


def test_expired_token_may_not_lock(client, admin_headers, db):
    f.create_product(client, admin_headers, "p1")
    with frozen_clock() as clock:
        short = f.auth_headers(f.token(client, "admin", f.ADMIN_PASSWORD, "order-pos",
                                       duration={"d_us": 60 * US_PER_S}))
        clock.tick(timedelta(seconds=59))
        assert f.lock(client, short, "p1").status_code == 204
        clock.tick(timedelta(seconds=1))
        assert_error(f.lock(client, short, "p1", "cart-2"), 401, 2015)
    assert quantities(holds(db)) == [("cart-1", 1)]
    assert reserved(db) == 1
