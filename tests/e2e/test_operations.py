"""End to end: what an operator sees of the real server — its startup lines, the
access log, the log level and format, and metrics added up over the workers."""
import json
import os
import re
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests import factories

from tests.support.server import Server, serve_env, token_headers

pytestmark = pytest.mark.e2e


def _env(database_url, **more):
    return {**serve_env(database_url), **more}


def _lines(server, after: float = 0.3) -> list[str]:
    time.sleep(after)  # the last lines may still be on their way through the pipe
    return server.text().splitlines()


def test_startup_lines_say_where_which_database_and_how_to_stop(database_url):
    # A password in the URL (the test server trusts local users, so it is ignored).
    url = make_conninfo(database_url, password="very-secret-pw")
    server = Server(_env(url))
    try:
        server.wait_ready()
        text = server.text()
        assert re.search(rf"listening on http://127\.0\.0\.1:{server.port} \(2 workers", text)
        dbname = conninfo_to_dict(database_url)["dbname"]
        assert re.search(rf"database: database {dbname} as user \S+ on ", text), text
        assert f"kill -TERM {server.proc.pid}" in text and "Ctrl+C" in text
        assert "very-secret-pw" not in text
        assert server.get("/config").status_code == 200
        assert "GET /config" not in server.text()  # no access log by default
        assert server.stop() == 0
        assert "taler-inventory stopped" in _lines(server)[-1]
    finally:
        server.kill()


def test_access_log_by_flag_with_method_path_status_duration_instance(database_url):
    server = Server(_env(database_url), args=["--access-log"])
    try:
        server.wait_ready()
        admin = token_headers(server, "admin", factories.ADMIN_PASSWORD)
        assert server.get("/instances/shop9/private/products?limit=5",
                          headers=admin).status_code == 404
        line = next(ln for ln in _lines(server) if "/instances/shop9/" in ln)
        assert re.search(r"INFO taler_inventory\.access: 127\.0\.0\.1 GET "
                         r"/instances/shop9/private/products 404 \d+\.\dms instance=shop9$",
                         line), line
        assert "limit=5" not in line and "secret-token" not in server.text()
    finally:
        server.kill()


def test_log_level_and_json_lines_by_setting(database_url):
    quiet = Server(_env(database_url, TALER_INVENTORY_LOG_LEVEL="warning",
                        TALER_INVENTORY_ACCESS_LOG="yes"))
    try:
        quiet.wait_ready()
        assert "listening on" not in quiet.text()
        assert "GET /config" in "".join(_lines(quiet))  # the access log is its own switch
    finally:
        quiet.kill()
    server = Server(_env(database_url, TALER_INVENTORY_LOG_FORMAT="json"), args=["--access-log"])
    try:
        server.wait_ready()
        server.get("/readyz")
        entries = [json.loads(line) for line in _lines(server)]
        assert {e["logger"] for e in entries} >= {"taler_inventory", "taler_inventory.access"}
        access = [e for e in entries if e["logger"] == "taler_inventory.access"
                  and e["path"] == "/readyz"][0]
        assert access["method"] == "GET" and access["status"] == 200
        assert access["instance"] == "admin" and access["duration_ms"] >= 0
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", access["time"])
    finally:
        server.kill()


def _count(text: str, endpoint: str) -> float:
    return sum(s.value for family in text_string_to_metric_families(text)
               for s in family.samples
               if s.name == "taler_inventory_http_requests_total"
               and s.labels["endpoint"] == endpoint)


def test_metrics_add_up_over_the_worker_processes(database_url):
    server = Server(_env(database_url), workers=3)
    try:
        server.wait_ready()
        started = _count(server.get("/metrics").text, "/config")
        for _ in range(30):  # new connections: spread over the workers
            assert server.get("/config", headers={"Connection": "close"}).status_code == 200
        # Whichever worker answers the scrape, it reports all of them.
        counts = {_count(server.get("/metrics", headers={"Connection": "close"}).text,
                         "/config") - started for _ in range(6)}
        assert counts == {30}
        assert server.get("/readyz").json() == {"status": "ready", "database": "ok"}
    finally:
        server.kill()


