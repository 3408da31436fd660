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
