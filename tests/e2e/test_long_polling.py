"""End to end: long polling through the real server (``serve`` on its default worker
and thread counts), where a waiting request is parked by the HTTP bridge and holds
neither a request thread nor a database connection."""
import threading
import time

import pytest
import requests

from taler_inventory import talercrypto
from taler_inventory.timeutil import US_PER_S

from tests import factories

from tests.support.server import running, serve_env, token_headers

pytestmark = pytest.mark.e2e

WAITERS = 200


@pytest.fixture
def server(database_url):
    with running(serve_env(database_url), workers=2, threads=8) as server:
        yield server


@pytest.fixture
def admin(server):
    return token_headers(server, "admin", factories.ADMIN_PASSWORD)


def _order(server, admin, order_id, **order):
    resp = server.post("/private/orders", headers=admin, json={
        "order": {"summary": "long poll", "amount": "KUDOS:3", "order_id": order_id,
                  "refund_deadline": {"t_s": 4_000_000_000},
                  "wire_transfer_deadline": {"t_s": 4_000_000_000}, **order}})
    assert resp.status_code == 200, resp.text
    return resp.json()


def _background(url, **kwargs):
    result = {}

    def run():
        started = time.monotonic()
        try:
            result["resp"] = requests.get(url, timeout=60, **kwargs)
        except requests.RequestException as exc:
            result["error"] = exc
        result["done"] = time.monotonic()
        result["seconds"] = result["done"] - started

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def _listeners(db):
    return db.execute("SELECT count(*) AS n FROM pg_stat_activity"
                      " WHERE application_name = 'taler-inventory-listener'").fetchone()["n"]


def _pooled(db):
    return db.execute("SELECT count(*) AS n FROM pg_stat_activity"
                      " WHERE application_name = 'taler-inventory'").fetchone()["n"]


def test_wakes_within_a_second_of_payment(server, admin, db):
    _order(server, admin, "lp-paid")
    thread, result = _background(f"{server.base}/private/orders/lp-paid?timeout_ms=30000",
                                 headers=admin)
    time.sleep(1.0)
    assert thread.is_alive()
    paid = time.monotonic()
    assert server.post("/private/orders/lp-paid/paid", headers=admin).status_code == 204
    thread.join(10)
    assert result["resp"].status_code == 200
    assert result["resp"].json()["order_status"] == "paid"
    assert result["done"] - paid < 1.0
    assert db.execute("SELECT paid FROM orders WHERE order_id = 'lp-paid'").fetchone()["paid"]


def test_times_out_with_the_unchanged_status(server, admin, db):
    _order(server, admin, "lp-idle")
    started = time.monotonic()
    resp = server.get("/private/orders/lp-idle?timeout_ms=1500", headers=admin)
    elapsed = time.monotonic() - started
    assert resp.status_code == 200 and resp.json()["order_status"] == "unpaid"
    assert 1.5 <= elapsed < 4
    assert not db.execute("SELECT paid FROM orders WHERE order_id = 'lp-idle'").fetchone()["paid"]


def test_claim_and_refund_wake(server, admin, db):
    token = _order(server, admin, "lp-cr")["token"]
    thread, result = _background(f"{server.base}/private/orders/lp-cr?timeout_ms=30000",
                                 headers=admin)
    time.sleep(0.5)
    nonce = talercrypto.encode(b"\x07" * 32)
    resp = requests.post(f"{server.base}/orders/lp-cr/claim", timeout=10,
                         json={"nonce": nonce, "token": token})
    assert resp.status_code == 200, resp.text
    claimed = time.monotonic()
    thread.join(10)
    assert result["resp"].json()["order_status"] == "claimed"
    assert result["done"] - claimed < 1.0
    assert server.post("/private/orders/lp-cr/paid", headers=admin).status_code == 204
    etag = server.get("/private/orders/lp-cr", headers=admin).headers["ETag"].strip('"')
    # The wallet waits for a refund of at least KUDOS:1, the merchant for any change.
    from taler_inventory import contract
    h_contract = talercrypto.encode(contract.contract_hash(
        db.execute("SELECT contract_terms FROM orders WHERE order_id = 'lp-cr'"
                   ).fetchone()["contract_terms"]))
    wallet, wallet_result = _background(
        f"{server.base}/orders/lp-cr?h_contract={h_contract}&refund=KUDOS:1&timeout_ms=30000")
    merchant, merchant_result = _background(
        f"{server.base}/private/orders/lp-cr?lp_not_etag={etag}&timeout_ms=30000",
        headers=admin)
    time.sleep(0.5)
    assert wallet.is_alive() and merchant.is_alive()
    resp = server.post("/private/orders/lp-cr/refund", headers=admin,
                       json={"refund": "KUDOS:1", "reason": "broken"})
    assert resp.status_code == 200, resp.text
    refunded = time.monotonic()
    wallet.join(10)
    merchant.join(10)
    assert wallet_result["resp"].status_code == 200
    assert wallet_result["resp"].json()["refund_amount"] == "KUDOS:1"
    assert merchant_result["resp"].json()["refunded"] is True
    assert max(wallet_result["done"], merchant_result["done"]) - refunded < 1.0


