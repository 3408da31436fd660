"""A frozen or stopped database, with the real server and a PostgreSQL of its own.

The cluster is started by the test (``initdb`` + ``pg_ctl`` on a free port) and
frozen with ``SIGSTOP``: it keeps its TCP connections open and acknowledges what is
sent, but never answers, as a hung host would.  Requests used to hang for as long as
the freeze lasted (and ``GET /config`` with them); now they get 503 within the
documented bound, ``/config`` keeps answering, and the server is back within a second
of the database.
"""
import threading
import time

import pytest
import requests

from tests import factories
from tests.e2e.hostile import Cluster, check_clean
from tests.support.server import running, serve_env, token_headers
from tests.support.threads import Background

pytestmark = pytest.mark.e2e

STATEMENT_TIMEOUT = 2.0
POOL_TIMEOUT = 3.0
#: doc/operations.rst: at most POOL_TIMEOUT + DB_STATEMENT_TIMEOUT + 1 s, once more
#: DB_STATEMENT_TIMEOUT + 1 s for a lock queued behind another of the same product
#: (group commit), plus slack for a loaded machine.  One worker with more threads
#: than clients, so that no request also waits for a thread.
BOUND = POOL_TIMEOUT + 2 * (STATEMENT_TIMEOUT + 1) + 2.0


@pytest.fixture
def cluster():
    cluster = Cluster()
    try:
        yield cluster
    finally:
        cluster.cleanup()


@pytest.fixture
def server(cluster):
    env = serve_env(cluster.url, DB_STATEMENT_TIMEOUT=str(STATEMENT_TIMEOUT),
                    POOL_TIMEOUT=str(POOL_TIMEOUT))
    with running(env, workers=1, threads=4) as server:
        yield server


def _product(server, headers):
    resp = server.post("/private/products", headers=headers, json={
        "product_id": "p", "description": "p", "unit": "piece",
        "unit_price": ["KUDOS:1"], "total_stock": 100_000})
    assert resp.status_code == 204, resp.text


class Load(Background):
    """Clients locking one unit each, recording (start, end, status, code, headers)."""

    join_timeout = BOUND + 10

    def __init__(self, server, headers, clients=3):
        super().__init__()
        self.server, self.headers = server, headers
        self.results = []
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(clients)]

    def _run(self, client):
        session = requests.Session()
        for i in range(100_000):
            if self.stop.is_set():
                return
            started = time.monotonic()
            try:
                resp = session.post(f"{self.server.base}/private/products/p/lock",
                                    headers=self.headers, timeout=BOUND + 5,
                                    json={"lock_uuid": f"load-{client}-{i}",
                                          "duration": {"d_us": 3600 * 10**6}})
                code = resp.json()["code"] if resp.status_code != 204 else None
                self.results.append((started, time.monotonic(), resp.status_code, code,
                                     resp.headers.get("Retry-After")))
            except requests.RequestException as exc:
                self.results.append((started, time.monotonic(), type(exc).__name__, None,
                                     None))
            time.sleep(0.05)


def _config_latencies(server, seconds):
    latencies = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.monotonic()
        resp = requests.get(server.base + "/config", timeout=10)
        assert resp.status_code == 200
        latencies.append(time.monotonic() - started)
        time.sleep(0.1)
    return latencies


def test_frozen_database_is_503_within_the_bound_and_config_keeps_answering(cluster, server):
    admin = token_headers(server, "admin", factories.ADMIN_PASSWORD)
    _product(server, admin)
    with Load(server, admin) as load:
        time.sleep(1.0)
        cluster.freeze()
        frozen_at = time.monotonic()
        config = _config_latencies(server, 10.0)
        cluster.thaw()
        thawed_at = time.monotonic()
        time.sleep(3.0)
    during = [r for r in load.results if frozen_at + 0.1 < r[0] and r[1] < thawed_at]
    assert during, [(round(r[0] - frozen_at, 2), round(r[1] - r[0], 2), r[2], r[3])
                    for r in load.results if r[1] > frozen_at]
    for started, ended, status, code, retry_after in during:
        assert (status, code, retry_after) == (503, 51, "1"), (status, code)
        assert ended - started <= BOUND
    assert max(config) < 1.0, config
    # Every request that started during the freeze ended within the bound.
    for started, ended, *_ in load.results:
        if frozen_at <= started < thawed_at:
            assert ended - started <= BOUND, (started - frozen_at, ended - started)
    # Back within a second, and everything succeeds from then on.
    first = min(r[1] for r in load.results if r[2] == 204 and r[1] > thawed_at)
    assert first - thawed_at < 1.0
    assert all(r[2] == 204 for r in load.results if r[0] > thawed_at + 1.0)
    assert "Traceback" not in server.text()
    assert server.stop() == 0
    check_clean(cluster.url)


def test_a_request_waiting_for_a_connection_gets_one_when_the_database_is_back(cluster,
                                                                              server):
    admin = token_headers(server, "admin", factories.ADMIN_PASSWORD)
    _product(server, admin)
    cluster.stop()
    resp = server.post("/private/products/p/lock", headers=admin,
                       json={"lock_uuid": "down", "duration": {"d_us": 10**9}})
    assert (resp.status_code, resp.json()["code"]) == (503, 51)
    outcome = {}

    def waiting():
        started = time.monotonic()
        resp = server.post("/private/products/p/lock", headers=admin,
                           json={"lock_uuid": "waiting", "duration": {"d_us": 10**9}})
        outcome.update(status=resp.status_code, ended=time.monotonic(), started=started)

    thread = threading.Thread(target=waiting)
    thread.start()
    time.sleep(0.5)
    cluster.start()  # pg_ctl -w: returns once the server accepts connections
    back_at = time.monotonic()
    thread.join(POOL_TIMEOUT + 10)
    # The request waited within POOL_TIMEOUT and got a connection, not a 503.
    assert outcome["status"] == 204, outcome
    assert outcome["ended"] - back_at < 1.0
    started = time.monotonic()
    resp = server.post("/private/products/p/lock", headers=admin,
                       json={"lock_uuid": "after", "duration": {"d_us": 10**9}})
    assert resp.status_code == 204 and time.monotonic() - started < 1.0
    locked = server.get("/private/products/p", headers=admin).json()["total_locked"]
    assert locked == 2
    assert server.stop() == 0
    check_clean(cluster.url)
