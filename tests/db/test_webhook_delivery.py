"""The webhook delivery worker against a real receiver process and real PostgreSQL:
what arrives, in what order, after an outage, with a hanging receiver, and with two
workers at once."""
import itertools
import json
import threading
import time

import psycopg
import pytest
from psycopg.rows import dict_row

from taler_inventory import webhooks as worker
from taler_inventory.backenddb import webhooks as webhooks_db
from taler_inventory.timeutil import now_us
from tests import factories as f
from tests.support.threads import run_threads
from tests.support.waiting import until
from tests.webhook_receiver import Receiver

FAST = worker.Policy(interval=0.05, timeout=2.0, retry_delay=0.05, retry_max=0.4,
                     concurrency=4)


def add_hook(client, h, receiver, event, webhook_id=None, path=None, **fields):
    body = {"webhook_id": webhook_id or event, "event_type": event,
            "url": f"{receiver.url}/{path or event}", "http_method": "POST", **fields}
    resp = client.post("/private/webhooks", json=body, headers=h)
    assert resp.status_code == 204, resp.get_json()


def pending(db) -> int:
    return db.execute("SELECT count(*) AS n FROM webhook_deliveries"
                      " WHERE delivered_time IS NULL").fetchone()["n"]


@pytest.fixture
def run_worker(database_url):
    """Start ``serve_forever`` in a thread (as the worker process runs it)."""
    stops = []

    def start(policy=FAST):
        stop = threading.Event()
        thread = threading.Thread(target=worker.serve_forever,
                                  args=(database_url, policy, stop), daemon=True)
        thread.start()
        stops.append((stop, thread))
        return stop, thread

    yield start
    for stop, thread in stops:
        stop.set()
        thread.join(30)


def test_every_event_type_arrives_with_method_headers_and_body(client, admin_headers, db,
                                                                receiver, database_url):
    h = admin_headers
    receiver.start()
    templates = {
        "inventory_added": '{"added": "{{product_id}}", "stock": "{{unit_total_stock}}"}',
        "inventory_updated": '{"updated": "{{product_id}}", "sold": {{total_sold}}}',
        "inventory_deleted": '{"deleted": "{{product_id}}"}',
        "category_added": '{"category": "{{category_name}}", "id": {{category_id}}}',
        "category_updated": '{"category": "{{category_name}}"}',
        "category_deleted": '{"category": {{category_id}}}',
        "order_created": '{"order": "{{order_id}}", "terms": {{{contract_terms}}}}',
        "pay": '{"event": "payment", "order_id": "{{order_id}}"}',
        "refund": '{"refund": "{{refund_amount}}", "reason": "{{reason}}",'
                  ' "order_id": "{{order_id}}", "at": {{timestamp}}}',
    }
    methods = {"inventory_updated": "PUT", "category_deleted": "DELETE"}
    for event, body in templates.items():
        add_hook(client, h, receiver, event, http_method=methods.get(event, "POST"),
                 header_template="X-Event: {{webhook_type}}\nX-Shop: corner",
                 body_template=body)
    cat = client.post("/private/categories", json={"name": "Tea"},
                      headers=h).get_json()["category_id"]
    client.patch(f"/private/categories/{cat}", json={"name": "Teas"}, headers=h)
    f.create_product(client, h, "green", categories=[cat])
    order_id = f.create_order(client, h, [("green", "2")], order_id="o-1",
                              refund_deadline={"t_s": 4_000_000_000})
    assert client.post(f"/private/orders/{order_id}/paid", headers=h).status_code == 204
    assert client.post(f"/private/orders/{order_id}/refund", headers=h,
                       json={"refund": "KUDOS:0.5", "reason": "late"}).status_code == 200
    assert client.delete(f"/private/categories/{cat}", headers=h).status_code == 204
    assert client.delete("/private/products/green", headers=h).status_code == 204
    assert pending(db) == 9

    assert worker.deliver_now(database_url, FAST) is True
    got = receiver.wait_for(9)
    assert pending(db) == 0
    by_path = {}
    for request in got:
        by_path.setdefault(request["path"].lstrip("/"), []).append(request)
    assert sorted(r["path"] for r in got) == sorted(f"/{e}" for e in templates)
    for event in templates:
        request = by_path[event][0]
        assert request["method"] == methods.get(event, "POST")
        assert request["headers"]["X-Event"] == event
        assert request["headers"]["X-Shop"] == "corner"
        assert request["headers"]["Content-Type"] == "application/json"
        assert request["headers"]["Host"] == f"127.0.0.1:{receiver.port}"
        json.loads(request["body"])  # every template made JSON
    body = lambda event, n=0: json.loads(by_path[event][n]["body"])  # noqa: E731
    assert body("inventory_added") == {"added": "green", "stock": "10"}
    assert body("inventory_updated") == {"updated": "green", "sold": 2}
    assert body("inventory_deleted") == {"deleted": "green"}
    assert body("category_added") == {"category": "Tea", "id": cat}
    assert body("category_updated") == {"category": "Teas"}
    assert body("category_deleted") == {"category": cat}
    created = body("order_created")
    assert created["order"] == "o-1" and created["terms"]["order_id"] == "o-1"
    assert created["terms"]["products"][0]["product_id"] == "green"
    assert body("pay") == {"event": "payment", "order_id": "o-1"}
    refund = body("refund")
    assert (refund["refund"], refund["reason"], refund["order_id"]) == ("KUDOS:0.5", "late",
                                                                         "o-1")
    # The record the merchant reads: one successful attempt each.
    resp = client.get("/private/webhooks/pay/deliveries", headers=h)
    (delivery,) = resp.get_json()["deliveries"]
    assert delivery["delivered"] is True and delivery["attempt_count"] == 1
    (attempt,) = delivery["attempts"]
    assert attempt["http_status"] == 200 and "error" not in attempt
    assert attempt["duration_us"] > 0 and "t_s" in attempt["time"]


