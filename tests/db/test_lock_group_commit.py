"""Group commit of lock requests: real threads, real PostgreSQL, one app (one process).

While a lock call for a product is in flight (held up here by a row lock the test
takes on the product), the requests that arrive for the same product queue up and
then go to the database together.  Each must get exactly the answer it gets when
the same requests come one after the other.
"""
import threading

import psycopg

from taler_inventory.api.locks import lock_batches
from taler_inventory.timeutil import US_PER_S

from .. import factories as f
from ..support.clock import frozen_clock
from ..support.threads import run_threads
from ..support.waiting import until

# (cart, quantity, seconds, token): the first one is the call in flight, the
# others queue behind it in this order.  cart-1 comes twice, so its second
# request waits for the next batch, and everything after it with it.
REQUESTS = [
    ("cart-0", 1, 60, "good"),
    ("cart-1", 2, 60, "good"),     # fits: 3 of 5 reserved
    ("cart-2", 3, 60, "good"),     # does not fit: 410, 2 available, next expiry +60 s
    ("cart-3", "1.5", 60, "good"),  # a fraction of an integer product: 400
    ("cart-4", 1, 60, "bad"),      # a wrong token: 401
    ("cart-0", 0, 60, "good"),     # cart-0 releases its lock (the call before): 2 reserved
    ("cart-5", 2, 30, "good"),     # fits: 4
    ("cart-6", 1, 90, "good"),     # fits: 5, and the third lock of the instance (the cap)
    ("cart-7", 1, 60, "good"),     # does not fit: 410, 0 available, next expiry +30 s
    ("cart-1", 1, 60, "good"),     # cart-1 again (next batch): shrinks to 1, 4 reserved
    ("cart-8", 1, 60, "good"),     # fits the stock but not the cap: 429
    ("cart-9", 0, 60, "good"),     # releases nothing: 204
    ("cart-10", 5, 60, "good"),    # out of stock and over the cap: 410 (stock first)
]
EXPECTED = [204, 204, 410, 400, 401, 204, 204, 204, 410, 204, 429, 204, 410]


def _body(cart, quantity, seconds):
    return {"lock_uuid": cart, "duration": {"d_us": seconds * US_PER_S},
            "unit_quantity": str(quantity)}


def _post(app, instance, headers, request):
    cart, quantity, seconds, token = request
    resp = app.test_client().post(f"/instances/{instance}/private/products/hot/lock",
                                  json=_body(cart, quantity, seconds),
                                  headers=headers[token])
    return resp.status_code, resp.get_json()


def _shop(client, admin_headers, name):
    headers = f.instance_headers(client, admin_headers, name, max_active_locks=3)
    f.create_product(client, headers, "hot", instance=name, total_stock=5)
    return {"good": headers, "bad": {"Authorization": "Bearer secret-token:" + "A" * 52}}


def _lock_waiters(database_url) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                            " AND datname = current_database()").fetchone()[0]


def _queue_behind_a_held_row(database_url, batches, instance_id, count, post):
    """Run ``post(i)`` for i < ``count`` in threads while the instance's product row is
    held: the first call waits on the row, each next one queues behind it in order;
    then let the row go and wait for every thread."""
    threads = []
    with psycopg.connect(database_url) as blocker:
        blocker.execute("""SELECT 1 FROM inventory.products p
                             JOIN inventory.instances i USING (instance_serial)
                            WHERE i.instance_id = %s AND p.product_id = 'hot'
                              FOR NO KEY UPDATE""", (instance_id,))
        for i in range(count):
            threads.append(threading.Thread(target=post, args=(i,)))
            threads[-1].start()
            if i == 0:
                until(lambda: _lock_waiters(database_url) == 1, "the first call waits",
                      step=0.01)
            else:
                until(lambda i=i: batches.waiting() == i, f"request {i} queued", step=0.01)
        blocker.rollback()
    for t in threads:
        t.join(30)


