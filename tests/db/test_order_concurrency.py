"""Hand-overs under real concurrency: threads checking out overlapping carts.

Each thread has its own Flask test client; the app's pool and PostgreSQL are
shared as in the server.  Carts list their products in different orders and
orders name their lines in other orders still: the products are row-locked in
one fixed order, so no request may fail with a deadlock and nothing is ever
oversold.  The app under test does not retry a transaction that hit a deadlock:
one would surface as a 500 instead of being hidden by the retry.
"""
import random
import threading
import time
from collections import Counter

import pytest

from taler_inventory import create_app
from taler_inventory.backenddb import maintenance
from taler_inventory.db import get_db
from taler_inventory.timeutil import now_us

from .. import factories as f
from ..conftest import TEST_SETTINGS
from ..support.threads import run_threads

PRODUCTS = [f"p{i}" for i in range(6)]
STOCK = 12


@pytest.fixture(scope="module")
def strict_app(database_url):
    """The app with a single attempt per transaction: a deadlock would be a 500."""
    app = create_app(dict(TEST_SETTINGS, DATABASE_URL=database_url, TX_RETRIES=1))
    app.testing = True
    yield app
    get_db(app).close()


def assert_consistent(db, database_url):
    """Counters exact, nothing oversold, and ``taler-inventory check`` agrees."""
    rows = db.execute(
        """SELECT p.product_id, p.total_stock, p.total_sold, p.reserved,
                  COALESCE(sum(h.quantity), 0) AS held
             FROM products p LEFT JOIN holds h USING (product_serial)
            GROUP BY p.product_serial""").fetchall()
    for r in rows:
        assert r["reserved"] == r["held"], r
        assert r["total_sold"] + r["reserved"] <= r["total_stock"], r
    result = maintenance.check(database_url, now_us())
    assert result.violations == [], result.violations


def test_overlapping_multi_product_checkouts(strict_app, admin_headers, db, database_url):
    app = strict_app
    client = app.test_client()
    for pid in PRODUCTS:
        f.create_product(client, admin_headers, pid, total_stock=STOCK)
    carts = 24

    def fill_cart(i):
        rng = random.Random(i)
        c = app.test_client()
        held = {}
        for pid in rng.sample(PRODUCTS, 3):  # each cart locks in its own order
            qty = rng.randint(1, 3)
            if f.lock(c, admin_headers, pid, f"cart-{i}", seconds=600,
                      quantity=qty).status_code == 204:
                held[pid] = qty
        return held

    held = run_threads(fill_cart, carts)

    def checkout(i):
        rng = random.Random(1000 + i)
        lines = [(pid, qty + rng.choice((-1, 0, 0, 1, 2))) for pid, qty in held[i].items()]
        lines = [(pid, qty) for pid, qty in lines if qty > 0]
        rng.shuffle(lines)
        if rng.random() < 0.3:  # sometimes an extra product from free stock
            lines.append((rng.choice(PRODUCTS), 1))
        uuids = [f"cart-{i}"]
        if i % 5 == 0:  # sometimes two carts merged at checkout
            uuids.append(f"cart-{(i + 1) % carts}")
        resp = f.post_order(app.test_client(), admin_headers, lines or [("p0", 1)], uuids,
                            order_id=f"order-{i}")
        return resp.status_code, resp.get_json(), uuids

    results = run_threads(checkout, carts)
    statuses = Counter(status for status, _, _ in results)
    assert set(statuses) <= {200, 410}, results
    assert statuses[200] > 0, results
    for status, body, uuids in results:
        if status == 410:
            assert body["code"] == 2670
        else:
            # A successful order took its carts over completely.
            left = db.execute("SELECT count(*) AS n FROM holds WHERE lock_uuid = ANY(%s)",
                              (uuids,)).fetchone()["n"]
            assert left == 0, (body, uuids)
    # Exactly the successful orders hold stock, each what it ordered.
    ordered = db.execute(
        """SELECT o.order_id, l.product_id, sum(l.quantity) AS q
             FROM orders o JOIN order_lines l USING (order_serial)
            GROUP BY o.order_id, l.product_id""").fetchall()
    holds = {(r["order_id"], r["product_id"]): r["quantity"] for r in db.execute(
        """SELECT o.order_id, p.product_id, h.quantity
             FROM holds h JOIN orders o USING (order_serial) JOIN products p
               ON p.product_serial = h.product_serial""")}
    assert {(r["order_id"], r["product_id"]): r["q"] for r in ordered} == holds
    assert len({r["order_id"] for r in ordered}) == statuses[200]
    assert_consistent(db, database_url)


def test_more_demand_than_stock(strict_app, admin_headers, db, database_url):
    app = strict_app
    client = app.test_client()
    f.create_product(client, admin_headers, "hot", total_stock=20)
    f.create_product(client, admin_headers, "cold", total_stock=1000)

    def buy(i):
        lines = [("hot", 1), ("cold", 1)]
        if i % 2:
            lines.reverse()
        return f.post_order(app.test_client(), admin_headers, lines).status_code

    assert Counter(run_threads(buy, 40)) == {200: 20, 410: 20}
    hot = f.product(client, admin_headers, "hot")
    cold = f.product(client, admin_headers, "cold")
    assert (hot["unit_total_locked"], hot["unit_total_available"]) == ("20", "0")
    assert cold["unit_total_locked"] == "20"
    assert_consistent(db, database_url)


def test_storm_of_locks_checkouts_payments_and_deletes(strict_app, admin_headers, db,
                                                      database_url):
    app = strict_app
    client = app.test_client()
    for pid in PRODUCTS[:4]:
        f.create_product(client, admin_headers, pid, total_stock=8)
    seen = Counter()
    lock = threading.Lock()

    def worker(i):
        rng = random.Random(i)
        c = app.test_client()
        mine = []
        deadline = time.monotonic() + 3.0
        n = 0
        while time.monotonic() < deadline:
            n += 1
            op = rng.random()
            cart = f"cart-{i}-{n // 4}"
            if op < 0.45:
                resp = f.lock(c, admin_headers, rng.choice(PRODUCTS[:4]), cart,
                              seconds=rng.choice((1, 600)), quantity=rng.randint(1, 3))
                expected = (204, 410)
            elif op < 0.75:
                lines = [(pid, rng.randint(1, 2)) for pid in rng.sample(PRODUCTS[:4], 2)]
                resp = f.post_order(c, admin_headers, lines, [cart, f"cart-{i}-{n // 4 - 1}"],
                                    order_id=f"o-{i}-{n}")
                expected = (200, 410)
                if resp.status_code == 200:
                    mine.append(f"o-{i}-{n}")
            elif op < 0.9 and mine:
                resp = c.post(f"/private/orders/{rng.choice(mine)}/paid", headers=admin_headers)
                expected = (204,)
            elif mine:
                order_id = mine.pop(rng.randrange(len(mine)))
                resp = c.delete(f"/private/orders/{order_id}", headers=admin_headers)
                expected = (204, 409)
            else:
                continue
            assert resp.status_code in expected, (resp.status_code, resp.get_json())
            with lock:
                seen[resp.status_code] += 1

    run_threads(worker, 6)
    assert seen[200] > 0 and seen[204] > 0, seen
    assert_consistent(db, database_url)
