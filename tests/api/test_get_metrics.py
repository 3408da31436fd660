"""``GET /metrics``: Prometheus text, who may read it, and what it counts."""
import pytest
from freezegun import freeze_time
from prometheus_client.parser import text_string_to_metric_families

from taler_inventory import create_app
from tests import factories as f
from tests.checks import assert_error
from tests.conftest import TEST_SETTINGS


def scrape(client, remote="127.0.0.1") -> dict:
    """Every sample of ``GET /metrics`` as {(name, sorted labels): value}."""
    resp = client.get("/metrics", environ_base={"REMOTE_ADDR": remote})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert resp.content_type.startswith("text/plain; version=0.0.4")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(resp.get_data(as_text=True))
            for s in family.samples}


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_are_counted_by_endpoint_and_status_with_latency(client, admin_headers):
    before = scrape(client)
    for _ in range(3):
        assert client.get("/private/products", headers=admin_headers).status_code == 200
    assert client.get("/private/products/nosuch", headers=admin_headers).status_code == 404
    after = scrape(client)
    ok = {"endpoint": "/private/products", "method": "GET", "status": "200"}
    assert value(after, "taler_inventory_http_requests_total", **ok) \
        - value(before, "taler_inventory_http_requests_total", **ok) == 3
    missing = {"endpoint": "/private/products/<product_id>", "method": "GET", "status": "404"}
    assert value(after, "taler_inventory_http_requests_total", **missing) \
        - value(before, "taler_inventory_http_requests_total", **missing) == 1
    timed = {"endpoint": "/private/products", "method": "GET"}
    assert value(after, "taler_inventory_http_request_duration_seconds_count", **timed) \
        - value(before, "taler_inventory_http_request_duration_seconds_count", **timed) == 3
    assert value(after, "taler_inventory_http_request_duration_seconds_bucket",
                 le="+Inf", **timed) >= 3


def test_locks_410_and_429_and_live_holds(client, admin_headers, db):
    h = admin_headers
    f.create_product(client, h, "p1", total_stock=2)
    db.execute("UPDATE instances SET max_active_locks = 2 WHERE instance_id = 'admin'")
    before = scrape(client)
    assert f.lock(client, h, "p1", "cart-1", quantity=1).status_code == 204
    assert f.lock(client, h, "p1", "cart-2", quantity=1).status_code == 204
    assert_error(f.lock(client, h, "p1", "cart-1", quantity=5), 410, 2670)
    f.create_product(client, h, "p2", total_stock=9)
    assert_error(f.lock(client, h, "p2", "cart-3", quantity=1), 429, 10102)
    after = scrape(client)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("taler_inventory_locks_total", outcome="taken") == 2
    assert delta("taler_inventory_refused_requests_total", status="410", code="2670") == 1
    assert delta("taler_inventory_refused_requests_total", status="429", code="10102") == 1
    assert value(after, "taler_inventory_holds_live", kind="lock") == 2
    assert value(after, "taler_inventory_holds_live", kind="order") == 0
    assert client.delete("/private/locks/cart-1", headers=h).status_code == 204
    assert f.lock(client, h, "p1", "cart-2", quantity=0).status_code == 204
    final = scrape(client)
    assert value(final, "taler_inventory_locks_total", outcome="released") \
        - value(after, "taler_inventory_locks_total", outcome="released") == 2
    assert value(final, "taler_inventory_holds_live", kind="lock") == 0
    assert db.execute("SELECT count(*) AS n FROM holds").fetchone()["n"] == 0


def test_reclaim_backlog_counts_expired_holds_not_yet_reclaimed(client, admin_headers, db):
    f.create_product(client, admin_headers, "p1", total_stock=5)
    with freeze_time("2030-01-01 00:00:00") as clock:
        headers = f.auth_headers(f.token(client, "admin", f.ADMIN_PASSWORD))
        assert f.lock(client, headers, "p1", "cart-1", seconds=60).status_code == 204
        assert value(scrape(client), "taler_inventory_holds_reclaim_backlog") == 0
        clock.tick(61)
        samples = scrape(client)
        assert value(samples, "taler_inventory_holds_reclaim_backlog") == 1
        assert value(samples, "taler_inventory_holds_live", kind="lock") == 0
    assert db.execute("SELECT count(*) AS n FROM holds").fetchone()["n"] == 1


