"""``GET /private/locks``: the live cart locks of an instance (extension)."""
from datetime import timedelta
from decimal import Decimal

import pytest

from taler_inventory.timeutil import US_PER_S

from .. import factories as f
from ..checks import assert_error
from ..support.clock import frozen_clock, t0_us


def get_locks(client, headers, query="", instance="admin"):
    resp = client.get(f"{f.prefix(instance)}/private/locks{query}", headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["locks"]


def keys(locks):
    return [(lk["lock_uuid"], lk["product_id"]) for lk in locks]


def hold_count(db):
    return db.execute("SELECT count(*) AS n FROM holds").fetchone()["n"]


def test_lists_live_locks_with_remaining_time(client, admin_headers, db):
    f.create_product(client, admin_headers, "p1", unit_total_stock="10",
                     unit_allow_fraction=True)
    f.create_product(client, admin_headers, "p2")
    with frozen_clock() as clock:
        t0 = t0_us(clock)
        f.lock(client, admin_headers, "p1", "cart-1", unit_quantity="2.5", seconds=60)
        f.lock(client, admin_headers, "p2", "cart-1", quantity=3, seconds=90)
        clock.tick(timedelta(seconds=15, microseconds=250))
        locks = get_locks(client, admin_headers)
        serials = [r["hold_serial"] for r in db.execute(
            "SELECT hold_serial FROM holds ORDER BY hold_serial")]
        assert locks == [
            {"lock_serial": serials[0], "lock_uuid": "cart-1", "product_id": "p1",
             "unit_quantity": "2.5", "quantity": 2,
             "expiration": {"t_s": t0 // US_PER_S + 60},
             "remaining": {"d_us": 45 * US_PER_S - 250}},
            {"lock_serial": serials[1], "lock_uuid": "cart-1", "product_id": "p2",
             "unit_quantity": "3", "quantity": 3,
             "expiration": {"t_s": t0 // US_PER_S + 90},
             "remaining": {"d_us": 75 * US_PER_S - 250}},
        ]


def test_expired_locks_are_not_listed(client, admin_headers, db):
    f.create_product(client, admin_headers, "p1")
    with frozen_clock() as clock:
        f.lock(client, admin_headers, "p1", "short", seconds=10)
        f.lock(client, admin_headers, "p1", "long", seconds=20)
        clock.tick(timedelta(seconds=9, microseconds=999_999))
        assert keys(get_locks(client, admin_headers)) == [("short", "p1"), ("long", "p1")]
        clock.tick(timedelta(microseconds=1))
        assert keys(get_locks(client, admin_headers)) == [("long", "p1")]
        assert hold_count(db) == 2  # listing reclaims nothing: the row is just not live
        clock.tick(timedelta(seconds=10))
        assert get_locks(client, admin_headers) == []


def test_released_and_unlimited_locks_are_not_listed(client, admin_headers, db):
    f.create_product(client, admin_headers, "p1")
    f.create_product(client, admin_headers, "free", total_stock=-1)
    f.lock(client, admin_headers, "p1", "cart-1")
    f.lock(client, admin_headers, "p1", "cart-1", quantity=0)
    f.lock(client, admin_headers, "free", "cart-1")
    assert get_locks(client, admin_headers) == []
    assert hold_count(db) == 0


@pytest.fixture
def three_carts(client, admin_headers):
    """cart-a on p1, p2; cart-b on p1; cart-c on p3 (in this order)."""
    for pid in ("p1", "p2", "p3"):
        f.create_product(client, admin_headers, pid)
    for pid, uuid in (("p1", "cart-a"), ("p2", "cart-a"), ("p1", "cart-b"), ("p3", "cart-c")):
        assert f.lock(client, admin_headers, pid, uuid).status_code == 204


@pytest.mark.parametrize("query, expected", [
    ("?lock_uuid=cart-a", [("cart-a", "p1"), ("cart-a", "p2")]),
    ("?product_id=p1", [("cart-a", "p1"), ("cart-b", "p1")]),
    ("?product_id=p1&lock_uuid=cart-b", [("cart-b", "p1")]),
    ("?product_id=p2&lock_uuid=cart-b", []),
    ("?lock_uuid=nobody", []),
    ("?product_id=nothing", []),
    ("?lock_uuid=&product_id=", None),
])
def test_filters(client, admin_headers, db, three_carts, query, expected):
    if expected is None:  # empty filters are malformed
        resp = client.get(f"/private/locks{query}", headers=admin_headers)
        assert assert_error(resp, 400, 26)["parameter"] in ("lock_uuid", "product_id")
        return
    assert keys(get_locks(client, admin_headers, query)) == expected
    assert hold_count(db) == 4


def test_pagination(client, admin_headers, three_carts):
    def page(query):
        return [lk["lock_serial"] for lk in get_locks(client, admin_headers, query)]

    s = page("")
    assert s == sorted(s) and len(s) == 4
    assert page("?limit=2") == s[:2]
    assert page(f"?limit=2&offset={s[1]}") == s[2:]
    assert page(f"?offset={s[3]}") == []
    # A negative limit pages backwards, newest first.
    assert page("?limit=-3") == [s[3], s[2], s[1]]
    assert page(f"?limit=-2&offset={s[2]}") == [s[1], s[0]]
    assert page("?limit=0") == []
    assert page(f"?limit=1&lock_uuid=cart-a&offset={s[0]}") == [s[1]]


@pytest.mark.parametrize("query, field", [
    ("?limit=abc", "limit"),
    ("?limit=1.5", "limit"),
    ("?limit=", "limit"),
    ("?limit=100000", "limit"),
    ("?offset=-1", "offset"),
    ("?offset=x", "offset"),
    ("?lock_uuid=" + "x" * 129, "lock_uuid"),
    ("?lock_uuid=caf%C3%A9", "lock_uuid"),
    ("?lock_uuid=a%00b", "lock_uuid"),
    ("?product_id=" + "x" * 129, "product_id"),
    ("?product_id=a%00b", "product_id"),
])
def test_bad_query(client, admin_headers, db, three_carts, query, field):
    body = assert_error(client.get(f"/private/locks{query}", headers=admin_headers), 400, 26)
    assert body["parameter"] == field
    assert hold_count(db) == 4


def test_permissions(client, admin_headers, three_carts):
    readonly = f.auth_headers(f.token(client, "admin", f.ADMIN_PASSWORD, "readonly"))
    assert len(get_locks(client, readonly)) == 4
    pos = f.auth_headers(f.token(client, "admin", f.ADMIN_PASSWORD, "order-pos"))
    assert len(get_locks(client, pos)) == 4
    simple = f.auth_headers(f.token(client, "admin", f.ADMIN_PASSWORD, "order-simple"))
    assert assert_error(client.get("/private/locks", headers=simple),
                        403, 16)["detail"] == "products-read"
    assert_error(client.get("/private/locks"), 401, 2015)


def test_instances_see_only_their_own_locks(client, admin_headers, db):
    h1 = f.instance_headers(client, admin_headers, "shop1")
    h2 = f.instance_headers(client, admin_headers, "shop2")
    f.create_product(client, h1, "p1", instance="shop1")
    f.create_product(client, h2, "p1", instance="shop2")
    f.lock(client, h1, "p1", "cart-1", instance="shop1", quantity=2)
    f.lock(client, h2, "p1", "cart-1", instance="shop2", quantity=5)
    one = get_locks(client, h1, instance="shop1")
    assert [(lk["lock_uuid"], lk["product_id"], lk["quantity"]) for lk in one] == [
        ("cart-1", "p1", 2)]
    two = get_locks(client, h2, "?lock_uuid=cart-1&product_id=p1", instance="shop2")
    assert [lk["quantity"] for lk in two] == [5]
    assert get_locks(client, admin_headers) == []
    assert_error(client.get("/instances/shop2/private/locks", headers=h1), 401, 2015)
    assert db.execute("SELECT sum(quantity) AS q FROM holds").fetchone()["q"] == Decimal(7)


def test_forever_lock_lists_never_and_forever(client, admin_headers, db):
    headers = f.instance_headers(client, admin_headers, "shop1",
                                 max_lock_duration={"d_us": "forever"})
    f.create_product(client, headers, "p1", instance="shop1")
    resp = client.post("/instances/shop1/private/products/p1/lock", headers=headers,
                       json={"lock_uuid": "cart-1", "duration": {"d_us": "forever"}})
    assert resp.status_code == 204, resp.get_json()
    [lk] = get_locks(client, headers, instance="shop1")
    assert lk["expiration"] == {"t_s": "never"}
    assert lk["remaining"] == {"d_us": "forever"}
