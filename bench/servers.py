#!/usr/bin/env python3
"""Which HTTP server for ``serve``: throughput, CPU per request, and slow clients.

    python bench/servers.py                   # serve, gunicorn gthread, granian WSGI
    python bench/servers.py --rounds 3 --servers serve,gunicorn

Every server runs the same app with 2 worker processes of 8 threads on a private
embedded PostgreSQL, on a free loopback port:

- ``serve``: ``taler-inventory serve`` (granian, the RSGI bridge of ``server.py``);
- ``gunicorn``: gunicorn ``gthread`` workers, as ``serve`` ran before (needs
  ``pip install gunicorn``);
- ``granian-wsgi``: granian's own WSGI interface (``--blocking-threads 8``).

For each it measures with ``wrk`` (2 threads, 8 keep-alive connections, ``--duration``
seconds) ``GET /config`` and ``POST /private/products/hot/lock`` (a new lock uuid per
request): requests/s, p50/p99, and the CPU seconds of the server's processes per
request (from /proc, so the load generator's CPU does not count).  Then the slow
clients of issue 13 at once (200 connections that send nothing, 64 that send one
header line per second, 64 that send one body byte per second) while four probe
clients alternate ``GET /config`` and a lock: how many probes were answered and their
p50/p99/max latency.  Rounds are interleaved so that the machine's load hits every
server alike.  This is a script, not a test: it asserts nothing.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from lockbench import REPO, procstat
from tests.support.server import Server, clean_environ, token_headers

PASSWORD = "bench-password"
LOCK_LUA = """
local counter = 0
local threadid = 0
setup = function(thread) thread:set("id", threadid); threadid = threadid + 1 end
request = function()
  counter = counter + 1
  local body = string.format(
    '{"lock_uuid":"w-%d-%d-%d","duration":{"d_us":600000000},"quantity":1}',
    id, counter, os.time())
  return wrk.format("POST", "/private/products/hot/lock",
    {["Content-Type"]="application/json", ["Authorization"]=os.getenv("BENCH_TOKEN")}, body)
end
"""


def server_cpu(server):
    """CPU seconds (user + system) of the server's live processes."""
    return procstat.cpu_seconds(procstat.server_pids(server.proc.pid))


def command(kind, port, workers, threads):
    py = sys.executable
    if kind == "serve":
        return [py, "-c", "from taler_inventory.cli import main; main()", "serve",
                "--port", str(port), "--workers", str(workers), "--threads", str(threads)]
    if kind == "gunicorn":
        return [py, "-m", "gunicorn", "-k", "gthread", "-w", str(workers),
                "--threads", str(threads), "--keep-alive", "30", "--log-level", "warning",
                "-b", f"127.0.0.1:{port}", "taler_inventory:create_app()"]
    if kind == "granian-wsgi":
        return [py, "-m", "granian", "--interface", "wsgi", "--factory", "--http", "1",
                "--no-ws", "--workers", str(workers), "--blocking-threads", str(threads),
                "--log-level", "warning", "--port", str(port), "taler_inventory:create_app"]
    raise SystemExit(f"unknown server {kind}")


class BenchedServer(Server):
    """One of the servers compared, on a free loopback port (the tests' runner), ready,
    with a token and the ``hot`` product."""

    def __init__(self, kind, env, workers, threads):
        self.kind = kind
        super().__init__(env, defaults={}, cwd=REPO,
                         argv=lambda port: command(kind, port, workers, threads))
        try:
            self.wait_ready(60)
        except AssertionError as exc:
            self.stop_all()
            raise SystemExit(f"{kind} did not start: {str(exc)[-2000:]}") from None
        self.token = token_headers(self, "admin", PASSWORD,
                                   duration={"d_us": 3600 * 10**6})["Authorization"]
        resp = self.post("/private/products", headers={"Authorization": self.token},
                         json={"product_id": "hot", "description": "hot", "unit": "piece",
                               "unit_price": ["KUDOS:1"], "total_stock": 10**12})
        assert resp.status_code in (204, 409), resp.text