def test_pool_waits_are_timed(client):
    before = scrape(client)
    client.get("/readyz")
    after = scrape(client)
    assert value(after, "taler_inventory_db_pool_wait_seconds_count") \
        > value(before, "taler_inventory_db_pool_wait_seconds_count")
    assert value(after, "taler_inventory_db_up") == 1


@pytest.mark.parametrize("remote", ["10.1.2.3", "192.168.0.7", "2001:db8::1"])
def test_other_addresses_may_not_read_by_default(client, remote):
    body = assert_error(client.get("/metrics", environ_base={"REMOTE_ADDR": remote}), 403,
                        10200)
    assert body["detail"] == remote


@pytest.mark.parametrize("remote", ["127.0.0.1", "127.5.5.5", "::1"])
def test_loopback_may_read_by_default(client, remote):
    assert "taler_inventory_db_up" in {name for name, _ in scrape(client, remote)}


def test_the_allowed_networks_are_a_setting(database_url):
    app = create_app(dict(TEST_SETTINGS, DATABASE_URL=database_url,
                          METRICS_ALLOW="10.0.0.0/8"))
    client = app.test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 200
    assert_error(client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}), 403, 10200)
    anyone = create_app(dict(TEST_SETTINGS, DATABASE_URL=database_url, METRICS_ALLOW="any"))
    assert anyone.test_client().get(
        "/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 200


def test_a_database_away_is_db_up_0_not_an_error(unreachable_app):
    samples = scrape(unreachable_app.test_client())
    assert value(samples, "taler_inventory_db_up") == 0
    assert ("taler_inventory_holds_live", (("kind", "lock"),)) not in samples


# -- what the lock outcomes count -------------------------------------------------------

def _delta(before, after, name, **labels):
    return value(after, name, **labels) - value(before, name, **labels)


def _locks(before, after) -> dict:
    return {o: _delta(before, after, "taler_inventory_locks_total", outcome=o)
            for o in ("taken", "replaced", "released", "expired")}


def _holds(db) -> list:
    return db.execute("SELECT lock_uuid, quantity FROM holds ORDER BY lock_uuid, quantity"
                      ).fetchall()


def test_a_re_posted_lock_counts_as_replaced(client, admin_headers, db):
    h = admin_headers
    f.create_product(client, h, "p1", total_stock=5)
    f.create_product(client, h, "p2", total_stock=5)
    before = scrape(client)
    assert f.lock(client, h, "p1", "cart-1", quantity=1).status_code == 204   # taken
    assert f.lock(client, h, "p1", "cart-1", quantity=3).status_code == 204   # replaced
    assert f.lock(client, h, "p1", "cart-1", quantity=2).status_code == 204   # replaced
    assert f.lock(client, h, "p2", "cart-1", quantity=1).status_code == 204   # taken: p2
    assert f.lock(client, h, "p1", "cart-2", quantity=1).status_code == 204   # taken
    # Refused: counted as a 410, neither taken nor replaced, and nothing changes.
    assert_error(f.lock(client, h, "p1", "cart-2", quantity=9), 410, 2670)
    assert f.lock(client, h, "p1", "cart-2", quantity=0).status_code == 204   # released
    after = scrape(client)
    assert _locks(before, after) == {"taken": 3, "replaced": 2, "released": 1, "expired": 0}
    assert _delta(before, after, "taler_inventory_refused_requests_total",
                  status="410", code="2670") == 1
    assert [(r["lock_uuid"], r["quantity"]) for r in _holds(db)] == [("cart-1", 1), ("cart-1", 2)]
    assert value(after, "taler_inventory_holds_live", kind="lock") == 2


def test_a_re_post_that_fits_only_after_reclaiming_is_replaced_and_counts_the_expired(
        client, admin_headers, db):
    # The slow path: the re-post does not fit at once, fits once the expired hold
    # of another cart is reclaimed.
    h = admin_headers
    f.create_product(client, h, "p1", total_stock=2)
    assert f.lock(client, h, "p1", "cart-1", quantity=1).status_code == 204
    f.insert_hold(db, "p1", 1, 1, lock_uuid="cart-old")  # expired long ago
    before = scrape(client)
    assert f.lock(client, h, "p1", "cart-1", quantity=2).status_code == 204
    after = scrape(client)
    assert _locks(before, after) == {"taken": 0, "replaced": 1, "released": 0, "expired": 1}
    assert [(r["lock_uuid"], r["quantity"]) for r in _holds(db)] == [("cart-1", 2)]
    assert value(after, "taler_inventory_holds_reclaim_backlog") == 0


def test_holds_reclaimed_before_a_410_count_as_expired(client, admin_headers, db):
    h = admin_headers
    f.create_product(client, h, "p1", total_stock=3)
    for n in range(3):
        f.insert_hold(db, "p1", 1, 1 + n, lock_uuid=f"cart-old-{n}")
    before = scrape(client)
    assert value(before, "taler_inventory_holds_reclaim_backlog") == 3
    body = assert_error(f.lock(client, h, "p1", "cart-1", quantity=4), 410, 2670)
    assert body["unit_available_quantity"] == "3"
    after = scrape(client)
    assert _locks(before, after) == {"taken": 0, "replaced": 0, "released": 0, "expired": 3}
    assert _holds(db) == []
    assert value(after, "taler_inventory_holds_reclaim_backlog") == 0
    # A lock that fits reclaims nothing (the hot path does no extra work).
    f.insert_hold(db, "p1", 1, 1, lock_uuid="cart-old")
    assert f.lock(client, h, "p1", "cart-2", quantity=1).status_code == 204
    final = scrape(client)
    assert _locks(after, final) == {"taken": 1, "replaced": 0, "released": 0, "expired": 0}
    assert value(final, "taler_inventory_holds_reclaim_backlog") == 1


def test_holds_reclaimed_by_orders_count_as_expired(client, admin_headers, db):
    h = admin_headers
    f.create_product(client, h, "p1", total_stock=2)
    f.insert_hold(db, "p1", 1, 1, lock_uuid="cart-old-1")
    f.insert_hold(db, "p1", 1, 2, lock_uuid="cart-old-2")
    before = scrape(client)
    order_id = f.create_order(client, h, [("p1", 1)])
    after = scrape(client)
    # An order reclaims up to RECLAIM_BATCH expired holds of its products on its way.
    assert _locks(before, after)["expired"] == 2
    assert db.execute("SELECT count(*) AS n FROM holds WHERE lock_uuid IS NOT NULL"
                      ).fetchone()["n"] == 0
    # Paid after its pay deadline: its own hold holds nothing any more, so the
    # payment takes what is free, reclaiming another expired hold on the way.
    db.execute("UPDATE holds SET expiration = 5 WHERE order_serial IS NOT NULL")
    f.insert_hold(db, "p1", 1, 3, lock_uuid="cart-old-3")
    assert client.post(f"/private/orders/{order_id}/paid", headers=h).status_code == 204
    final = scrape(client)
    assert _locks(after, final)["expired"] == 1
    assert _holds(db) == []
    assert db.execute("SELECT total_sold FROM products WHERE product_id = 'p1'"
                      ).fetchone()["total_sold"] == 1


def test_holds_reclaimed_by_gc_are_counted_in_the_database(client, admin_headers, db,
                                                            database_url):
    from tests.test_cli import run

    f.create_product(client, admin_headers, "p1", total_stock=5)
    before = scrape(client)
    for n in range(3):
        f.insert_hold(db, "p1", 1, 1 + n, lock_uuid=f"cart-old-{n}")
    result = run(database_url, "gc")
    assert result.exit_code == 0, result.output
    assert "expired holds reclaimed: 3" in result.output
    after = scrape(client)
    assert _delta(before, after, "taler_inventory_gc_reclaimed_holds_total") == 3
    # Not in the server's own counter: gc ran in another process.
    assert _locks(before, after)["expired"] == 0
    f.insert_hold(db, "p1", 1, 1, lock_uuid="cart-old")
    assert run(database_url, "gc").exit_code == 0
    assert run(database_url, "gc").exit_code == 0  # nothing to do: adds nothing
    final = scrape(client)
    assert _delta(before, final, "taler_inventory_gc_reclaimed_holds_total") == 4
    assert _holds(db) == []
