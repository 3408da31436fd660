"""End to end: stock locks through the real server (several worker processes, each
with its own connection pool) never oversell."""
import random
import threading
import time
from collections import Counter

import pytest
import requests

from taler_inventory.backenddb import maintenance
from taler_inventory.timeutil import US_PER_S, now_us

from tests import factories

from .test_serve import Server, _token

pytestmark = pytest.mark.e2e


def _threads(target, count):
    barrier = threading.Barrier(count)
    results, errors = [None] * count, []

    def run(i):
        try:
            barrier.wait(30)
            results[i] = target(i)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    return results


def test_lock_storm_over_http(database_url, db):
    server = Server({"TALER_INVENTORY_DATABASE_URL": database_url,
                     "TALER_INVENTORY_ADMIN_PASSWORD": factories.ADMIN_PASSWORD})
    try:
        server.wait_ready()
        admin = _token(server, "admin", factories.ADMIN_PASSWORD)
        for pid, stock in (("hot", 20), ("a", 6), ("b", 3)):
            resp = server.post("/private/products", headers=admin, json={
                "product_id": pid, "description": pid, "unit": "piece",
                "unit_price": ["KUDOS:1"], "total_stock": stock})
            assert resp.status_code == 204, resp.text

        # 40 buyers at once for 20 units.
        def buy(i):
            with requests.Session() as s:
                resp = s.post(f"{server.base}/private/products/hot/lock", headers=admin,
                              timeout=30, json={"lock_uuid": f"buyer-{i}",
                                                "duration": {"d_us": 600 * US_PER_S}})
                return resp.status_code

        assert Counter(_threads(buy, 40)) == {204: 20, 410: 20}
        row = db.execute("SELECT reserved, (SELECT count(*) FROM holds) AS n FROM products"
                         " WHERE product_id = 'hot'").fetchone()
        assert (row["reserved"], row["n"]) == (20, 20)

        # Then a short storm of locks, re-locks and releases on the small products.
        def storm(i):
            rng = random.Random(i)
            seen = Counter()
            with requests.Session() as s:
                deadline = time.monotonic() + 3
                while time.monotonic() < deadline:
                    cart = f"cart-{rng.randrange(8)}"
                    if rng.random() < 0.1:
                        resp = s.delete(f"{server.base}/private/locks/{cart}", headers=admin,
                                        timeout=30)
                    else:
                        resp = s.post(
                            f"{server.base}/private/products/{rng.choice('ab')}/lock",
                            headers=admin, timeout=30,
                            json={"lock_uuid": cart, "quantity": rng.randrange(4),
                                  "duration": {"d_us": rng.randint(100_000, 2 * US_PER_S)}})
                    seen[resp.status_code] += 1
            return seen

        totals = sum(_threads(storm, 4), Counter())
        assert set(totals) <= {204, 404, 410}, totals
        assert totals[204] > 50, totals
        result = maintenance.check(database_url, now_us())
        assert result.violations == [] and result.warnings == [], result
        assert server.stop() == 0
    finally:
        server.kill()