def wrk(server, path, duration, script=None):
    cmd = ["wrk", "-t2", "-c8", f"-d{duration}s", "--latency"]
    if script:
        cmd += ["-s", script]
    cmd.append(server.base + path)
    before = server_cpu(server)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30,
                         env=dict(os.environ, BENCH_TOKEN=server.token)).stdout
    cpu = server_cpu(server) - before
    count = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50": _ms(re.search(r"\s50%\s+(\S+)", out).group(1)),
            "p99": _ms(re.search(r"\s99%\s+(\S+)", out).group(1)),
            "cpu_ms": cpu * 1000 / max(count, 1), "non_2xx": int(bad.group(1)) if bad else 0}


def _ms(text):
    value = float(re.match(r"[\d.]+", text).group(0))
    return value / 1000 if text.endswith("us") else value * 1000 if text.endswith("s") \
        and not text.endswith("ms") else value


# -- slow clients (the crowd and the probes of the tests) ----------------------------

def slow_clients(server, seconds):
    from tests.e2e.hostile import Crowd, probe
    latencies, outcomes = [], []
    with Crowd(server.port, product="hot"):
        time.sleep(2)
        probes = [threading.Thread(target=probe, args=(server.base, {"Authorization": server.token},
                                                       seconds, latencies, outcomes, "hot"))
                  for _ in range(4)]
        for t in probes:
            t.start()
        for t in probes:
            t.join(seconds + 30)
    latencies.sort()
    return {"probes": len(latencies), "answered": sum(o in (200, 204) for o in outcomes),
            "p50_ms": 1000 * latencies[len(latencies) // 2],
            "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)],
            "max_ms": 1000 * latencies[-1]}


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--servers", default="serve,gunicorn,granian-wsgi")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--slow-seconds", type=int, default=12)
    parser.add_argument("--no-slow", action="store_true")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed (apt-get install wrk)")
    from taler_inventory import embedded
    from taler_inventory.cli import Context, bootstrap_admin
    from taler_inventory.backenddb import schema

    tmp = tempfile.mkdtemp(prefix="taler-inventory-bench-servers-")
    pg, url = embedded.start(tmp)
    script = Path(tmp) / "lock.lua"
    script.write_text(LOCK_LUA)
    env = clean_environ({})
    env.update(TALER_INVENTORY_DATABASE_URL=url, TALER_INVENTORY_ADMIN_PASSWORD=PASSWORD,
               TALER_INVENTORY_DATA_DIR=tmp, TALER_INVENTORY_ARGON2_MEMORY_COST="1024",
               TALER_INVENTORY_ARGON2_TIME_COST="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])))
    os.environ.update({k: v for k, v in env.items() if k.startswith("TALER_INVENTORY_")})
    schema.dbinit(url)
    bootstrap_admin(Context(), announce=False)
    results = {}
    try:
        for rnd in range(args.rounds):
            for kind in args.servers.split(","):
                server = BenchedServer(kind, env, 2, 8)
                try:
                    wrk(server, "/config", 2)  # warm-up
                    row = {"config": wrk(server, "/config", args.duration),
                           "lock": wrk(server, "/", args.duration, str(script))}
                    if not args.no_slow:
                        row["slow"] = slow_clients(server, args.slow_seconds)
                finally:
                    server.stop_all()
                print(f"round {rnd + 1} {kind}: {json.dumps(row)}", file=sys.stderr, flush=True)
                results.setdefault(kind, []).append(row)
    finally:
        pg.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{'server':14} {'case':7} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'CPU ms/req':>10}")
    for kind, rows in results.items():
        for case in ("config", "lock"):
            print(f"{kind:14} {case:7} {median(r[case]['per_s'] for r in rows):8.0f} "
                  f"{median(r[case]['p50'] for r in rows):7.2f} "
                  f"{median(r[case]['p99'] for r in rows):7.2f} "
                  f"{median(r[case]['cpu_ms'] for r in rows):10.3f}")
    if not args.no_slow:
        print(f"\n{'server':14} {'probes':>6} {'answered':>8} "
              f"{'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
        for kind, rows in results.items():
            for r in rows:
                s = r["slow"]
                print(f"{kind:14} {s['probes']:6} {s['answered']:8} {s['p50_ms']:8.0f} "
                      f"{s['p99_ms']:8.0f} {s['max_ms']:8.0f}")


if __name__ == "__main__":
    main()