def test_outage_then_back_every_event_once_in_order(client, admin_headers, db, receiver,
                                                    run_worker):
    """Down (refused), then failing (503), then back: each webhook gets all its events
    in order; an event comes again only after a failed attempt of it."""
    h = admin_headers
    add_hook(client, h, receiver, "inventory_added", body_template="{{product_id}}")
    add_hook(client, h, receiver, "inventory_updated", body_template="{{product_id}}"
             " {{unit_total_stock}}")
    run_worker()
    for n in range(15):
        f.create_product(client, h, f"p{n:02d}")
        client.patch(f"/private/products/p{n:02d}", headers=h, json={
            "description": "x", "unit": "piece", "unit_price": ["KUDOS:1"],
            "total_stock": 11})
        if n == 5:  # the worker fails against nobody, then against a 503
            until(lambda: db.execute("SELECT count(*) AS n FROM webhook_attempts"
                                     ).fetchone()["n"] >= 2)
            receiver.start(status=503)
        if n == 10:
            until(lambda: any(r["status"] == 503 for r in receiver.requests()))
            receiver.stop()
            receiver.start(status=200)
    deadline = time.monotonic() + 60
    while pending(db) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert pending(db) == 0
    got = receiver.requests()
    for path, expected in (("/inventory_added", [f"p{n:02d}" for n in range(15)]),
                           ("/inventory_updated", [f"p{n:02d} 11" for n in range(15)])):
        seen = [(r["body"], r["status"]) for r in got if r["path"] == path]
        delivered = [b for b, status in seen if status == 200]
        assert delivered == expected  # all, once each, in order
        for (body, status), (next_body, _) in itertools.pairwise(seen):
            # A repeat only after a failed attempt of the same event.
            if body == next_body:
                assert status != 200
            else:
                assert status == 200 and expected.index(next_body) == expected.index(body) + 1
    failures = db.execute("SELECT count(*) AS n FROM webhook_attempts"
                          " WHERE http_status IS DISTINCT FROM 200").fetchone()["n"]
    assert failures > 0  # the outage was seen (refused, then 503)
    errors = {r["error"] for r in db.execute("SELECT error FROM webhook_attempts"
                                             " WHERE error IS NOT NULL")}
    assert any("answered 503" in e for e in errors)
    assert any("Connection" in e or "refused" in e.lower() for e in errors)


