"""The connection pool, the connections outside it, and bounded retries.

One :class:`psycopg_pool.ConnectionPool` per process, opened on first use (so each
worker process of ``serve`` opens its own after the fork).  Connections run in
autocommit mode: an operation that is a single statement (typically one stored
procedure call) costs one round trip, and an operation of several statements opens an
explicit transaction (``with conn.transaction():``).  Deadlocks and serialization
failures are retried a bounded number of times; a database that cannot be reached
becomes a 503.  Whatever works outside a request (the command line, the schema, the
background workers) opens its connection with :func:`connect`.

Every wait on the database is bounded (doc/design.rst, "Bounded database waits"): the
wait for a pooled connection (``POOL_TIMEOUT``), the connection attempt
(``DB_CONNECT_TIMEOUT``), each statement and each wait for a lock on the server
(``DB_STATEMENT_TIMEOUT``, ``DB_LOCK_TIMEOUT``), a dead peer (TCP keepalives and
``DB_TCP_USER_TIMEOUT``), and, for a server that accepts bytes but never answers (a
frozen process), a watchdog that cuts the connection of an operation that outlives
``DB_STATEMENT_TIMEOUT`` by a second.
"""
import collections
import logging
import os
import select
import socket
import threading
import time
from contextlib import contextmanager

import psycopg
from psycopg import errors as pgerrors
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from . import metrics
from .errors import ErrorCode, LogBudget, TalerError

log = logging.getLogger(__name__)

SCHEMA = "inventory"
#: How the server's connections show in ``pg_stat_activity``.
APPLICATION_NAME = "taler-inventory"
#: Seconds a connection outside the pool (:func:`connect`) may take to open.
CONNECT_TIMEOUT = 10

_RETRYABLE = (pgerrors.SerializationFailure, pgerrors.DeadlockDetected)
#: Server-side timeouts: statement_timeout, lock_timeout (the database is slow or busy).
_TIMED_OUT = {"57014", "55P03"}
#: Seconds the watchdog gives an operation beyond the statement timeout.
WATCHDOG_GRACE = 1.0
#: Seconds between two attempts to find a connection while a request waits for one.
REGROW_INTERVAL = 0.25
#: What a 503 tells the client about when to try again, in seconds.
RETRY_AFTER = 1


def _clock() -> float:
    """Monotonic seconds that a frozen test clock does not stop (freezegun leaves
    ``clock_gettime`` alone): deadlines here measure real waiting."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def _unavailable(detail: str) -> TalerError:
    return TalerError(ErrorCode.GENERIC_DB_START_FAILED, detail, retry_after=RETRY_AFTER)


class Watchdog:
    """Cuts the connection of an operation that outlives its deadline.

    A frozen PostgreSQL (``SIGSTOP``, a hung host behind a live network) keeps the
    TCP connection open and acknowledges what is sent, so neither the statement
    timeout (enforced by that server) nor keepalives end the wait.  Shutting the
    socket down makes libpq's pending read fail at once: the request gets a 503 and
    the pool drops the connection.  One thread per process; every operation gets the
    same allowance, so deadlines arrive in the order they were set and a queue
    suffices.
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._cond = threading.Condition()
        self._queue = collections.deque()  # (deadline, watch), oldest first
        self._thread = threading.Thread(target=self._run, name="db-watchdog", daemon=True)
        self._thread.start()

    @contextmanager
    def watch(self, conn):
        """Watch ``conn`` for the block; the yielded dict says whether it was cut."""
        watch = {"conn": conn, "cut": False}
        with self._cond:
            self._queue.append((_clock() + self.seconds, watch))
            if len(self._queue) == 1:
                self._cond.notify()
        try:
            yield watch
        finally:
            with self._cond:
                watch["conn"] = None

    def _run(self):
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                deadline, watch = self._queue[0]
                delay = deadline - _clock()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                self._queue.popleft()
                conn = watch["conn"]
                if conn is not None:
                    watch["cut"] = True
            if conn is not None:
                log.warning("cutting a database connection: no answer within %g s",
                            self.seconds)
                _sever(conn)


def _sever(conn):
    try:
        fd = conn.pgconn.socket
        sock = socket.socket(fileno=os.dup(fd))
    except (OSError, psycopg.Error):
        return  # already closed
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.close()


