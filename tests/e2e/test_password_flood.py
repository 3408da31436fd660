"""A flood of wrong passwords against the real server: bounded memory, then throttled.

24 concurrent ``POST /private/token`` with wrong passwords used to grow a worker from
172 MiB to about 1.5 GiB (Argon2id takes 64 MiB per hash, and nothing bounded how
many ran at once), at a dozen guesses a second with no throttling.
"""
import threading
import time

import pytest
import requests

from tests import factories
from tests.e2e.hostile import check_clean, rss_bytes, worker_pids
from tests.support.server import Server, serve_env, token_headers

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024
HASH_MEMORY_KIB = 65536
PASSWORD_CHECKS = 2
FLOOD_SECONDS = 5
FLOODERS = 24


def _flood(server, instance, seconds, outcomes):
    session = requests.Session()
    end = time.monotonic() + seconds
    for _ in range(10_000):
        if time.monotonic() >= end:
            return
        resp = session.post(f"{server.base}/instances/{instance}/private/token", timeout=30,
                            json={"scope": "all"}, headers=factories.basic(instance, "wrong"))
        outcomes.append((resp.status_code, resp.json()["code"],
                         resp.headers.get("Retry-After")))


def _run_flood(server, instance, seconds=FLOOD_SECONDS):
    outcomes = []
    threads = [threading.Thread(target=_flood, args=(server, instance, seconds, outcomes))
               for _ in range(FLOODERS)]
    for t in threads:
        t.start()
    return threads, outcomes


def _server(database_url, **env):
    return Server(serve_env(database_url, ARGON2_MEMORY_COST=str(HASH_MEMORY_KIB),
                            PASSWORD_CHECKS=str(PASSWORD_CHECKS),
                            **{k: str(v) for k, v in env.items()}),
                  workers=1, threads=8).wait_ready()


def _shop(server):
    admin = token_headers(server, "admin", factories.ADMIN_PASSWORD)
    resp = server.post("/management/instances", headers=admin, json={
        "id": "shop", "name": "Shop", "auth": {"method": "token", "password": "shop-pw"}})
    assert resp.status_code == 204, resp.text
    return admin


def test_password_flood_stays_within_the_memory_bound(database_url):
    # Throttling out of the way: this is about concurrent hashing.
    server = _server(database_url, LOGIN_FAILURES_PER_ADDRESS=10**6,
                     LOGIN_FAILURES_PER_INSTANCE=10**6)
    try:
        _shop(server)
        token_headers(server, "shop", "shop-pw")  # one hash of 64 MiB before measuring
        [worker] = worker_pids(server)
        time.sleep(0.5)
        idle = rss_bytes(worker)
        threads, outcomes = _run_flood(server, "shop")
        peak = idle
        while any(t.is_alive() for t in threads):
            peak = max(peak, rss_bytes(worker))
            time.sleep(0.05)
        for t in threads:
            t.join(30)
        bound = PASSWORD_CHECKS * HASH_MEMORY_KIB * 1024
        assert peak <= 1.2 * idle + bound, (peak / MIB, idle / MIB)
        codes = {(status, code) for status, code, _ in outcomes}
        assert codes <= {(401, 2015), (503, 10251)}, codes
        assert outcomes.count((401, 2015, None)) >= 10
        # The right password still works afterwards.
        token_headers(server, "shop", "shop-pw")
        assert server.stop() == 0
    finally:
        server.kill()
    check_clean(database_url)


def test_password_flood_is_throttled_with_retry_after(database_url, db):
    server = _server(database_url)
    try:
        admin = _shop(server)
        threads, outcomes = _run_flood(server, "shop", seconds=3)
        for t in threads:
            t.join(30)
        failures = [o for o in outcomes if o[0] == 401]
        throttled = [o for o in outcomes if o[0] == 429]
        # LOGIN_FAILURES_PER_ADDRESS (5) password checks, then only 429s.
        assert len(failures) == 5, len(failures)
        assert len(throttled) == len(outcomes) - 5 and len(throttled) > 100
        assert all(code == 10250 and 1 <= int(wait) <= 60 for _, code, wait in throttled)
        # Tokens are never throttled; the address is, for every instance.
        assert server.get("/private", headers=admin).status_code == 200
        resp = server.post("/private/token", json={"scope": "all"},
                           headers=factories.basic("admin", factories.ADMIN_PASSWORD))
        assert (resp.status_code, resp.json()["code"]) == (429, 10250)
        assert db.execute("SELECT count(*) AS n FROM tokens JOIN instances"
                          " USING (instance_serial) WHERE instance_id = 'shop'") \
            .fetchone()["n"] == 0
        assert server.stop() == 0
    finally:
        server.kill()
    check_clean(database_url)
