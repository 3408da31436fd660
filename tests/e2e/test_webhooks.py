"""End to end: webhooks through the real ``taler-inventory serve`` and its delivery
worker, to a real receiver process; and the Tryton module's webhook set-up."""
import json
import statistics
import time
import types

import pytest
import requests

from tests import factories
from tests.support.threads import run_threads
from tests.webhook_receiver import Receiver

from tests.support.server import Server, serve_env, token_headers
from tests.support.waiting import until

pytestmark = pytest.mark.e2e

FAST = {"TALER_INVENTORY_WEBHOOK_INTERVAL": "0.05", "TALER_INVENTORY_WEBHOOK_TIMEOUT": "2",
        "TALER_INVENTORY_WEBHOOK_RETRY_DELAY": "0.05",
        "TALER_INVENTORY_WEBHOOK_RETRY_MAX": "0.3"}


def _env(database_url, **more):
    return {**serve_env(database_url), **FAST, **more}


@pytest.fixture
def server(database_url):
    """A server whose delivery worker looks often (the shop fixtures use it too).

    One per test: its worker would deliver the next test's events (one worker per
    database), with its own settings."""
    srv = Server(_env(database_url))
    try:
        yield srv.wait_ready()
        assert srv.stop() == 0
    finally:
        srv.kill()


def _pending(db) -> int:
    return db.execute("SELECT count(*) AS n FROM webhook_deliveries"
                      " WHERE delivered_time IS NULL").fetchone()["n"]


def test_tryton_setup_creates_its_webhooks_and_they_fire(tryton_taler, legacy_shop, db,
                                                         receiver, monkeypatch):
    """The wizard's "Create Backend Webhooks" step: two webhooks (pay, refund) whose
    body template is Mustache; a paid and a refunded order then reach Tryton's URL."""
    receiver.start()
    payment = tryton_taler.payment
    monkeypatch.setattr(payment, "http_host", lambda: receiver.url)
    monkeypatch.setattr(payment, "Transaction", lambda: types.SimpleNamespace(
        database=types.SimpleNamespace(name="tryton")))
    # What trytond gives a new record's Char field (the stand-in model has none).
    monkeypatch.setattr(payment.TalerMerchantAccount, "webhook_identifier", None,
                        raising=False)
    wiz = tryton_taler.setupwizard.TalerMerchantAccountSetup()
    wiz.start = types.SimpleNamespace(name="Corner shop", merchant_url=legacy_shop.base,
                                      password=legacy_shop.password)
    wiz.configuration = types.SimpleNamespace()
    wiz.show_expiration = types.SimpleNamespace()
    assert wiz.transition_test_connection() == "enforce_kudos_no"
    assert wiz.transition_retrieve_access_token() == "show_expiration"
    assert wiz.transition_setup_backend_webhooks() == "setup_backend_webhooks_succeed"
    identifier = wiz.configuration.webhook_identifier
    assert identifier
    hook_id = f"Tryton-Webhook-{identifier[:8]}"
    shop = {"Authorization": "Bearer secret-token:" + legacy_shop.password}
    listing = requests.get(legacy_shop.base + "private/webhooks", headers=shop, timeout=10)
    assert listing.status_code == 200
    assert listing.json() == {"webhooks": [
        {"webhook_id": f"{hook_id}-pay", "event_type": "pay"},
        {"webhook_id": f"{hook_id}-refund", "event_type": "refund"}]}
    detail = requests.get(legacy_shop.base + f"private/webhooks/{hook_id}-pay",
                          headers=shop, timeout=10).json()
    assert detail["url"] == f"{receiver.url}/tryton/account_payment_taler/webhook/{identifier}"
    assert detail["http_method"] == "POST"

    # An order paid, then refunded: Tryton hears of both.
    resp = requests.post(legacy_shop.base + "private/orders", headers=shop, timeout=10, json={
        "order": {"order_id": "inv-42", "summary": "Invoice 42", "amount": "KUDOS:3",
                  "refund_deadline": {"t_s": 4_000_000_000}}})
    assert resp.status_code == 200, resp.text
    assert requests.post(legacy_shop.base + "private/orders/inv-42/paid", headers=shop,
                         timeout=10).status_code == 204
    resp = requests.post(legacy_shop.base + "private/orders/inv-42/refund", headers=shop,
                         timeout=10, json={"refund": "KUDOS:1", "reason": "damaged"})
    assert resp.status_code == 200, resp.text
    got = receiver.wait_for(2)
    assert [r["path"] for r in got] == [f"/tryton/account_payment_taler/webhook/{identifier}"] * 2
    assert [json.loads(r["body"]) for r in got] == [{"event": "payment", "order_id": "inv-42"}] * 2
    assert all(r["method"] == "POST" and r["headers"]["Content-Type"] == "application/json"
               for r in got)
    until(lambda: _pending(db) == 0, "both recorded as delivered")