def test_a_batch_answers_each_request_as_if_it_came_alone(app, admin_headers, db, database_url):
    client = app.test_client()
    batched = _shop(client, admin_headers, "shop-a")
    alone = _shop(client, admin_headers, "shop-b")
    batches = lock_batches_of(app)
    sizes_before = dict(batches.batch_sizes)
    results = [None] * len(REQUESTS)

    def post(i):
        results[i] = _post(app, "shop-a", batched, REQUESTS[i])

    with frozen_clock():
        counted = [_lock_counts(client)]
        _queue_behind_a_held_row(database_url, batches, "shop-a", len(REQUESTS), post)
        sizes = {size: count - sizes_before.get(size, 0)
                 for size, count in batches.batch_sizes.items()
                 if count != sizes_before.get(size, 0)}
        counted.append(_lock_counts(client))
        one_by_one = [_post(app, "shop-b", alone, request) for request in REQUESTS]
        counted.append(_lock_counts(client))

    assert [status for status, _ in results] == EXPECTED, results
    assert results == one_by_one
    assert sizes == {1: 1, 8: 1, 4: 1}  # the call in flight, then two batches
    # The metrics too: cart-1's second request replaces its lock, in a batch as alone.
    deltas = [{o: after[o] - before[o] for o in after}
              for before, after in zip(counted, counted[1:], strict=False)]
    assert deltas == [{"taken": 4, "replaced": 1, "released": 2, "expired": 0}] * 2
    assert results[2][1]["unit_available_quantity"] == "2"
    assert results[8][1]["unit_available_quantity"] == "0"
    for shop in ("shop-a", "shop-b"):
        row = db.execute(
            """SELECT p.reserved, i.active_locks,
                      (SELECT array_agg(h.lock_uuid || ':' || h.quantity::int ORDER BY h.lock_uuid)
                         FROM inventory.holds h WHERE h.product_serial = p.product_serial) AS held
                 FROM inventory.products p JOIN inventory.instances i USING (instance_serial)
                WHERE i.instance_id = %s""", (shop,)).fetchone()
        assert (row["reserved"], row["active_locks"], row["held"]) == (
            4, 3, ["cart-1:1", "cart-5:2", "cart-6:1"])


def test_a_failing_batch_reruns_each_request_alone(app, admin_headers, db, database_url):
    """Should the call of a batch raise (say, one request holds a value the database
    refuses), its requests are run again one by one: only a bad one fails."""
    client = app.test_client()
    headers = _shop(client, admin_headers, "shop-c")
    batches = lock_batches_of(app)
    calls = []
    real_run = batches._run

    def run(key, requests):
        calls.append(len(requests))
        if len(requests) > 1:
            raise RuntimeError("a batch that breaks")
        return real_run(key, requests)

    batches._run = run
    try:
        results = [None] * 3

        def post(i):
            results[i] = _post(app, "shop-c", headers, (f"c{i}", 1, 60, "good"))

        _queue_behind_a_held_row(database_url, batches, "shop-c", 3, post)
    finally:
        batches._run = real_run
    assert [status for status, _ in results] == [204, 204, 204]
    assert calls == [1, 2, 1, 1]
    assert db.execute("SELECT reserved FROM inventory.products p JOIN inventory.instances i"
                      " USING (instance_serial) WHERE i.instance_id = 'shop-c'"
                      ).fetchone()["reserved"] == 3


def test_locks_on_an_unknown_product_answer_404_each(app, admin_headers):
    def post(i):
        resp = app.test_client().post("/private/products/nope/lock", headers=admin_headers,
                                      json=_body(f"cart-{i}", 1, 60))
        return resp.status_code, resp.get_json()["code"]

    results = run_threads(post, 16)
    assert results == [(404, 2006)] * 16


def _lock_counts(client) -> dict:
    from ..api.test_get_metrics import scrape, value
    samples = scrape(client)
    return {o: value(samples, "taler_inventory_locks_total", outcome=o)
            for o in ("taken", "replaced", "released", "expired")}


def lock_batches_of(app):
    with app.app_context():
        return lock_batches()
