"""Slow and silent clients cost a connection, not a worker.

200 connections that send nothing, 64 that send one header line a second and 64 that
send one body byte a second, all at once, used to stop every other client for as long
as they lasted.  Now normal requests are answered with p99 under a second (a
generous bound, measured over a few hundred probes, so that a loaded 2-core machine
still passes), and the deadlines for the head and the body cut the drippers off.
"""
import socket
import threading
import time

import pytest

from tests import factories
from tests.e2e.hostile import Crowd, check_clean, probe
from tests.support.server import Server, serve_env, token_headers

pytestmark = pytest.mark.e2e

PROBE_SECONDS = 8


def test_slow_clients_do_not_slow_normal_requests(database_url):
    server = Server(serve_env(database_url, HEAD_TIMEOUT="3", BODY_TIMEOUT="3"))
    try:
        server.wait_ready()
        admin = token_headers(server, "admin", factories.ADMIN_PASSWORD)
        resp = server.post("/private/products", headers=admin, json={
            "product_id": "p", "description": "p", "unit": "piece",
            "unit_price": ["KUDOS:1"], "total_stock": 100_000})
        assert resp.status_code == 204, resp.text
        latencies, outcomes = [], []
        with Crowd(server.port) as crowd:
            time.sleep(1.0)
            probes = [threading.Thread(target=probe, args=(
                server.base, admin, PROBE_SECONDS, latencies, outcomes)) for _ in range(4)]
            for t in probes:
                t.start()
            for t in probes:
                t.join(PROBE_SECONDS + 30)
        latencies.sort()
        assert len(latencies) >= 100, len(latencies)
        assert set(outcomes) == {200, 204}, set(outcomes)
        p99 = latencies[int(len(latencies) * 0.99)]
        assert p99 < 1.0, (p99, latencies[-10:])
        # The head and body deadlines (3 s) cut the 128 drippers off, and they came
        # back: many more connections than the 328 opened at the start.
        assert crowd.connections > 328 + 128, crowd.connections
        # A silent connection is closed after HEAD_TIMEOUT.
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            started = time.monotonic()
            assert sock.recv(100) == b""
            assert 2.5 < time.monotonic() - started < 6
        locks = server.get("/private/products/p", headers=admin).json()["total_locked"]
        assert locks == outcomes.count(204)
        assert "Traceback" not in server.text()
        assert server.stop() == 0
    finally:
        server.kill()
    check_clean(database_url)