def _admin_setup(server, receiver, events, **fields):
    admin = token_headers(server, "admin", factories.ADMIN_PASSWORD)
    for event in events:
        resp = server.post("/private/webhooks", headers=admin, json={
            "webhook_id": event, "event_type": event, "url": f"{receiver.url}/{event}",
            "http_method": "POST", "body_template": "{{product_id}} {{unit_total_stock}}",
            **fields})
        assert resp.status_code == 204, resp.text
    return admin


def _product(server, admin, pid, stock=10):
    resp = server.post("/private/products", headers=admin, json={
        "product_id": pid, "description": pid, "unit": "piece",
        "unit_price": ["KUDOS:1"], "total_stock": stock})
    assert resp.status_code == 204, resp.text


def test_nothing_lost_across_an_outage_and_a_restart(database_url, db, receiver):
    """Events recorded while the receiver is down stay through a restart of serve and
    arrive once each, in order, when both are back."""
    first = Server(_env(database_url), workers=1)
    try:
        first.wait_ready()
        admin = _admin_setup(first, receiver, ["inventory_added"])
        for n in range(10):
            _product(first, admin, f"p{n}")
        until(lambda: db.execute("SELECT count(*) AS n FROM webhook_attempts"
                                 ).fetchone()["n"] >= 3, "a few failed attempts")
        assert first.stop() == 0
    finally:
        first.kill()
    assert _pending(db) == 10
    # Recorded while no server runs: nothing is lost either.
    second = Server(_env(database_url), workers=1)
    try:
        second.wait_ready()
        admin = token_headers(second, "admin", factories.ADMIN_PASSWORD)
        for n in range(10, 15):
            _product(second, admin, f"p{n}")
        time.sleep(0.5)
        receiver.start()
        until(lambda: _pending(db) == 0, "every event delivered")
        assert second.stop() == 0
    finally:
        second.kill()
    bodies = [r["body"] for r in receiver.requests()]
    assert bodies == [f"p{n} 10" for n in range(15)]


