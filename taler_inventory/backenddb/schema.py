"""Create, upgrade and reset the database schema (``dbinit``).

Patches ``sql/inventory-NNNN.sql`` are applied once each, in order, and registered
in ``inventory.schema_patches``; the stored procedures in ``sql/procedures/`` are
reloaded on every init.  Concurrent inits (several servers starting at once) are
serialised by an advisory lock, so running it twice is a no-op.
"""
import re
from pathlib import Path

from . import instances

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
_PATCH = re.compile(r"^inventory-(\d{4})\.sql$")
_INIT_LOCK_KEY = 0x7461_6c65_7269_6e76  # "talerinv"


def patch_files() -> list[Path]:
    return sorted(p for p in SQL_DIR.iterdir() if _PATCH.match(p.name))


def procedure_files() -> list[Path]:
    return sorted((SQL_DIR / "procedures").glob("*.sql"))


def dbinit(url: str, *, reset: bool = False) -> list[str]:
    """Bring the schema at ``url`` up to date; return the names of applied patches."""
    applied = []
    with _connect(url) as conn:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_INIT_LOCK_KEY,))
            if reset:
                conn.execute("DROP SCHEMA IF EXISTS inventory CASCADE")
            conn.execute((SQL_DIR / "versioning.sql").read_text())
            done = {row["patch_name"] for row in conn.execute(
                "SELECT patch_name FROM inventory.schema_patches")}
            conn.execute("SET LOCAL search_path TO inventory")
            for path in patch_files():
                name = path.stem
                if name in done:
                    continue
                conn.execute(path.read_text())
                conn.execute("INSERT INTO inventory.schema_patches (patch_name) VALUES (%s)",
                             (name,))
                applied.append(name)
            for path in procedure_files():
                conn.execute(path.read_text())
            # What SQL cannot do for the patches: Ed25519 keys of older instances.
            instances.add_missing_keys(conn)
        if applied:
            # Fresh statistics for the planner right away, not only once
            # autovacuum comes by (and where it is off).
            conn.execute("ANALYZE inventory.holds, inventory.products, inventory.instances,"
                         " inventory.tokens, inventory.orders, inventory.order_lines")
    return applied


def current_patches(url: str) -> list[str]:
    with _connect(url) as conn:
        rows = conn.execute("SELECT patch_name FROM inventory.schema_patches ORDER BY patch_name")
        return [r["patch_name"] for r in rows]


def _connect(url: str):
    # Imported here, not with this module: the command line imports this module before
    # ``serve`` tells prometheus-client (which ``db`` imports) where its files go.
    from ..db import connect
    return connect(url, "dbinit", in_schema=False)