def _sample(text: str, name: str, **labels) -> float:
    return sum(s.value for family in text_string_to_metric_families(text)
               for s in family.samples if s.name == name
               and all(s.labels.get(k) == v for k, v in labels.items()))


def _post_product(server, headers, unit_total_stock):
    """Create the product p1 (in kg) on ``server``."""
    return server.post("/private/products", headers=headers, json={
        "product_id": "p1", "description": "p", "unit": "kg", "unit_price": ["KUDOS:1"],
        "unit_total_stock": unit_total_stock})


def test_holds_taken_back_by_the_reclaimer_count_as_expired(database_url, db):
    server = Server(_env(database_url, TALER_INVENTORY_RECLAIM_INTERVAL="0.2"), workers=1)
    try:
        server.wait_ready()
        admin = token_headers(server, "admin", factories.ADMIN_PASSWORD)
        assert _post_product(server, admin, "5").status_code == 204
        assert server.post("/private/products/p1/lock", headers=admin, json={
            "lock_uuid": "cart-1", "duration": {"d_us": 300_000},
            "unit_quantity": "1"}).status_code == 204
        deadline = time.monotonic() + 30
        while db.execute("SELECT count(*) AS n FROM holds").fetchone()["n"] and \
                time.monotonic() < deadline:
            time.sleep(0.2)
        text = server.get("/metrics").text
        assert _sample(text, "taler_inventory_locks_total", outcome="taken") == 1
        assert _sample(text, "taler_inventory_locks_total", outcome="expired") == 1
        assert _sample(text, "taler_inventory_holds_reclaim_backlog") == 0
    finally:
        server.kill()


def test_lock_outcomes_and_gc_in_the_metrics_of_every_worker(database_url, db):
    import subprocess

    from tests.support.server import cli_command

    server = Server(_env(database_url), workers=2)
    try:
        server.wait_ready()
        admin = token_headers(server, "admin", factories.ADMIN_PASSWORD)
        assert _post_product(server, admin, "10").status_code == 204

        def lock(cart, quantity):
            return server.post("/private/products/p1/lock", headers={**admin,
                               "Connection": "close"}, json={
                "lock_uuid": cart, "duration": {"d_us": 600 * 10**6},
                "unit_quantity": quantity})

        assert lock("cart-1", "1").status_code == 204      # taken
        assert lock("cart-1", "1.5").status_code == 204    # replaced
        assert lock("cart-2", "0.5").status_code == 204    # taken
        factories.insert_hold(db, "p1", 1, 1, lock_uuid="cart-old")  # long expired
        resp = lock("cart-3", "9")                          # reclaims cart-old, then 410
        assert (resp.status_code, resp.json()["code"]) == (410, 2670)
        assert resp.json()["unit_available_quantity"] == "8"
        for n in range(2):
            factories.insert_hold(db, "p1", 1, 1 + n, lock_uuid=f"cart-gone-{n}")
        gc = subprocess.run(cli_command() + ["gc"], env={
            **{k: v for k, v in os.environ.items() if not k.startswith("TALER_INVENTORY_")},
            "TALER_INVENTORY_DATABASE_URL": database_url},
            capture_output=True, text=True, timeout=60)
        assert gc.returncode == 0, gc.stderr
        assert "expired holds reclaimed: 2" in gc.stdout
        # Whichever worker answers, the same totals.
        seen = set()
        for _ in range(6):
            text = server.get("/metrics", headers={"Connection": "close"}).text
            seen.add(tuple(_sample(text, "taler_inventory_locks_total", outcome=o)
                           for o in ("taken", "replaced", "released", "expired"))
                     + (_sample(text, "taler_inventory_gc_reclaimed_holds_total"),
                        _sample(text, "taler_inventory_refused_requests_total",
                                status="410")))
        assert seen == {(2, 1, 0, 1, 2, 1)}
        assert [r["lock_uuid"] for r in db.execute(
            "SELECT lock_uuid FROM holds ORDER BY lock_uuid")] == ["cart-1", "cart-2"]
    finally:
        server.kill()
