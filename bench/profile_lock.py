#!/usr/bin/env python3
"""Where the CPU of a lock request goes: the real server under load, sampled by py-spy.

    python bench/profile_lock.py                 # 8 clients, 15 s, one hot product
    python bench/profile_lock.py --seconds 30 --clients 16

Starts ``taler-inventory serve`` (one worker, so that one process is sampled) on a
fresh benchmark database, drives lock requests on one hot product through
keep-alive connections, and samples the worker with ``py-spy record`` (install it
with ``pip install py-spy``; it needs ptrace rights).  Prints the server's CPU
time per request and how the samples of the worker split between the layers of
a request on the CPU (the WSGI server, Flask and Werkzeug, authentication, body
parsing and validation, the group commit, psycopg), and writes the collapsed
stacks to bench/results/.
"""
import argparse
import collections
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from lockbench import RESULTS, log
from lockbench.database import DatabaseServer
from lockbench.load import lock_body
from lockbench.procstat import cpu_seconds, server_pids
from lockbench.server import BenchServer, Client, create_products, login

#: Frame patterns (file or function) and the layer they count for; the first
#: pattern found in a stack, from the innermost frame outwards, decides.
LAYERS = (
    ("psycopg and the pool (encode, send, decode)", ("psycopg",)),
    ("group commit", ("groupcommit.py",)),
    ("JSON body + marshmallow validation", ("marshmallow", "json_body", "raw_body",
                                            "schemas/", "json/")),
    ("authentication (token hash, scopes)", ("auth.py", "credentials", "bearer_token")),
    ("the view and its error mapping", ("api/locks.py",)),
    ("Flask + Werkzeug (routing, request, response)", ("flask/", "werkzeug/")),
    ("the HTTP bridge (taler_inventory/server.py, asyncio)", ("taler_inventory/server.py",
                                                            "asyncio/", "concurrent/")),
)
#: Frames of no layer of their own: they count for the layer that called them.
GENERIC = ("threading.py", "socket", "selectors", "queue.py", "contextlib", "<frozen")


def layer_of(stack: str) -> str:
    """The layer of the innermost frame that is not generic."""
    for frame in reversed(stack.split(";")):
        if any(g in frame for g in GENERIC):
            continue
        for name, patterns in LAYERS:
            if any(p in frame for p in patterns):
                return name
    return "other (threads, the interpreter)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    if shutil.which("py-spy") is None:
        raise SystemExit("py-spy is not installed (pip install py-spy)")
    db = DatabaseServer(args.database_url, dbname=f"taler_inventory_profile_{os.getpid()}")
    db.create_bench_db()
    server = BenchServer(db.bench_url, workers=1, threads=args.threads, extra_env={})
    try:
        server.wait_ready()
        token = login(server, "write")
        create_products(Client(server.port, token), ["hot"])
        pids = server_pids(server.proc.pid)
        workers = [p for p in pids if p != server.proc.pid]
        stop = threading.Event()
        counts = [0] * args.clients

        def load(k):
            client = Client(server.port, token)
            i = 0
            while not stop.is_set():
                status, _ = client.request("POST", "/private/products/hot/lock",
                                           lock_body(f"prof-{k}-{i}", 2_000_000))
                i += 1
                if status == 204:
                    counts[k] += 1
            client.close()

        threads = [threading.Thread(target=load, args=(k,)) for k in range(args.clients)]
        for t in threads:
            t.start()
        time.sleep(2)  # warm-up
        before, n0 = cpu_seconds(pids), sum(counts)
        out = Path(tempfile.mkdtemp(prefix="profile-lock-")) / "stacks.txt"
        spy = subprocess.run(["py-spy", "record", "--pid", str(workers[0]), "--rate", "250",
                              "--duration", str(args.seconds), "--format", "raw",
                              "--threads", "--gil", "--nonblocking", "-o", str(out)],
                             capture_output=True, text=True)
        after, n1 = cpu_seconds(pids), sum(counts)
        stop.set()
        for t in threads:
            t.join(30)
        requests = n1 - n0
        cpu = after - before
        print(f"{requests} locks in {args.seconds} s ({requests / args.seconds:.0f}/s);"
              f" server CPU {cpu:.2f} s = {cpu / max(requests, 1) * 1000:.3f} ms per lock")
        if spy.returncode != 0 or not out.exists():
            raise SystemExit(f"py-spy failed: {spy.stderr[-500:]}")
        busy = collections.Counter()
        for line in out.read_text().splitlines():
            stack, _, n = line.rpartition(" ")
            if not stack or "idle" in stack.split(";")[-1]:
                continue
            busy[layer_of(stack)] += int(n)
        total = sum(busy.values())
        for name, n in busy.most_common():
            print(f"  {n / total * 100:5.1f} %  {name}")
        RESULTS.mkdir(parents=True, exist_ok=True)
        kept = RESULTS / f"profile-{time.strftime('%Y%m%dT%H%M%S')}.txt"
        shutil.copy(out, kept)
        log(f"collapsed stacks: {kept}")
    finally:
        server.close()
        db.drop_bench_db()
        db.close()


if __name__ == "__main__":
    main()
