#!/usr/bin/env python3
"""Long-poll benchmark of taler-inventory: locks while 200 long polls wait.

    python bench/longpoll.py                 # the machine's PostgreSQL at 127.0.0.1:5432
    python bench/longpoll.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
    python bench/longpoll.py --quick         # a smoke check in about half a minute

What it does (see doc/performance.rst, "Long polling"):

1. creates the database ``taler_inventory_bench_longpoll`` (dropped at the end), starts the real
   server (``taler-inventory serve``, default ``--workers 2 --threads 8`` unless told
   otherwise) on a free loopback port, gets a token and creates one product;
2. alternates, ``--rounds`` times, an *idle* phase and a *waiting* phase of
   ``--duration`` seconds each.  In the waiting phase ``--waiters`` (200) clients each
   long-poll a fresh unpaid order (``GET /private/orders/$ID?timeout_ms=...``, each on
   its own connection) for the whole phase; at its end the orders are paid, which must
   wake every waiter.  In both phases lock requests run back to back, from 1 client
   and then from 8 (keep-alive connections), on one product;
3. prints lock p50/p99 and requests/s per phase and client count, the ratio waiting /
   idle of the p50, how many long polls answered before their phase ended (should be
   0), how fast the waiters woke after the payments, and the server's database
   connections (``pg_stat_activity``) while they waited.

Everything listens on loopback only; every loop is bounded in count and time.  A
script, not a test: it asserts nothing about speed.
"""
import argparse
import http.client
import json
import secrets
import sys
import threading
import time

import psycopg

from lockbench import log
from lockbench.database import DatabaseServer
from lockbench.load import percentile
from lockbench.server import BenchServer, Client, create_products, login

#: Its own database: bench/locks.py may run on the same server.
BENCH_DB = "taler_inventory_bench_longpoll"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--database-url", default=None, help="PostgreSQL server (admin URL)")
    p.add_argument("--embedded", action="store_true", help="use a private embedded server")
    p.add_argument("--waiters", type=int, default=200, help="long polls waiting at once")
    p.add_argument("--duration", type=float, default=8.0, help="seconds of each phase")
    p.add_argument("--rounds", type=int, default=3, help="idle/waiting phase pairs")
    p.add_argument("--clients", default="1,8", help="lock clients (default 1,8)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--quick", action="store_true", help="1 round of 3 s phases")
    args = p.parse_args(argv)
    args.clients = [int(c) for c in args.clients.split(",")]
    if args.quick:
        args.rounds, args.duration = 1, 3.0
    return args


def lock_load(port, token, clients, seconds, tag):
    """Locks from ``clients`` threads for ``seconds``: latencies (s) and failures."""
    latencies, failures = [], []
    stop_at = time.monotonic() + seconds

    def run(i):
        client = Client(port, token)
        n = 0
        while time.monotonic() < stop_at:
            n += 1
            body = {"lock_uuid": f"{tag}-{i}-{n}", "quantity": 1,
                    "duration": {"d_us": 2_000_000}}
            started = time.perf_counter()
            status, _ = client.request("POST", "/private/products/hot/lock", body)
            latencies.append(time.perf_counter() - started)
            if status != 204:
                failures.append(status)
        client.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 60)
    return latencies, failures


def make_orders(api, n, tag):
    ids = []
    for i in range(n):
        order_id = f"lp-{tag}-{i}"
        status, payload = api.request("POST", "/private/orders", {
            "order": {"summary": "long poll", "amount": "KUDOS:1", "order_id": order_id}})
        if status != 200:
            raise SystemExit(f"POST /private/orders answered {status}: {payload[:200]!r}")
        ids.append(order_id)
    return ids


class Waiters:
    """One thread and one connection per long poll, each waiting on its own order."""

    def __init__(self, port, token, order_ids, timeout_ms):
        self.answers = {}  # order_id -> (monotonic time of the answer, status, order_status)
        self.threads = []
        for order_id in order_ids:
            t = threading.Thread(target=self._wait, args=(port, token, order_id, timeout_ms),
                                 daemon=True)
            t.start()
            self.threads.append(t)

    def _wait(self, port, token, order_id, timeout_ms):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_ms / 1000 + 30)
        try:
            conn.request("GET", f"/private/orders/{order_id}?timeout_ms={timeout_ms}",
                         headers={"Authorization": f"Bearer {token}"})
            resp = conn.getresponse()
            body = json.loads(resp.read() or b"{}")
            self.answers[order_id] = (time.monotonic(), resp.status, body.get("order_status"))
        except (OSError, http.client.HTTPException, ValueError) as exc:
            self.answers[order_id] = (time.monotonic(), 599, str(exc))
        finally:
            conn.close()

    def join(self, seconds):
        deadline = time.monotonic() + seconds
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
        return sum(t.is_alive() for t in self.threads)


