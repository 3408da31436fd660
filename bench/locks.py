#!/usr/bin/env python3
"""Lock benchmark of taler-inventory: one command, one machine, one run.

    python bench/locks.py                       # the machine's PostgreSQL at 127.0.0.1:5432
    python bench/locks.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
    python bench/locks.py --quick               # about two minutes, for a smoke check

What it does (see doc/performance.rst for how to read the figures):

1. creates a fresh database ``taler_inventory_bench`` on the given server (or on a
   private embedded PostgreSQL when no server answers at 127.0.0.1:5432), starts the
   real server (``taler-inventory serve``, as the end-to-end tests start it) on a free
   loopback port, gets an access token and creates the products;
2. measures locks/s and p50/p99 latency through HTTP (keep-alive connections, the
   load generator in separate processes) for 1, 8 and 32 concurrent clients on ONE
   hot product and on 1,000 distinct products, plus ``GET /config`` as the cost of an
   empty request through the same server; and, interleaved with them, the same
   machine's ``pgbench`` on one hot row (a single conditional UPDATE) and on
   ``lock_product()`` itself (token check included; one hot product, 1,000
   products), as the database ceilings, and prints ratios;
3. the flash sale (32 clients race for the last 1,000 units of one product) and the
   soak (hot-product locks at 8 clients, the server's memory before and after);
4. measures the single-client p50 of a lock with 10 and with 100,000 live locks on
   the product (seeded through the lock operation) and their ratio, and once more
   with 100,000 locks added after the last ANALYZE;
5. measures order creation taking over 1-, 5- and 20-product carts;
6. prints a table and writes everything as JSON to bench/results/<timestamp>.json.

Everything listens on loopback only; every loop is bounded in count and time; the
server's process group is stopped and the benchmark database dropped in ``finally``.
This is a script, not a test: it asserts nothing about speed.
"""
import argparse
import os
import secrets
import shutil
import sys
import tempfile
import time

from lockbench import log
from lockbench.database import BENCH_DB, DEFAULT_URL, DatabaseServer
from lockbench.pgbench import pgbench_units
from lockbench.report import compute_ratios, loadavg, new_report, print_report, write_results
from lockbench.scenarios import (N_DISTINCT, SCALE_SIZES, STALE_PRODUCT, Meter, http_units,
                                 run_flash_sale, run_orders, run_rounds, run_scale, run_soak)
from lockbench.server import BenchServer, Client, create_products, login


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
    if args.embedded and args.database_url:
        p.error("--embedded and --database-url exclude each other")
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    extra = {}
    for item in args.server_env:
        key, sep, value = item.partition("=")
        if not sep:
            p.error(f"--server-env {item!r}: KEY=VALUE expected")
        extra[key.removeprefix("TALER_INVENTORY_")] = value
    args.server_env = extra
    return args


def main(argv=None):
    args = parse_args(argv)
    started = time.monotonic()
    report = new_report(args)
    dbs = DatabaseServer(args.database_url, embedded=args.embedded)
    server = None
    workdir = tempfile.mkdtemp(prefix="taler-inventory-bench-run-")
    try:
        do_vacuum = describe_database(report, dbs, args)                      # (1)
        server, api, token = start_server(dbs, args)
        distinct = create_all_products(api)
        base = {"port": server.port, "token": token,
                "lock_duration_us": int(args.lock_duration * 1e6)}
        tag = secrets.token_hex(3)
        meter = Meter(server, dbs.bench_url)
        report["machine"]["postgresql"]["cpu_measured"] = meter.postmaster is not None
        binary, units = interleaved_cases(report, args, dbs, token, base, distinct)  # (2)
        run_rounds(report, units, args, dbs=dbs, base=base, meter=meter, tag=tag,
                   binary=binary, workdir=workdir, nproc=report["machine"]["nproc"],
                   do_vacuum=do_vacuum)
        compute_ratios(report)
        if "flash" not in args.skip:                                          # (3)
            report["flash_sale"] = run_flash_sale(api, base, dbs.bench_url, args, tag, meter)
        if "soak" not in args.skip:
            report["soak"] = run_soak(base, server, args, tag, meter)
        if "scale" not in args.skip:                                          # (4)
            report["scale"] = run_scale(base, dbs, scale_products(), args, tag, do_vacuum)
        if "orders" not in args.skip:                                         # (5)
            report["orders"] = run_orders(api, base, distinct, args, tag, dbs.bench_url,
                                          do_vacuum)
        api.close()
    finally:
        if server is not None:
            server.close()
        if not args.keep_db:
            dbs.drop_bench_db()
        dbs.close()
        shutil.rmtree(workdir, ignore_errors=True)
    report["machine"]["load_after"] = loadavg()                               # (6)
    report["elapsed_s"] = round(time.monotonic() - started, 1)
    print_report(report)
    write_results(report, keep_json=not args.no_json)
    return 0


def describe_database(report, dbs, args) -> bool:
    """Note the PostgreSQL server's settings, create the benchmark database; return
    whether to VACUUM before each round (``--vacuum``)."""
    report["machine"]["postgresql"] = dbs.info()
    do_vacuum = (args.vacuum == "always" or args.vacuum == "auto"
                 and report["machine"]["postgresql"]["autovacuum"] != "on")
    report["vacuum_between_rounds"] = do_vacuum
    log(f"database: {'embedded' if dbs.embedded else dbs.admin_url}; creating {BENCH_DB}")
    dbs.create_bench_db()
    return do_vacuum


def start_server(dbs, args):
    """The server on the benchmark database, ready; a client with a new admin token."""
    server = BenchServer(dbs.bench_url, workers=args.workers, threads=args.threads,
                         extra_env=args.server_env)
    server.wait_ready()
    log(f"server ready on 127.0.0.1:{server.port} "
        f"(--workers {args.workers} --threads {args.threads})")
    token = login(server)
    return server, Client(server.port, token), token


def scale_products():
    return [f"live-{n}" for n in SCALE_SIZES]


def create_all_products(api):
    """Every product of the run, over HTTP; return the 1,000 distinct ones."""
    distinct = [f"p{i:04d}" for i in range(N_DISTINCT)]
    create_products(api, ["hot", "pgbench-hot", *scale_products(), STALE_PRODUCT, *distinct])
    log("products created")
    return distinct


def interleaved_cases(report, args, dbs, token, base, distinct):
    """The pgbench and HTTP cases of the interleaved rounds, not skipped."""
    binary, units = None, []
    if "pgbench" not in args.skip:
        binary, report["machine"]["pgbench"], units = pgbench_units(
            dbs, token, base["lock_duration_us"], N_DISTINCT)
    return binary, units + http_units(args.skip, distinct)


if __name__ == "__main__":
    sys.exit(main())
