"""Long polling without the HTTP bridge (the Flask test client, any WSGI server): the
request thread waits for the order's notification, holding no database connection.

The same behaviour through the real server (parked requests) is in
tests/e2e/test_long_polling.py."""
import threading
import time

import pytest

from taler_inventory import longpoll, talercrypto

from .. import factories as f
from ..checks import assert_error


def _nonce(n: int) -> str:
    return talercrypto.encode(bytes([n]) * 32)


def _background(app, method, path, **kwargs):
    """Send a request on a thread of its own; returns (thread, result dict)."""
    result = {}

    def run():
        client = app.test_client()
        started = time.monotonic()
        resp = getattr(client, method)(path, **kwargs)
        result.update(resp=resp, seconds=time.monotonic() - started)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def _waiting(app, count=1, timeout=5.0):
    """Wait until ``count`` requests wait on the hub."""
    hub = longpoll.get_hub(app)
    deadline = time.monotonic() + timeout
    while hub.waiting() < count:
        assert time.monotonic() < deadline, f"{hub.waiting()} waiting, not {count}"
        time.sleep(0.01)


def test_wakes_on_payment(app, client, h, db):
    order_id = f.create_order(client, h, amount="KUDOS:3", order_id="lp-1")
    thread, result = _background(app, "get", f"/private/orders/{order_id}?timeout_ms=10000",
                                 headers=h)
    _waiting(app)
    paid_at = time.monotonic()
    assert client.post(f"/private/orders/{order_id}/paid", headers=h).status_code == 204
    thread.join(10)
    assert result["resp"].status_code == 200
    assert result["resp"].get_json()["order_status"] == "paid"
    assert time.monotonic() - paid_at < 1.0
    assert longpoll.get_hub(app).waiting() == 0
    # No database connection was held while waiting: only the pool's own.
    assert db.execute("SELECT paid FROM orders WHERE order_id = 'lp-1'").fetchone()["paid"]


def test_times_out_with_the_unchanged_status(app, client, h):
    order_id = f.create_order(client, h, amount="KUDOS:3")
    started = time.monotonic()
    resp = client.get(f"/private/orders/{order_id}?timeout_ms=300", headers=h)
    assert resp.status_code == 200
    assert resp.get_json()["order_status"] == "unpaid"
    assert 0.3 <= time.monotonic() - started < 3
    assert longpoll.get_hub(app).waiting() == 0


def test_no_timeout_answers_at_once(client, h):
    order_id = f.create_order(client, h, amount="KUDOS:3")
    started = time.monotonic()
    resp = client.get(f"/private/orders/{order_id}", headers=h)
    assert resp.status_code == 200 and resp.get_json()["order_status"] == "unpaid"
    assert time.monotonic() - started < 1


def test_paid_order_answers_at_once(client, h):
    order_id = f.create_order(client, h, amount="KUDOS:3")
    assert client.post(f"/private/orders/{order_id}/paid", headers=h).status_code == 204
    started = time.monotonic()
    resp = client.get(f"/private/orders/{order_id}?timeout_ms=5000", headers=h)
    assert resp.get_json()["order_status"] == "paid"
    assert time.monotonic() - started < 1


def test_wakes_on_claim(app, client, h):
    resp = f.post_order(client, h, amount="KUDOS:3", order_id="lp-claim")
    token = resp.get_json()["token"]
    thread, result = _background(app, "get", "/private/orders/lp-claim?timeout_ms=10000",
                                 headers=h)
    _waiting(app)
    resp = client.post("/orders/lp-claim/claim", json={"nonce": _nonce(1), "token": token})
    assert resp.status_code == 200, resp.get_json()
    thread.join(10)
    assert result["resp"].get_json()["order_status"] == "claimed"
    assert result["seconds"] < 5


def test_claimed_order_waits_for_payment(app, client, h):
    resp = f.post_order(client, h, amount="KUDOS:3", order_id="lp-c2")
    token = resp.get_json()["token"]
    assert client.post("/orders/lp-c2/claim",
                       json={"nonce": _nonce(2), "token": token}).status_code == 200
    thread, result = _background(app, "get", "/private/orders/lp-c2?timeout_ms=10000",
                                 headers=h)
    _waiting(app)
    assert client.post("/private/orders/lp-c2/paid", headers=h).status_code == 204
    thread.join(10)
    assert result["resp"].get_json()["order_status"] == "paid"