def test_a_hanging_receiver_does_not_slow_a_lock_storm(database_url, db, tmp_path):
    """Locks (and catalogue changes, which record events) while the worker is stuck on
    a receiver that never answers: the requests take as long as without it."""
    quick, hanging = Receiver(tmp_path), Receiver(tmp_path)
    server = Server(_env(database_url, TALER_INVENTORY_WEBHOOK_TIMEOUT="5",
                         TALER_INVENTORY_WEBHOOK_CONCURRENCY="2"), workers=2, threads=4)
    try:
        quick.start()
        hanging.start(hang=60)
        server.wait_ready()
        admin = token_headers(server, "admin", factories.ADMIN_PASSWORD)
        _product(server, admin, "hot", stock=1_000_000)

        def storm(threads=6, per_thread=60):
            def run(i):
                mine = []
                with requests.Session() as s:
                    for n in range(per_thread):
                        start = time.monotonic()
                        if n % 10 == 9:  # a catalogue change: an event recorded
                            resp = s.patch(f"{server.base}/private/products/hot",
                                           headers=admin, timeout=30, json={
                                               "description": f"hot {i} {n}",
                                               "unit": "piece"})
                        else:
                            resp = s.post(f"{server.base}/private/products/hot/lock",
                                          headers=admin, timeout=30,
                                          json={"lock_uuid": f"c{i}-{n}",
                                                "duration": {"d_us": 60_000_000}})
                        mine.append(time.monotonic() - start)
                        assert resp.status_code == 204, resp.text
                return mine

            latencies = [s for mine in run_threads(run, threads, join_timeout=120)
                         for s in mine]
            assert len(latencies) == threads * per_thread
            return latencies

        # Baseline: a webhook on every product change, to a receiver that answers.
        resp = server.post("/private/webhooks", headers=admin, json={
            "webhook_id": "quick", "event_type": "inventory_updated",
            "url": f"{quick.url}/q", "http_method": "POST", "body_template": "{{product_id}}"})
        assert resp.status_code == 204
        storm()  # warm up
        baseline = storm()
        # Now also webhooks to a receiver that never answers, with a backlog.
        for n in range(2):
            resp = server.post("/private/webhooks", headers=admin, json={
                "webhook_id": f"hang{n}", "event_type": "inventory_updated",
                "url": f"{hanging.url}/h{n}", "http_method": "POST"})
            assert resp.status_code == 204
        _product(server, admin, "warm")
        for n in range(3):
            requests.patch(f"{server.base}/private/products/warm", headers=admin, timeout=10,
                           json={"description": f"warm {n}", "unit": "piece"})
        until(lambda: db.execute("SELECT count(*) AS n FROM webhook_deliveries"
                                 " WHERE claimed_until IS NOT NULL").fetchone()["n"] >= 2,
              "the worker is stuck on the hanging receiver")
        stuck = storm()
        b50, s50 = statistics.median(baseline), statistics.median(stuck)
        b95 = statistics.quantiles(baseline, n=20)[18]
        s95 = statistics.quantiles(stuck, n=20)[18]
        print(f"lock storm p50 {b50 * 1e3:.1f} ms -> {s50 * 1e3:.1f} ms,"
              f" p95 {b95 * 1e3:.1f} ms -> {s95 * 1e3:.1f} ms, max {max(stuck) * 1e3:.0f} ms")
        # Not one request waited for the receiver (it hangs 60 s, the worker 5 s).
        assert max(stuck) < 2.0
        assert s50 < 2 * b50 + 0.010 and s95 < 3 * b95 + 0.050
        # The quick webhook got all its events meanwhile: the hanging ones hold up
        # only their own queues.
        until(lambda: db.execute(
            """SELECT count(*) AS n FROM webhook_deliveries d JOIN webhooks w
                USING (webhook_serial) WHERE w.webhook_id = 'quick'
                 AND d.delivered_time IS NULL""").fetchone()["n"] == 0,
              "quick deliveries", 60)
        assert len(quick.requests()) == 3 * 36 + 3
    finally:
        server.stop()
        server.kill()
        quick.stop()
        hanging.stop()


def test_webhooks_command_shows_the_backlog_and_retries(database_url, db, receiver):
    from click.testing import CliRunner

    from taler_inventory.cli import main
    srv = Server(_env(database_url, TALER_INVENTORY_WEBHOOK_RETRY_DELAY="3600",
                      TALER_INVENTORY_WEBHOOK_RETRY_MAX="3600"), workers=1)
    try:
        srv.wait_ready()
        admin = _admin_setup(srv, receiver, ["inventory_added"])
        _product(srv, admin, "tea")
        until(lambda: db.execute("SELECT attempts FROM webhook_deliveries").fetchone()
              ["attempts"] == 1, "one failed attempt")
        env = {"TALER_INVENTORY_DATABASE_URL": database_url}
        result = CliRunner().invoke(main, ["webhooks"], env=env)
        assert result.exit_code == 0, result.output
        assert "admin/inventory_added" in result.output and "1 waiting" in result.output
        assert "backlog: 1 undelivered (0 due now, 1 failed at least once)" in result.output
        metrics = srv.get("/metrics").text
        assert "taler_inventory_webhook_backlog 1.0" in metrics
        assert 'taler_inventory_webhook_attempts_total{outcome="failed"}' in metrics
        receiver.start()
        result = CliRunner().invoke(main, ["webhooks", "--retry"], env=env)
        assert result.exit_code == 0, result.output
        assert "1 waiting deliveries are due now" in result.output
        assert "a server's delivery worker is sending them" in result.output
        until(lambda: _pending(db) == 0, "delivered by the server's worker")
        assert [r["body"] for r in receiver.requests()] == ["tea 10"]
        assert "taler_inventory_webhook_backlog 0.0" in srv.get("/metrics").text
    finally:
        srv.stop()
        srv.kill()
