"""End to end: stock locks through the real server (several worker processes, each
with its own connection pool) never oversell."""
import random
import time
from collections import Counter

import pytest
import requests

from taler_inventory import reclaimer
from taler_inventory.backenddb import maintenance
from taler_inventory.timeutil import US_PER_S, now_us

from tests import factories
from tests.support.threads import run_threads
from tests.support.waiting import until

from tests.support.server import Server, serve_env, token_headers

pytestmark = pytest.mark.e2e


def _env(database_url):
    return serve_env(database_url)


def _race_and_storm(servers, database_url, db):
    """40 buyers for 20 units, then a storm of locks, re-locks and releases, spread
    over ``servers`` (all on one database); guarantee 1 and every counter hold."""
    admin = token_headers(servers[0], "admin", factories.ADMIN_PASSWORD)
    for pid, stock in (("hot", 20), ("a", 6), ("b", 3)):
        resp = servers[0].post("/private/products", headers=admin, json={
            "product_id": pid, "description": pid, "unit": "piece",
            "unit_price": ["KUDOS:1"], "total_stock": stock})
        assert resp.status_code == 204, resp.text

    def buy(i):
        base = servers[i % len(servers)].base
        with requests.Session() as s:
            resp = s.post(f"{base}/private/products/hot/lock", headers=admin,
                          timeout=30, json={"lock_uuid": f"buyer-{i}",
                                            "duration": {"d_us": 600 * US_PER_S}})
            return resp.status_code

    assert Counter(run_threads(buy, 40)) == {204: 20, 410: 20}
    row = db.execute("SELECT reserved, (SELECT count(*) FROM holds) AS n FROM products"
                     " WHERE product_id = 'hot'").fetchone()
    assert (row["reserved"], row["n"]) == (20, 20)

    def storm(i):
        rng = random.Random(i)
        base = servers[i % len(servers)].base
        seen = Counter()
        with requests.Session() as s:
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                cart = f"cart-{rng.randrange(8)}"
                if rng.random() < 0.1:
                    resp = s.delete(f"{base}/private/locks/{cart}", headers=admin, timeout=30)
                else:
                    resp = s.post(
                        f"{base}/private/products/{rng.choice('ab')}/lock",
                        headers=admin, timeout=30,
                        json={"lock_uuid": cart, "quantity": rng.randrange(4),
                              "duration": {"d_us": rng.randint(100_000, 2 * US_PER_S)}})
                seen[resp.status_code] += 1
        return seen

    totals = sum(run_threads(storm, 4 * len(servers)), Counter())
    assert set(totals) <= {204, 404, 410}, totals
    assert totals[204] > 50, totals
    result = maintenance.check(database_url, now_us())
    assert result.violations == [] and result.warnings == [], result


def test_lock_storm_over_http(database_url, db):
    server = Server(_env(database_url))
    try:
        server.wait_ready()
        _race_and_storm([server], database_url, db)
        assert server.stop() == 0
    finally:
        server.kill()


def test_two_servers_on_one_database(database_url, db):
    """As on two machines: every guarantee holds across them, and of their two
    background reclaimers exactly one works; it takes expired holds away."""
    env = dict(_env(database_url), TALER_INVENTORY_RECLAIM_INTERVAL="0.2")
    servers = [Server(env, workers=1), Server(env, workers=1)]
    try:
        for server in servers:
            server.wait_ready()
        _race_and_storm(servers, database_url, db)

        until(lambda: _reclaimers(db) == (2, 1), "two reclaimers, one of them working")
        admin = token_headers(servers[1], "admin", factories.ADMIN_PASSWORD)
        # The storm left expired holds behind; a few more on top.  Nothing but the
        # reclaimer takes them now (no lock fails, no gc runs).
        for i in range(5):
            resp = servers[i % 2].post("/private/products/a/lock", headers=admin, json={
                "lock_uuid": f"brief-{i}", "duration": {"d_us": 100_000}})
            assert resp.status_code in (204, 410), resp.text
        until(lambda: db.execute("SELECT count(*) AS n FROM holds WHERE expiration <= %s",
                                 (now_us(),)).fetchone()["n"] == 0,
              "the expired holds are reclaimed")
        result = maintenance.check(database_url, now_us())
        assert result.violations == [] and result.warnings == [], result
        for server in servers:
            assert server.stop() == 0
    finally:
        for server in servers:
            server.kill()


def _reclaimers(db) -> tuple[int, int]:
    """(reclaimer sessions on the database, how many of them hold the reclaimer lock)."""
    key = reclaimer.RECLAIMER_LOCK_KEY
    row = db.execute(
        """SELECT (SELECT count(*) FROM pg_stat_activity
                    WHERE application_name = 'taler-inventory reclaimer'
                      AND datname = current_database()) AS sessions,
                  (SELECT count(*) FROM pg_locks
                    WHERE locktype = 'advisory' AND granted AND objsubid = 1
                      AND classid::int8 = %s AND objid::int8 = %s
                      AND database = (SELECT oid FROM pg_database
                                       WHERE datname = current_database())) AS working""",
        (key >> 32, key & 0xFFFFFFFF)).fetchone()
    return row["sessions"], row["working"]
