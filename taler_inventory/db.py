"""Connection pool and transaction helper.

One :class:`psycopg_pool.ConnectionPool` per process, opened on first use (so each
worker process of ``serve`` opens its own after the fork).  Connections run in autocommit mode:
an operation that is a single statement (typically one stored procedure call) costs
one round trip, and an operation of several statements opens an explicit
transaction with :func:`transaction`.  Deadlocks and serialization failures are
retried a bounded number of times; a database that cannot be reached becomes a 503.
"""
import logging
import os
import threading
from contextlib import contextmanager

import psycopg
from psycopg import errors as pgerrors
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from .errors import ErrorCode, TalerError

log = logging.getLogger(__name__)

SCHEMA = "inventory"
#: How the server's connections show in ``pg_stat_activity``.
APPLICATION_NAME = "taler-inventory"

_RETRYABLE = (pgerrors.SerializationFailure, pgerrors.DeadlockDetected)


def _configure(conn):
    conn.autocommit = True
    conn.execute(f"SET search_path TO {SCHEMA}")
    conn.execute("SET TIME ZONE 'UTC'")


class Database:
    """The database of one app: a lazily opened, fork-aware connection pool."""

    def __init__(self, url: str, *, min_size=1, max_size=8, timeout=5.0, retries=5):
        self.url = url
        self.min_size = min_size
        self.max_size = max_size
        self.timeout = timeout
        self.retries = retries
        self._pool = None
        self._pid = None
        self._lock = threading.Lock()

    @property
    def pool(self) -> ConnectionPool:
        if self._pool is None or self._pid != os.getpid():
            with self._lock:
                if self._pool is None or self._pid != os.getpid():
                    self._pool = ConnectionPool(
                        self.url, min_size=self.min_size, max_size=self.max_size,
                        timeout=self.timeout, configure=_configure,
                        kwargs={"row_factory": dict_row, "connect_timeout": max(2, int(self.timeout)),
                                "application_name": APPLICATION_NAME},
                        reconnect_timeout=0, open=False, name="taler-inventory")
                    self._pool.open(wait=False)
                    self._pid = os.getpid()
        return self._pool

    def close(self):
        if self._pool is not None and self._pid == os.getpid():
            self._pool.close()
        self._pool = None

    @contextmanager
    def connection(self):
        """Check a connection out of the pool; connection failures become 503."""
        try:
            with self.pool.connection() as conn:
                yield conn
        except PoolTimeout as exc:
            raise TalerError(ErrorCode.GENERIC_DB_START_FAILED, "no database connection available") from exc
        except psycopg.OperationalError as exc:
            if _connection_lost(exc):
                # Drop every idle connection that died with this one, so the
                # next requests get fresh ones once the database is back.
                self._check_pool()
                raise TalerError(ErrorCode.GENERIC_DB_START_FAILED, "database connection lost") from exc
            raise

    def _check_pool(self):
        pool = self._pool
        if pool is not None:
            threading.Thread(target=_safe_check, args=(pool,), daemon=True).start()

    def run(self, operation, *args, **kwargs):
        """Run ``operation(conn, *args, **kwargs)`` with bounded retries.

        The operation is responsible for its own transaction: a single statement in
        autocommit mode, or a ``with conn.transaction():`` block (see
        :func:`transaction`).  It is retried from the start on deadlock or
        serialization failure.
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
                    log.exception("database error")
                    raise TalerError(ErrorCode.GENERIC_DB_STORE_FAILED,
                                     type(exc).__name__) from exc


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


@contextmanager
def transaction(conn):
    """An explicit transaction on an autocommit connection."""
    with conn.transaction():
        yield conn


def init_app(app):
    settings = app.config["INVENTORY"]
    app.extensions["taler_inventory_db"] = Database(
        settings["DATABASE_URL"], min_size=settings["POOL_MIN_SIZE"],
        max_size=settings["POOL_MAX_SIZE"], timeout=settings["POOL_TIMEOUT"],
        retries=settings["TX_RETRIES"])


def get_db(app=None) -> Database:
    from flask import current_app
    return (app or current_app).extensions["taler_inventory_db"]