class Database:
    """The database of one app: a lazily opened, fork-aware connection pool."""

    def __init__(self, url: str, *, min_size=1, max_size=8, timeout=5.0, retries=5,
                 connect_timeout=2.0, statement_timeout=5.0, lock_timeout=2.0,
                 tcp_user_timeout=10.0, errors_per_minute=10):
        self.url = url
        self.min_size = min_size
        self.max_size = max_size
        self.timeout = timeout
        self.retries = retries
        self.connect_timeout = connect_timeout
        self.statement_timeout = statement_timeout
        self.lock_timeout = lock_timeout
        self.tcp_user_timeout = tcp_user_timeout
        self.log_budget = LogBudget(errors_per_minute)
        self._pool = None
        self._watchdog = None
        self._pid = None
        self._lock = threading.Lock()

    def _connect_kwargs(self) -> dict:
        kwargs = {"row_factory": dict_row, "application_name": APPLICATION_NAME,
                  # libpq counts whole seconds and takes at least 2.
                  "connect_timeout": max(2, round(self.connect_timeout))}
        # A peer that vanished (host down, network cut) is noticed within seconds
        # instead of the kernel's retransmission timeout (~15 min).  libpq ignores
        # these on a Unix socket.
        kwargs.update(keepalives=1, keepalives_idle=5, keepalives_interval=2,
                      keepalives_count=3, tcp_user_timeout=int(self.tcp_user_timeout * 1000))
        return kwargs

    def _configure(self, conn):
        conn.autocommit = True
        conn.execute(
            "SELECT set_config('search_path', %s, false), set_config('TimeZone', 'UTC', false),"
            " set_config('statement_timeout', %s, false), set_config('lock_timeout', %s, false),"
            " set_config('idle_in_transaction_session_timeout', %s, false)",
            (SCHEMA, _ms(self.statement_timeout), _ms(self.lock_timeout),
             _ms(2 * self.statement_timeout)))

    @property
    def pool(self) -> ConnectionPool:
        if self._pool is None or self._pid != os.getpid():
            with self._lock:
                if self._pool is None or self._pid != os.getpid():
                    self._pool = ConnectionPool(
                        self.url, min_size=self.min_size, max_size=self.max_size,
                        timeout=self.timeout, configure=self._configure,
                        kwargs=self._connect_kwargs(),
                        reconnect_timeout=0, open=False, name="taler-inventory")
                    self._pool.open(wait=False)
                    self._watchdog = Watchdog(self.statement_timeout + WATCHDOG_GRACE)
                    self._pid = os.getpid()
        return self._pool

    def close(self):
        if self._pool is not None and self._pid == os.getpid():
            self._pool.close()
        self._pool = None

    def _getconn(self, timeout: float | None = None):
        """A pooled connection within ``POOL_TIMEOUT``, or 503.

        The pool tries one new connection when a request finds none free; if that
        attempt fails (the database is down), nobody would try again while the
        request waits.  Waiting in short slices (each new wait lets the pool try
        again) lets a waiting request get a connection within a fraction of a
        second of the database coming back.
        """
        pool = self.pool
        deadline = _clock() + (self.timeout if timeout is None else timeout)
        while True:
            remaining = deadline - _clock()
            try:
                conn = pool.getconn(timeout=max(0.001, min(REGROW_INTERVAL, remaining)))
            except PoolTimeout:
                # A new getconn() lets the pool try another connection.
                if remaining <= REGROW_INTERVAL:
                    metrics.DB_ERRORS.labels("pool_timeout").inc()
                    raise _unavailable("no database connection available") from None
                continue
            if _closed_by_server(conn):
                conn.close()
                pool.putconn(conn)  # dropped; the pool opens a replacement
                continue
            return conn

    @contextmanager
    def connection(self, timeout: float | None = None):
        """Check a connection out of the pool; connection failures become 503.

        ``timeout`` shortens the wait for a connection (readiness probes).
        """
        started = time.perf_counter()
        conn = self._getconn(timeout)
        metrics.POOL_WAIT.observe(time.perf_counter() - started)
        try:
            with self._watchdog.watch(conn) as watch:
                try:
                    yield conn
                except psycopg.OperationalError as exc:
                    if watch["cut"]:
                        metrics.DB_ERRORS.labels("cut").inc()
                        raise _unavailable(f"the database did not answer within "
                                           f"{self._watchdog.seconds:g} s") from None
                    if exc.sqlstate in _TIMED_OUT:
                        metrics.DB_ERRORS.labels("timeout").inc()
                        raise _unavailable("the database did not answer in time") from None
                    if _connection_lost(exc):
                        metrics.DB_ERRORS.labels("connection_lost").inc()
                        # Drop every idle connection that died with this one, so
                        # the next requests get fresh ones once the database is back.
                        self._check_pool()
                        raise _unavailable("database connection lost") from None
                    raise
        finally:
            self.pool.putconn(conn)

    def _check_pool(self):
        pool = self._pool
        if pool is not None:
            threading.Thread(target=_safe_check, args=(pool,), daemon=True).start()

    def run(self, operation, *args, **kwargs):
        """Run ``operation(conn, *args, **kwargs)`` with bounded retries.

        The operation is responsible for its own transaction: a single statement in
        autocommit mode, or a ``with conn.transaction():`` block.  It is retried from
        the start on deadlock or serialization failure.
        """
        attempt = 0
        while True:
            attempt += 1
            with self.connection() as conn:
                try:
                    return operation(conn, *args, **kwargs)
                except _RETRYABLE:
                    if attempt >= self.retries:
                        log.warning("giving up after %d conflicting attempts", attempt)
                        raise TalerError(ErrorCode.GENERIC_DB_SOFT_FAILURE) from None
                except psycopg.OperationalError:
                    raise
                except psycopg.Error as exc:
                    self.log_budget.report(log, "database error", exc)
                    metrics.DB_ERRORS.labels("error").inc()
                    raise TalerError(ErrorCode.GENERIC_DB_STORE_FAILED,
                                     type(exc).__name__) from None