def test_retry_waits_double_up_to_the_bound(client, admin_headers, db, receiver, run_worker):
    h = admin_headers
    receiver.start(status=500)
    policy = worker.Policy(interval=0.02, timeout=2.0, retry_delay=0.1, retry_max=0.4)
    assert [policy.retry_after_us(n) for n in range(1, 7)] == \
        [100_000, 200_000, 400_000, 400_000, 400_000, 400_000]
    add_hook(client, h, receiver, "inventory_added")
    f.create_product(client, h, "tea")
    run_worker(policy)
    receiver.wait_for(7, timeout=30)
    times = [r["time"] for r in receiver.requests()][:7]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # Never sooner than the backoff says: 0.1, 0.2, then 0.4 each time (the bound) ...
    for gap, least in zip(gaps, (0.1, 0.2, 0.4, 0.4, 0.4, 0.4), strict=False):
        assert gap >= least - 0.02, gaps
    # ... and not doubling on: unbounded, the last two would wait 1.6 and 3.2 s.
    assert all(g < 1.5 for g in gaps[4:]), gaps
    row = db.execute("SELECT attempts, last_http_status, last_error FROM webhook_deliveries"
                     ).fetchone()
    assert row["attempts"] >= 6 and row["last_http_status"] == 500
    assert row["last_error"] == "the receiver answered 500"


def test_a_hanging_receiver_costs_one_timeout_and_does_not_hold_up_others(
        client, admin_headers, db, tmp_path, run_worker):
    slow, quick = Receiver(tmp_path), Receiver(tmp_path)
    try:
        slow.start(hang=30)
        quick.start()
        h = admin_headers
        add_hook(client, h, slow, "inventory_added", webhook_id="slow")
        add_hook(client, h, quick, "inventory_added", webhook_id="quick")
        policy = worker.Policy(interval=0.05, timeout=0.5, retry_delay=0.05, retry_max=0.2)
        run_worker(policy)
        started = time.monotonic()
        for n in range(5):
            f.create_product(client, h, f"p{n}")
        assert len(quick.wait_for(5, timeout=10)) == 5
        assert time.monotonic() - started < 5  # not after the slow one's 30 s
        time.sleep(1.5)
        rows = db.execute(
            """SELECT a.duration_us, a.error FROM webhook_attempts a
                 JOIN webhook_deliveries d USING (delivery_serial)
                 JOIN webhooks w USING (webhook_serial) WHERE w.webhook_id = 'slow'"""
        ).fetchall()
        assert rows and all("timed out" in r["error"] for r in rows)
        assert all(0.45e6 <= r["duration_us"] < 2e6 for r in rows)
    finally:
        slow.stop()
        quick.stop()


def test_two_workers_never_send_the_same_event(client, admin_headers, db, receiver,
                                               database_url):
    """Two deliverers on two connections, without the worker lock, taking from the
    same outbox at once: each event goes out once."""
    receiver.start()
    h = admin_headers
    for n in range(6):
        add_hook(client, h, receiver, "inventory_added", webhook_id=f"w{n}", path=f"w{n}",
                 body_template="{{product_id}}")
    for n in range(20):
        f.create_product(client, h, f"p{n:02d}")
    assert pending(db) == 120

    def deliver(i):
        with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
            conn.execute("SET search_path TO inventory")
            deliverer = worker.Deliverer(conn, FAST)
            deliverer.drain(time.monotonic() + 60)
            deliverer.close()

    run_threads(deliver, 2, join_timeout=90)
    got = receiver.wait_for(120)
    time.sleep(0.3)
    got = receiver.requests()
    assert len(got) == 120
    for n in range(6):
        assert [r["body"] for r in got if r["path"] == f"/w{n}"] == \
            [f"p{m:02d}" for m in range(20)]
    assert pending(db) == 0


