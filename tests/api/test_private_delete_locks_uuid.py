"""``DELETE /private/locks/$LOCK_UUID``: release a whole cart (extension)."""
from datetime import timedelta
from urllib.parse import quote

import pytest

from .. import factories as f
from ..checks import assert_error
from ..support.clock import frozen_clock
from .test_private_post_products_id_lock import (active_locks, holds, locked_available,
                                                 quantities, reserved)


def delete(client, headers, lock_uuid, instance="admin"):
    return client.delete(f"{f.prefix(instance)}/private/locks/{quote(lock_uuid, safe='')}",
                         headers=headers)


def test_releases_every_product_of_the_cart(client, admin_headers, db):
    for pid in ("p1", "p2", "p3"):
        f.create_product(client, admin_headers, pid, total_stock=5)
    f.lock(client, admin_headers, "p1", "cart-1", quantity=2)
    f.lock(client, admin_headers, "p2", "cart-1", quantity=5)
    f.lock(client, admin_headers, "p3", "cart-1", quantity=1)
    f.lock(client, admin_headers, "p1", "cart-2", quantity=3)

    resp = delete(client, admin_headers, "cart-1")
    assert resp.status_code == 204, resp.get_json()
    assert quantities(holds(db, "p1")) == [("cart-2", 3)]
    assert holds(db, "p2") == [] and holds(db, "p3") == []
    assert [reserved(db, pid) for pid in ("p1", "p2", "p3")] == [3, 0, 0]
    assert locked_available(client, admin_headers, "p2") == ("0", "5")
    # The stock is free for others at once.
    assert f.lock(client, admin_headers, "p2", "cart-3", quantity=5).status_code == 204

    body = assert_error(delete(client, admin_headers, "cart-1"), 404, 10103)
    assert body["detail"] == "cart-1"
    assert quantities(holds(db, "p1")) == [("cart-2", 3)]
    assert reserved(db, "p1") == 3


def test_unknown_cart(client, admin_headers, db):
    f.create_product(client, admin_headers, "p1")
    f.lock(client, admin_headers, "p1", "cart-2")
    assert_error(delete(client, admin_headers, "cart-1"), 404, 10103)
    assert quantities(holds(db)) == [("cart-2", 1)]
    assert reserved(db) == 1


def test_a_cart_of_expired_locks_holds_none(client, admin_headers, db):
    f.create_product(client, admin_headers, "p1")
    f.create_product(client, admin_headers, "p2")
    with frozen_clock() as clock:
        f.lock(client, admin_headers, "p1", "cart-1", quantity=2, seconds=10)
        f.lock(client, admin_headers, "p2", "cart-1", quantity=3, seconds=20)
        clock.tick(timedelta(seconds=10))
        # One lock is still live: 204, and both rows go.
        assert delete(client, admin_headers, "cart-1").status_code == 204
        assert holds(db, "p1") == [] and holds(db, "p2") == []
        assert reserved(db, "p1") == 0 and reserved(db, "p2") == 0

        f.lock(client, admin_headers, "p1", "cart-1", quantity=2, seconds=10)
        clock.tick(timedelta(seconds=10))
        # Nothing live: 404; the expired row may go, the counter follows it.
        assert_error(delete(client, admin_headers, "cart-1"), 404, 10103)
        assert reserved(db, "p1") == sum(q for _, q, _ in holds(db, "p1"))
        assert locked_available(client, admin_headers, "p1") == ("0", "10")


def test_capped_instance_counts_the_release(client, admin_headers, db):
    headers = f.instance_headers(client, admin_headers, "shop1", max_active_locks=2)
    for pid in ("p1", "p2"):
        f.create_product(client, headers, pid, instance="shop1")
        f.lock(client, headers, pid, "cart-1", instance="shop1")
    assert active_locks(db, "shop1") == 2
    assert_error(f.lock(client, headers, "p1", "cart-2", instance="shop1"), 429, 10102)
    assert delete(client, headers, "cart-1", instance="shop1").status_code == 204
    assert active_locks(db, "shop1") == 0
    assert f.lock(client, headers, "p1", "cart-2", instance="shop1").status_code == 204
    assert active_locks(db, "shop1") == 1


@pytest.mark.parametrize("lock_uuid", ["a/b", "a%b", "a?b#c", "~!@$&'()*+,;=:", "x" * 128])
def test_any_visible_ascii_uuid(client, admin_headers, db, lock_uuid):
    f.create_product(client, admin_headers, "p1")
    assert f.lock(client, admin_headers, "p1", lock_uuid).status_code == 204
    assert delete(client, admin_headers, lock_uuid).status_code == 204
    assert holds(db) == [] and reserved(db) == 0


@pytest.mark.parametrize("lock_uuid", ["x" * 129, "caf\u00e9", "a b", "a\x00b"])
def test_malformed_uuid(client, admin_headers, db, lock_uuid):
    f.create_product(client, admin_headers, "p1")
    f.lock(client, admin_headers, "p1", "cart-1")
    body = assert_error(delete(client, admin_headers, lock_uuid), 400, 26)
    assert body["parameter"] == "lock_uuid"
    assert quantities(holds(db)) == [("cart-1", 1)]


def test_permissions(client, admin_headers, db):
    f.create_product(client, admin_headers, "p1")
    f.lock(client, admin_headers, "p1", "cart-1")
    for scope in ("readonly", "order-simple"):
        headers = f.auth_headers(f.token(client, "admin", f.ADMIN_PASSWORD, scope))
        body = assert_error(delete(client, headers, "cart-1"), 403, 16)
        assert body["detail"] == "products-lock"
    assert_error(delete(client, {}, "cart-1"), 401, 2015)
    assert quantities(holds(db)) == [("cart-1", 1)]
    pos = f.auth_headers(f.token(client, "admin", f.ADMIN_PASSWORD, "order-pos"))
    assert delete(client, pos, "cart-1").status_code == 204
    assert holds(db) == []


def test_instances_never_interfere(client, admin_headers, db):
    h1 = f.instance_headers(client, admin_headers, "shop1")
    h2 = f.instance_headers(client, admin_headers, "shop2")
    f.create_product(client, h1, "p1", instance="shop1")
    f.create_product(client, h2, "p1", instance="shop2")
    f.lock(client, h1, "p1", "cart-1", instance="shop1")
    f.lock(client, h2, "p1", "cart-1", instance="shop2")
    assert_error(delete(client, h1, "cart-1", instance="shop2"), 401, 2015)
    assert_error(delete(client, admin_headers, "cart-1"), 404, 10103)
    assert delete(client, h1, "cart-1", instance="shop1").status_code == 204
    assert holds(db, "p1", "shop1") == []
    assert quantities(holds(db, "p1", "shop2")) == [("cart-1", 1)]
    assert reserved(db, "p1", "shop2") == 1