def test_etag_long_poll_wakes_on_refund(app, client, h):
    order_id = f.create_order(client, h, amount="KUDOS:3", order_id="lp-r",
                              refund_deadline={"t_s": 4_000_000_000},
                              wire_transfer_deadline={"t_s": 4_000_000_000})
    assert client.post(f"/private/orders/{order_id}/paid", headers=h).status_code == 204
    resp = client.get(f"/private/orders/{order_id}", headers=h)
    etag = resp.headers["ETag"]
    assert etag.startswith('"') and resp.get_json()["refunded"] is False
    # The same ETag: 304 without a body.
    resp = client.get(f"/private/orders/{order_id}", headers={**h, "If-None-Match": etag})
    assert resp.status_code == 304 and resp.data == b""
    thread, result = _background(
        app, "get", f"/private/orders/{order_id}?timeout_ms=10000&lp_not_etag={etag[1:-1]}",
        headers=h)
    _waiting(app)
    resp = client.post(f"/private/orders/{order_id}/refund", headers=h,
                       json={"refund": "KUDOS:1", "reason": "broken"})
    assert resp.status_code == 200, resp.get_json()
    thread.join(10)
    body = result["resp"].get_json()
    assert body["refunded"] is True and body["refund_amount"] == "KUDOS:1"
    assert result["resp"].headers["ETag"] != etag


def test_list_wakes_on_a_new_matching_order(app, client, h):
    first = f.create_order(client, h, amount="KUDOS:1")
    row = client.get("/private/orders?limit=1", headers=h).get_json()["orders"][0]["row_id"]
    thread, result = _background(
        app, "get", f"/private/orders?limit=5&offset={row}&paid=yes&timeout_ms=10000",
        headers=h)
    _waiting(app)
    # A new unpaid order does not match paid=yes: the request waits on.
    second = f.create_order(client, h, amount="KUDOS:2")
    time.sleep(0.3)
    assert thread.is_alive()
    assert client.post(f"/private/orders/{second}/paid", headers=h).status_code == 204
    thread.join(10)
    orders = result["resp"].get_json()["orders"]
    assert [o["order_id"] for o in orders] == [second] and first != second


def test_list_times_out_empty(client, h):
    started = time.monotonic()
    resp = client.get("/private/orders?limit=5&offset=1000&timeout_ms=200", headers=h)
    assert resp.status_code == 200 and resp.get_json() == {"orders": []}
    assert 0.2 <= time.monotonic() - started < 3


def test_list_backwards_does_not_wait(client, h):
    started = time.monotonic()
    resp = client.get("/private/orders?timeout_ms=5000", headers=h)
    assert resp.get_json() == {"orders": []}
    assert time.monotonic() - started < 1


def test_public_status_wakes_on_payment(app, client, h):
    """A shop's page polling with the claim token is sent to the fulfillment URL."""
    resp = f.post_order(client, h, amount="KUDOS:3", order_id="lp-pub",
                        fulfillment_url="https://shop.example/done")
    token = resp.get_json()["token"]
    thread, result = _background(app, "get", f"/orders/lp-pub?token={token}&timeout_ms=10000")
    _waiting(app)
    assert client.post("/private/orders/lp-pub/paid", headers=h).status_code == 204
    thread.join(10)
    assert result["resp"].status_code == 202
    assert result["resp"].get_json() == {"public_reorder_url": "https://shop.example/done"}
    assert result["seconds"] < 5
    # A browser is redirected.
    resp = client.get("/orders/lp-pub?token=wrong", headers={"Accept": "text/html"})
    assert resp.status_code == 302 and resp.headers["Location"] == "https://shop.example/done"


def test_public_status_of_a_claimed_order_wakes_on_payment(app, client, h):
    """A wallet polls with the contract hash after its claim."""
    from taler_inventory import contract
    resp = f.post_order(client, h, amount="KUDOS:3", order_id="lp-w")
    token = resp.get_json()["token"]
    resp = client.post("/orders/lp-w/claim", json={"nonce": _nonce(3), "token": token})
    h_contract = talercrypto.encode(contract.contract_hash(resp.get_json()["contract_terms"]))
    thread, result = _background(app, "get",
                                 f"/orders/lp-w?h_contract={h_contract}&timeout_ms=10000")
    _waiting(app)
    assert client.post("/private/orders/lp-w/paid", headers=h).status_code == 204
    thread.join(10)
    assert result["resp"].status_code == 200
    assert result["resp"].get_json()["refunded"] is False


