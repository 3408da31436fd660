"""The real server under benchmark (the tests' runner, ``tests/support/server.py``), a
keep-alive HTTP client for the load, and the setup done through the API."""
import base64
import http.client
import json
import os
import secrets
import shutil
import tempfile

from tests.support.server import Server

from . import REPO

HUGE_STOCK = 10**12


class BenchServer(Server):
    """``taler-inventory serve`` of this checkout on ``db_url`` on a free loopback port.

    Unlike a test server it runs with the production defaults (its reclaimer takes
    the expired locks as the benchmark runs) plus ``extra_env`` (``KEY``: value of
    ``TALER_INVENTORY_KEY``), with a random admin password.
    """

    def __init__(self, db_url, *, workers, threads, extra_env):
        self.db_url = db_url
        self.password = secrets.token_urlsafe(16)
        self.datadir = tempfile.mkdtemp(prefix="taler-inventory-bench-")
        env = {"TALER_INVENTORY_DATABASE_URL": db_url,
               "TALER_INVENTORY_ADMIN_PASSWORD": self.password,
               "TALER_INVENTORY_DATA_DIR": self.datadir,
               "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO),
                                                           os.environ.get("PYTHONPATH")])),
               **{"TALER_INVENTORY_" + key: value for key, value in extra_env.items()}}
        super().__init__(env, workers, threads, args=("--host", "127.0.0.1"), defaults={},
                         cwd=REPO)

    def wait_ready(self, timeout=90):
        try:
            return super().wait_ready(timeout)
        except AssertionError as exc:
            raise SystemExit(str(exc)[-4000:]) from None

    def close(self):
        """Stop the server and every process of its group; remove its data directory."""
        try:
            self.stop_all()
        finally:
            shutil.rmtree(self.datadir, ignore_errors=True)


class Client:
    """One keep-alive connection; reconnects (bounded by the caller's loop) on errors."""

    def __init__(self, port, token=None):
        self.port = port
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        data = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        hdrs = dict(self.headers, **(headers or {}))
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self.conn.request(method, path, body=data, headers=hdrs)
                resp = self.conn.getresponse()
                payload = resp.read()
                return resp.status, payload
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    return 599, b""
        return 599, b""

    def close(self):
        if self.conn is not None:
            self.conn.close()


def basic(user, password):
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}



def login(server, scope="all") -> str:
    """A new token of the server's admin instance."""
    client = Client(server.port)
    status, payload = client.request("POST", "/private/token", {"scope": scope},
                                     headers=basic("admin", server.password))
    client.close()
    if status != 200:
        raise SystemExit(f"POST /private/token answered {status}: {payload[:300]!r}")
    return json.loads(payload)["access_token"]


def product_body(pid, stock):
    return {"product_id": pid, "product_name": pid, "description": "benchmark product",
            "unit": "piece", "unit_price": ["KUDOS:1"], "total_stock": stock}


def create_products(client, ids, *, stock=HUGE_STOCK):
    """``POST /private/products`` for each of ``ids``."""
    for pid in ids:
        status, payload = client.request("POST", "/private/products", product_body(pid, stock))
        if status != 204:
            raise SystemExit(f"POST /private/products answered {status}: {payload[:300]!r}")