def test_one_worker_per_database(database_url, db):
    stop = threading.Event()
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as holder:
        assert worker.try_worker_lock(holder)
        # While another holds the lock, a one-off pass leaves the work to it.
        assert worker.deliver_now(database_url, FAST) is False
        thread = threading.Thread(target=worker.serve_forever,
                                  args=(database_url, FAST, stop), daemon=True)
        thread.start()
        time.sleep(0.5)
        waiting = db.execute("SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory'"
                             " AND objid = %s AND granted",
                             (worker.WORKER_LOCK_KEY & 0xFFFFFFFF,)).fetchone()["n"]
        assert waiting == 1
    time.sleep(FAST.interval * 5 + 0.5)  # it takes over once the holder goes
    granted = db.execute("SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory'"
                         " AND objid = %s AND granted",
                         (worker.WORKER_LOCK_KEY & 0xFFFFFFFF,)).fetchone()["n"]
    stop.set()
    thread.join(10)
    assert granted == 1


def test_refuse_private_addresses(client, admin_headers, db, receiver, database_url):
    receiver.start()
    add_hook(client, admin_headers, receiver, "inventory_added")
    f.create_product(client, admin_headers, "tea")
    policy = worker.Policy(interval=0.05, timeout=1.0, retry_delay=60, refuse_private=True)
    worker.deliver_now(database_url, policy, seconds=2)
    assert receiver.requests() == []
    row = db.execute("SELECT attempts, last_error, delivered_time FROM webhook_deliveries"
                     ).fetchone()
    assert row["attempts"] == 1 and row["delivered_time"] is None
    assert "refused" in row["last_error"] and "127.0.0.1" in row["last_error"]


def test_retry_now_makes_waiting_deliveries_due(client, admin_headers, db, receiver,
                                                database_url):
    add_hook(client, admin_headers, receiver, "inventory_added")
    f.create_product(client, admin_headers, "tea")
    slow_retry = worker.Policy(interval=0.05, timeout=1.0, retry_delay=3600)
    worker.deliver_now(database_url, slow_retry, seconds=1)  # nobody listens: fails
    assert pending(db) == 1
    receiver.start()
    worker.deliver_now(database_url, slow_retry, seconds=1)
    assert receiver.requests() == []  # not due for an hour
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        conn.execute("SET search_path TO inventory")
        assert webhooks_db.retry_now(conn, now_us()) == 1
    worker.deliver_now(database_url, slow_retry, seconds=2)
    assert len(receiver.wait_for(1)) == 1 and pending(db) == 0


def test_a_worker_that_died_mid_attempt_leaves_its_event_to_the_next(
        client, admin_headers, db, receiver, database_url):
    """A worker killed while sending (its lease taken, no outcome recorded): nobody
    else sends the event while the lease runs; once it has run out, the next worker
    does. At least once, never twice at a time."""
    receiver.start()
    add_hook(client, admin_headers, receiver, "inventory_added", body_template="{{product_id}}")
    f.create_product(client, admin_headers, "tea")
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as dead:
        dead.execute("SET search_path TO inventory")
        now = now_us()
        (taken,) = webhooks_db.claim_due(dead, now, now + 1_500_000, 10)
        assert taken["context"]["product_id"] == "tea"
    # The dead worker's lease holds: a pass now sends nothing.
    worker.deliver_now(database_url, FAST, seconds=0.5)
    assert receiver.requests() == []
    time.sleep(1.6)
    worker.deliver_now(database_url, FAST, seconds=2)
    assert [r["body"] for r in receiver.wait_for(1)] == ["tea"]
    assert pending(db) == 0
    row = db.execute("SELECT attempts, claimed_until FROM webhook_deliveries").fetchone()
    assert row == {"attempts": 1, "claimed_until": None}