def test_public_status_waits_for_the_refund_asked(app, client, h, db):
    from taler_inventory import contract, talercrypto
    order_id = f.create_order(client, h, amount="KUDOS:3", order_id="lp-pr",
                              refund_deadline={"t_s": 4_000_000_000},
                              wire_transfer_deadline={"t_s": 4_000_000_000})
    assert client.post(f"/private/orders/{order_id}/paid", headers=h).status_code == 204
    terms = db.execute("SELECT contract_terms FROM orders WHERE order_id = 'lp-pr'"
                       ).fetchone()["contract_terms"]
    h_contract = talercrypto.encode(contract.contract_hash(terms))
    path = f"/orders/lp-pr?h_contract={h_contract}&refund=KUDOS:2&timeout_ms=10000"
    thread, result = _background(app, "get", path)
    _waiting(app)
    for total in ("KUDOS:1", "KUDOS:2"):
        resp = client.post(f"/private/orders/{order_id}/refund", headers=h,
                           json={"refund": total, "reason": "late"})
        assert resp.status_code == 200
        time.sleep(0.2)
    thread.join(10)
    body = result["resp"].get_json()
    assert result["resp"].status_code == 200 and body["refund_amount"] == "KUDOS:2"
    # A refund amount in another currency is refused, naming the field.
    resp = client.get(f"/orders/lp-pr?h_contract={h_contract}&refund=EUR:1")
    assert assert_error(resp, 400, 26)["parameter"] == "refund"


def test_public_page_does_not_wait(client, h):
    resp = f.post_order(client, h, amount="KUDOS:3", order_id="lp-html")
    token = resp.get_json()["token"]
    started = time.monotonic()
    resp = client.get(f"/orders/lp-html?token={token}&timeout_ms=5000",
                      headers={"Accept": "text/html"})
    assert resp.status_code == 402 and resp.mimetype == "text/html"
    assert time.monotonic() - started < 1


@pytest.mark.parametrize("query, field", [
    ("timeout_ms=-1", "timeout_ms"), ("timeout_ms=abc", "timeout_ms"),
    ("allow_refunded_for_repurchase=maybe", "allow_refunded_for_repurchase")])
def test_bad_query_is_400(client, h, query, field):
    order_id = f.create_order(client, h, amount="KUDOS:3")
    resp = client.get(f"/private/orders/{order_id}?{query}", headers=h)
    assert assert_error(resp, 400, 26)["parameter"] == field


def test_the_longest_wait_is_cut(app, client, h, monkeypatch):
    monkeypatch.setitem(app.config["INVENTORY"], "LONG_POLL_MAX_TIMEOUT", 0.2)
    order_id = f.create_order(client, h, amount="KUDOS:3")
    started = time.monotonic()
    resp = client.get(f"/private/orders/{order_id}?timeout_ms=100000", headers=h)
    assert resp.get_json()["order_status"] == "unpaid"
    assert time.monotonic() - started < 3


def test_too_many_waiters_answer_at_once(app, client, h, monkeypatch):
    monkeypatch.setattr(longpoll.get_hub(app), "max_waiters", 0)
    order_id = f.create_order(client, h, amount="KUDOS:3")
    started = time.monotonic()
    resp = client.get(f"/private/orders/{order_id}?timeout_ms=5000", headers=h)
    assert resp.get_json()["order_status"] == "unpaid"
    assert time.monotonic() - started < 1


def test_a_lost_listener_connection_wakes_everyone(app, client, h, db):
    """A notification sent while the listener reconnects is lost: on reconnection
    every waiter reads again, so the payment is seen all the same."""
    hub = longpoll.get_hub(app)
    hub.start()
    assert hub.connected.wait(10)
    order_id = f.create_order(client, h, amount="KUDOS:3", order_id="lp-lost")
    thread, result = _background(app, "get", f"/private/orders/{order_id}?timeout_ms=20000",
                                 headers=h)
    _waiting(app)
    hub.connected.clear()
    killed = db.execute("SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity"
                        " WHERE application_name = 'taler-inventory-listener'"
                        "   AND datname = current_database()").fetchall()
    assert killed and all(r["ok"] for r in killed)
    assert client.post(f"/private/orders/{order_id}/paid", headers=h).status_code == 204
    thread.join(10)
    assert result["resp"].get_json()["order_status"] == "paid"
    assert result["seconds"] < 8
    assert hub.connected.wait(10)


