"""The lock benchmark (``bench/locks.py``) in pieces, shared by the other benchmarks.

``database``: the PostgreSQL server and the benchmark database; ``server``: the real
server (the tests' runner, ``tests/support/server.py``) and a keep-alive client;
``load``: load-generator processes and their figures; ``pgbench``: the database
ceilings; ``scenarios``: the cases beyond the interleaved ones; ``report``: the
table and the results file; ``procstat``: CPU and memory from /proc.
"""
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "bench" / "results"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # taler_inventory and tests.support of this checkout


def log(*args):
    print(*args, file=sys.stderr, flush=True)