def _closed_by_server(conn) -> bool:
    """Whether the server closed (or is closing) a pooled connection while it sat idle.

    Checked on every checkout.  An idle session gets nothing from the server unless it
    is being shut down (a restart, ``pg_terminate_backend``), so a readable socket
    means the connection is gone: it is dropped and another one taken, instead of
    failing the request on it.  One ``select`` call, no round trip.
    """
    return conn.closed or bool(select.select([conn.fileno()], [], [], 0)[0])


def _ms(seconds: float) -> str:
    return f"{max(1, int(seconds * 1000))}ms"


def _safe_check(pool):
    try:
        pool.check()
    except Exception:  # the pool logs its own failures
        pass


def _connection_lost(exc: psycopg.OperationalError) -> bool:
    if isinstance(exc, (pgerrors.AdminShutdown, pgerrors.CannotConnectNow,
                        pgerrors.ConnectionFailure, pgerrors.ConnectionException)):
        return True
    return exc.sqlstate is None or exc.sqlstate.startswith("08") or exc.sqlstate.startswith("57P")


def connect(url: str, purpose: str, *, in_schema: bool = True, **settings) -> psycopg.Connection:
    """A connection of its own, outside the pool: for the command line, the schema, the
    reclaimer, the webhook worker and the listener of long polling.

    Autocommit with ``dict_row`` rows, named ``taler-inventory <purpose>`` in
    ``pg_stat_activity``, opened within :data:`CONNECT_TIMEOUT`, and with ``in_schema``
    in the ``inventory`` schema; ``settings`` (psycopg's keywords) override these.
    """
    kwargs = {"autocommit": True, "row_factory": dict_row, "connect_timeout": CONNECT_TIMEOUT,
              "application_name": f"{APPLICATION_NAME} {purpose}", **settings}
    conn = psycopg.connect(url, **kwargs)
    if in_schema:
        conn.execute(f"SET search_path TO {SCHEMA}")
    return conn


def init_app(app):
    settings = app.config["INVENTORY"]
    app.extensions["taler_inventory_db"] = Database(
        settings["DATABASE_URL"], min_size=settings["POOL_MIN_SIZE"],
        max_size=settings["POOL_MAX_SIZE"], timeout=settings["POOL_TIMEOUT"],
        retries=settings["TX_RETRIES"], connect_timeout=settings["DB_CONNECT_TIMEOUT"],
        statement_timeout=settings["DB_STATEMENT_TIMEOUT"],
        lock_timeout=settings["DB_LOCK_TIMEOUT"],
        tcp_user_timeout=settings["DB_TCP_USER_TIMEOUT"],
        errors_per_minute=settings["LOG_ERRORS_PER_MINUTE"])


def get_db(app=None) -> Database:
    from flask import current_app
    return (app or current_app).extensions["taler_inventory_db"]