def test_session_bound_payment_and_repurchase(client, h, db):
    """``session_id``: a paid order is paid in the session it was made for; another
    session sees 402, and an unpaid order for the same article points at the order
    already paid in the session (``already_paid_order_id``)."""
    from taler_inventory import contract
    url = "https://shop.example/article/7"
    resp = client.post("/private/orders", headers=h, json={
        "order": {"summary": "article 7", "amount": "KUDOS:1", "order_id": "s-1",
                  "fulfillment_url": url}, "session_id": "sess-A", "create_token": False})
    assert resp.status_code == 200, resp.get_json()
    assert client.post("/private/orders/s-1/paid", headers=h).status_code == 204
    terms = db.execute("SELECT contract_terms FROM orders WHERE order_id = 's-1'"
                       ).fetchone()["contract_terms"]
    hc = talercrypto.encode(contract.contract_hash(terms))
    assert client.get(f"/orders/s-1?h_contract={hc}&session_id=sess-A").status_code == 200
    assert client.get(f"/orders/s-1?h_contract={hc}").status_code == 200
    resp = client.get(f"/orders/s-1?h_contract={hc}&session_id=sess-B")
    assert resp.status_code == 402 and resp.get_json()["taler_pay_uri"]
    # The same article again, in session A: the wallet is told of s-1.
    resp = client.post("/private/orders", headers=h, json={
        "order": {"summary": "article 7", "amount": "KUDOS:1", "order_id": "s-2",
                  "fulfillment_url": url}, "create_token": False})
    assert resp.status_code == 200
    body = client.get("/orders/s-2?session_id=sess-A").get_json()
    assert body["already_paid_order_id"] == "s-1"
    assert body["already_paid_fulfillment_url"] == url
    assert "already_paid_order_id" not in client.get("/orders/s-2?session_id=sess-B").get_json()
    assert "already_paid_order_id" not in client.get("/orders/s-2").get_json()
    # A refunded purchase counts only with allow_refunded_for_repurchase=yes.
    db.execute("UPDATE orders SET contract_terms = contract_terms ||"
               " '{\"refund_deadline\": {\"t_s\": 4000000000}}' WHERE order_id = 's-1'")
    db.execute("UPDATE orders SET refunded_value = 0.5 WHERE order_id = 's-1'")
    assert "already_paid_order_id" not in client.get("/orders/s-2?session_id=sess-A").get_json()
    body = client.get("/orders/s-2?session_id=sess-A&allow_refunded_for_repurchase=yes"
                      ).get_json()
    assert body["already_paid_order_id"] == "s-1"


def test_no_credentials_go_to_the_public_reorder_url(client, h, db):
    """An order that needs a credential, asked for without any, sends the customer to
    its ``public_reorder_url`` (202 StatusGotoResponse, 302 for a browser), before
    and after a claim; without that URL it stays 403, and a wrong credential is 403."""
    resp = f.post_order(client, h, amount="KUDOS:3", order_id="re-1",
                        public_reorder_url="https://shop.example/again")
    token = resp.get_json()["token"]
    resp = client.get("/orders/re-1")
    assert resp.status_code == 202
    assert resp.get_json() == {"public_reorder_url": "https://shop.example/again"}
    resp = client.get("/orders/re-1", headers={"Accept": "text/html"})
    assert resp.status_code == 302 and resp.headers["Location"] == "https://shop.example/again"
    assert_error(client.get("/orders/re-1?token=wrong"), 403, 2105)
    assert client.get(f"/orders/re-1?token={token}").status_code == 402
    assert client.post("/orders/re-1/claim",
                       json={"nonce": _nonce(9), "token": token}).status_code == 200
    assert client.get("/orders/re-1").status_code == 202
    assert_error(client.get("/orders/re-1?h_contract=" + "A" * 103), 403, 2106)
    f.post_order(client, h, amount="KUDOS:3", order_id="re-2")
    assert_error(client.get("/orders/re-2"), 403, 2105)
    assert not db.execute("SELECT paid FROM orders WHERE order_id = 're-1'").fetchone()["paid"]