def connections(db_url):
    with psycopg.connect(db_url, autocommit=True) as conn:
        rows = conn.execute("SELECT application_name, count(*) FROM pg_stat_activity"
                            " WHERE datname = current_database()"
                            "   AND application_name LIKE 'taler-inventory%%'"
                            " GROUP BY 1 ORDER BY 1").fetchall()
    return dict(rows)


def summary(latencies, seconds):
    values = sorted(latencies)
    return {"requests": len(values), "per_s": round(len(values) / seconds, 1),
            "p50_ms": round(percentile(values, 50) * 1000, 2) if values else None,
            "p99_ms": round(percentile(values, 99) * 1000, 2) if values else None}


def main(argv=None):
    args = parse_args(argv)
    dbs = DatabaseServer(args.database_url, embedded=args.embedded, dbname=BENCH_DB)
    server = None
    report = {"options": vars(args), "phases": {}, "early_answers": 0, "wake_s": [],
              "connections_waiting": [], "connections_idle": []}
    try:
        log(f"database: {'embedded' if dbs.embedded else dbs.admin_url}; creating {BENCH_DB}")
        dbs.create_bench_db()
        server = BenchServer(dbs.bench_url, workers=args.workers, threads=args.threads,
                             extra_env={})
        server.wait_ready()
        token = login(server)
        api = Client(server.port, token)
        create_products(api, ["hot"])
        samples = {}
        for rnd in range(args.rounds):
            tag = f"{rnd}-{secrets.token_hex(3)}"
            for phase in ("idle", "waiting"):
                waiters = None
                if phase == "waiting":
                    ids = make_orders(api, args.waiters, tag)
                    phase_ms = int((args.duration * len(args.clients) + 30) * 1000)
                    waiters = Waiters(server.port, token, ids, phase_ms)
                    time.sleep(2.0)  # all of them parked
                report[f"connections_{phase}"].append(connections(dbs.bench_url))
                for c in args.clients:
                    log(f"  [{rnd + 1}/{args.rounds}] {phase}: locks from {c} clients ...")
                    lat, fail = lock_load(server.port, token, c, args.duration,
                                          f"{tag}-{phase}-{c}")
                    entry = samples.setdefault((phase, c), {"lat": [], "fail": 0, "s": 0.0})
                    entry["lat"] += lat
                    entry["fail"] += len(fail)
                    entry["s"] += args.duration
                if waiters is not None:
                    report["early_answers"] += len(waiters.answers)
                    paid_at = time.monotonic()
                    for order_id in ids:
                        status, _ = api.request("POST", f"/private/orders/{order_id}/paid")
                        if status != 204:
                            raise SystemExit(f"/paid answered {status}")
                    left = waiters.join(30)
                    done = [t for t, s, o in waiters.answers.values() if o == "paid"]
                    report["wake_s"].append({
                        "paying_s": round(time.monotonic() - paid_at, 2),
                        "last_answer_after_paying_started_s":
                            round(max(done) - paid_at, 2) if done else None,
                        "answered_paid": len(done), "still_waiting": left})
        for (phase, c), entry in samples.items():
            report["phases"][f"{phase}, {c} clients"] = {
                **summary(entry["lat"], entry["s"]), "failures": entry["fail"]}
        for c in args.clients:
            idle = report["phases"][f"idle, {c} clients"]["p50_ms"]
            busy = report["phases"][f"waiting, {c} clients"]["p50_ms"]
            report["phases"][f"waiting, {c} clients"]["p50_vs_idle"] = \
                round(busy / idle, 2) if idle and busy else None
        api.close()
    finally:
        if server is not None:
            server.close()
        dbs.drop_bench_db()
        dbs.close()
    print(json.dumps(report, indent=1))
    print(f"\n{'phase':<22} {'locks/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'p50/idle':>9}")
    for name, row in report["phases"].items():
        print(f"{name:<22} {row['per_s']:>9} {row['p50_ms']:>8} {row['p99_ms']:>8} "
              f"{row.get('p50_vs_idle', ''):>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
