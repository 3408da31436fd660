"""The background reclaimer: expired holds go while nobody asks for their stock.

A lock that fits reclaims nothing (its product row stays locked only for the
counter), so expired holds stay stored, holding nothing, until a request would
not fit without them, ``taler-inventory gc`` runs, or this reclaimer comes by.
``serve`` runs it as a child process (:func:`running`); every
``TALER_INVENTORY_RECLAIM_INTERVAL`` seconds (1) it reclaims what expired, in
transactions of at most ``GC_BATCH`` holds of one product, oldest first.

One reclaimer works per database, however many ``serve`` processes (or
machines) share it: each holds a session advisory lock while it works, and the
others wait for it to go.  The process stops when its parent does.
"""
import logging
import os
import threading
from contextlib import contextmanager

import psycopg

from . import children, db, metrics
from .backenddb import maintenance
from .timeutil import now_us

log = logging.getLogger(__name__)

#: The session advisory lock that makes one reclaimer per database ("reclaimr").
RECLAIMER_LOCK_KEY = 0x7265_636c_6169_6d72
#: Products visited per pass at most (each in its own short transactions).
MAX_PRODUCTS = 1000
ENV_URL = "TALER_INVENTORY_RECLAIMER_URL"
ENV_INTERVAL = "TALER_INVENTORY_RECLAIM_INTERVAL"
RECLAIM_INTERVAL = 1.0


def reclaim_pass(conn) -> tuple[int, int]:
    """One pass over what has expired by now: (holds reclaimed, products cleaned)."""
    return maintenance.reclaim_expired(conn, now_us(), max_products=MAX_PRODUCTS)


def serve_forever(url: str, interval: float, stop: threading.Event):
    """Reclaim every ``interval`` seconds while holding the reclaimer lock, until ``stop``."""
    while not stop.is_set():
        try:
            with db.connect(url, "reclaimer") as conn:
                _work(conn, interval, stop)
        except psycopg.Error as exc:
            log.warning("reclaimer: %s; trying again", str(exc).strip().splitlines()[0])
        stop.wait(interval * 5)


def _work(conn, interval, stop):
    while not stop.is_set():
        got = conn.execute("SELECT pg_try_advisory_lock(%s) AS got",
                           (RECLAIMER_LOCK_KEY,)).fetchone()["got"]
        if got:
            break
        stop.wait(interval * 5)  # another one works; take over should it go
    while not stop.is_set():
        holds, _ = reclaim_pass(conn)
        # In serve's metrics directory (inherited), so GET /metrics adds it up.
        metrics.lock_outcome("expired", holds)
        stop.wait(interval)


@contextmanager
def running(url: str, *, interval: float = RECLAIM_INTERVAL):
    """Run the reclaimer as a child process while the block runs (``interval`` 0: none)."""
    if interval <= 0:
        yield None
        return
    with children.running(__name__, {ENV_URL: url, ENV_INTERVAL: str(interval)},
                          stop_timeout=10) as proc:
        yield proc


def main():
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    url = os.environ[ENV_URL]
    interval = float(os.environ.get(ENV_INTERVAL) or RECLAIM_INTERVAL)
    serve_forever(url, interval, children.stop_event())


if __name__ == "__main__":
    main()