def test_list_wakes_on_a_new_matching_order(server, admin):
    _order(server, admin, "lp-first")
    row = server.get("/private/orders", headers=admin).json()["orders"][0]["row_id"]
    thread, result = _background(
        f"{server.base}/private/orders?limit=10&offset={row}&timeout_ms=30000", headers=admin)
    time.sleep(0.5)
    assert thread.is_alive()
    _order(server, admin, "lp-second")
    created = time.monotonic()
    thread.join(10)
    assert [o["order_id"] for o in result["resp"].json()["orders"]] == ["lp-second"]
    assert result["done"] - created < 1.0


def test_200_waiters_hold_no_thread_and_no_connection(server, admin, db):
    """200 long polls wait at once: locks and other requests are still answered,
    no connection is opened per waiter, one of them wakes on its payment, and a
    stop does not wait for the others' timeouts."""
    resp = server.post("/private/products", headers=admin, json={
        "product_id": "p", "description": "p", "unit": "piece",
        "unit_price": ["KUDOS:1"], "total_stock": 1000})
    assert resp.status_code == 204, resp.text
    ids = [f"lp-{i}" for i in range(WAITERS)]
    for order_id in ids:
        _order(server, admin, order_id)
    # Other servers of the test run may share the database: compare before and after.
    before, listeners = _pooled(db), _listeners(db)
    assert listeners >= 2  # one per worker of this server at least
    waiters = [_background(f"{server.base}/private/orders/{order_id}?timeout_ms=60000",
                           headers=admin) for order_id in ids]
    time.sleep(3)
    assert all(t.is_alive() for t, _ in waiters), "a long poll answered early"
    # The pool stays usable: 16 request threads, 200 waiting requests.
    timings = []
    with requests.Session() as s:
        for i in range(40):
            started = time.monotonic()
            resp = s.post(f"{server.base}/private/products/p/lock", headers=admin, timeout=10,
                          json={"lock_uuid": f"cart-{i}", "quantity": 1,
                                "duration": {"d_us": 60 * US_PER_S}})
            timings.append(time.monotonic() - started)
            assert resp.status_code == 204, resp.text
        assert s.get(f"{server.base}/private/orders?limit=-5", headers=admin,
                     timeout=10).status_code == 200
    assert sorted(timings)[len(timings) // 2] < 0.5, timings
    assert db.execute("SELECT count(*) AS n FROM holds WHERE lock_uuid IS NOT NULL"
                      ).fetchone()["n"] == 40
    # No listening connection and no pooled one per waiter (the pools may grow to
    # their bound, 2 x POOL_MAX_SIZE, while the 200 requests first read).
    assert _listeners(db) == listeners
    assert _pooled(db) <= before + 2 * 8
    assert all(t.is_alive() for t, _ in waiters)
    # One wakes on its payment, the others wait on.
    paid = time.monotonic()
    assert server.post("/private/orders/lp-7/paid", headers=admin).status_code == 204
    waiters[7][0].join(10)
    assert waiters[7][1]["resp"].json()["order_status"] == "paid"
    assert waiters[7][1]["done"] - paid < 1.0
    assert sum(t.is_alive() for t, _ in waiters) == WAITERS - 1
    # A stop answers the parked requests at once (their status now), then exits.
    stopping = time.monotonic()
    assert server.stop() == 0
    assert time.monotonic() - stopping < 8
    for thread, _ in waiters:
        thread.join(10)
    answered = [r for _, r in waiters if "resp" in r]
    assert len(answered) == WAITERS
    assert {r["resp"].status_code for r in answered} == {200}
    assert sum(r["resp"].json()["order_status"] == "unpaid" for r in answered) == WAITERS - 1
