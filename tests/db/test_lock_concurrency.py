"""Guarantee 1 under real concurrency: threads locking through the app, real PostgreSQL.

Each thread has its own Flask test client; the app's connection pool and the
database are shared, exactly as in the server.
"""
import random
import threading
import time
from collections import Counter
from decimal import Decimal

import psycopg

from taler_inventory.timeutil import now_us

from .. import factories as f
from ..support.threads import run_threads


def test_fifty_clients_twenty_units(app, admin_headers, db):
    f.create_product(app.test_client(), admin_headers, "hot", total_stock=20)

    def lock_one(i):
        resp = f.lock(app.test_client(), admin_headers, "hot", f"cart-{i}")
        return resp.status_code, resp.get_json()

    results = run_threads(lock_one, 50)
    statuses = Counter(status for status, _ in results)
    assert statuses == {204: 20, 410: 30}, results
    for status, body in results:
        if status == 410:
            assert body["code"] == 2670 and body["available_quantity"] == 0
    row = db.execute("""SELECT p.reserved, count(h.*) AS n, sum(h.quantity) AS held
                          FROM products p LEFT JOIN holds h USING (product_serial)
                         WHERE p.product_id = 'hot' GROUP BY p.reserved""").fetchone()
    assert (row["reserved"], row["n"], row["held"]) == (20, 20, 20)
    detail = f.product(app.test_client(), admin_headers, "hot")
    assert (detail["unit_total_locked"], detail["unit_total_available"]) == ("20", "0")


def test_cap_holds_under_concurrency(app, admin_headers, db):
    """New locks on different products of a capped instance: exactly the cap succeeds."""
    client = app.test_client()
    headers = f.instance_headers(client, admin_headers, "shop1", max_active_locks=5)
    for i in range(20):
        f.create_product(client, headers, f"p{i}", instance="shop1")

    def lock_one(i):
        return f.lock(app.test_client(), headers, f"p{i}", f"cart-{i}",
                      instance="shop1").status_code

    assert Counter(run_threads(lock_one, 20)) == {204: 5, 429: 15}
    row = db.execute("""SELECT active_locks, (SELECT count(*) FROM holds) AS n
                          FROM instances WHERE instance_id = 'shop1'""").fetchone()
    assert (row["active_locks"], row["n"]) == (5, 5)


STOCK = {"p1": (Decimal(10), Decimal(0)), "p2": (Decimal(7), Decimal(2)),
         "p3": (Decimal("4.5"), Decimal(0))}

SAMPLE = """
SELECT p.product_id, p.total_stock, p.total_sold, p.total_lost, p.reserved,
       COALESCE(sum(h.quantity), 0) AS held,
       COALESCE(sum(h.quantity) FILTER (WHERE h.expiration > %s), 0) AS live
  FROM products p LEFT JOIN holds h USING (product_serial)
 GROUP BY p.product_serial
"""


def test_mixed_storm_never_oversells(app, admin_headers, database_url):
    client = app.test_client()
    for pid, (stock, lost) in STOCK.items():
        f.create_product(client, admin_headers, pid, unit_total_stock=str(stock),
                         unit_total_lost=str(lost), unit_allow_fraction=True,
                         unit_precision_level=1)
    products = list(STOCK)
    carts = [f"cart-{i}" for i in range(12)]
    stop = threading.Event()
    violations = []
    samples = []

    def sampler():
        with psycopg.connect(database_url, autocommit=True,
                             row_factory=psycopg.rows.dict_row) as conn:
            conn.execute("SET search_path TO inventory")
            while not stop.is_set():
                # One statement, one snapshot: every transaction is wholly in or out.
                for r in conn.execute(SAMPLE, (now_us(),)):
                    free = r["total_stock"] - r["total_sold"] - r["total_lost"]
                    if r["live"] > free:
                        violations.append(("oversold", dict(r)))
                    if r["reserved"] != r["held"]:
                        violations.append(("counter", dict(r)))
                samples.append(1)
                time.sleep(0.005)

    def worker(i):
        rng = random.Random(i)
        c = app.test_client()
        seen = Counter()
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            op = rng.random()
            cart = rng.choice(carts)
            if op < 0.1:
                resp = c.delete(f"/private/locks/{cart}", headers=admin_headers)
                assert resp.status_code in (204, 404), resp.get_json()
            else:
                pid = rng.choice(products)
                quantity = "0" if op < 0.25 else str(Decimal(rng.randint(1, 30)) / 10)
                # Short durations: locks expire during the storm and get reclaimed.
                resp = c.post(f"/private/products/{pid}/lock", headers=admin_headers, json={
                    "lock_uuid": cart, "unit_quantity": quantity,
                    "duration": {"d_us": rng.randint(50_000, 1_500_000)}})
                assert resp.status_code in (204, 410), resp.get_json()
            seen[resp.status_code] += 1
        return seen

    sampling = threading.Thread(target=sampler)
    sampling.start()
    try:
        results = run_threads(worker, 6)
    finally:
        stop.set()
        sampling.join(timeout=30)

    totals = sum(results, Counter())
    assert totals[204] > 100 and totals[410] > 0, totals
    assert len(samples) > 20
    assert not violations, violations[:5]
    with psycopg.connect(database_url, row_factory=psycopg.rows.dict_row) as conn:
        conn.execute("SET search_path TO inventory")
        for r in conn.execute(SAMPLE, (now_us(),)):
            assert r["reserved"] == r["held"], r
            assert r["total_sold"] + r["reserved"] <= r["total_stock"], r
