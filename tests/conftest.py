"""Test fixtures: a real PostgreSQL per test session, a clean database per test.

By default the embedded PostgreSQL server (the project's own default) is started
once per session in a temporary directory; ``TALER_INVENTORY_TEST_DATABASE_URL``
points the suite at another server instead, where a database of this run's own
(``taler_inventory_test_`` and a random suffix) is created and dropped at the end, so
runs sharing a server never touch each other's data.  Each test starts from
truncated tables with only the admin instance.
"""
import contextlib
import os
import shutil
import tempfile
import uuid

import freezegun
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from taler_inventory import create_app
from taler_inventory.backenddb import schema

from . import factories
from .support.server import free_port

# The pool's and the server's own timing must not follow a frozen clock.
freezegun.configure(extend_ignore_list=["psycopg", "psycopg_pool", "gunicorn", "threading",
                                        "concurrent", "selectors", "socket"])

TEST_DB_PREFIX = "taler_inventory_test_"


def _admin_url(url: str) -> str:
    return make_conninfo(url, dbname=conninfo_to_dict(url).get("dbname") or "postgres")


@contextlib.contextmanager
def own_database(server_url: str, prefix: str):
    """A new database on the server at ``server_url``, dropped afterwards.

    The name is random, so the ``FORCE`` of the drop can only end this run's own
    connections (a server process a test left behind), never another run's.
    """
    name = prefix + uuid.uuid4().hex[:12]
    admin_url = _admin_url(server_url)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_conninfo(server_url, dbname=name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def database_url():
    external = os.environ.get("TALER_INVENTORY_TEST_DATABASE_URL")
    if external:
        with own_database(external, TEST_DB_PREFIX) as url:
            schema.dbinit(url)
            yield url
        return
    from taler_inventory import embedded
    data_dir = tempfile.mkdtemp(prefix="taler-inventory-test-")
    server, url = embedded.start(data_dir)
    schema.dbinit(url)
    yield url
    server.cleanup()
    shutil.rmtree(data_dir, ignore_errors=True)


TEST_SETTINGS = {
    "ARGON2_TIME_COST": 1,
    "ARGON2_MEMORY_COST": 64,
    "POOL_MIN_SIZE": 1,
    "POOL_MAX_SIZE": 20,
    "POOL_TIMEOUT": 5.0,
}


@pytest.fixture(scope="session")
def app(database_url):
    app = create_app(dict(TEST_SETTINGS, DATABASE_URL=database_url))
    app.testing = True
    yield app
    from taler_inventory.db import get_db
    get_db(app).close()


@pytest.fixture(scope="session")
def _admin_hash(app):
    return app.extensions["taler_inventory_passwords"].hash(factories.ADMIN_PASSWORD)


@pytest.fixture(autouse=True)
def clean_db(request, database_url, _admin_hash):
    """Every test starts with empty tables and the admin instance."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SET search_path TO inventory")
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'inventory'"
            " AND tablename <> 'schema_patches'")]
        conn.execute("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE")
        factories.insert_admin(conn, _admin_hash)
    yield


@pytest.fixture(autouse=True)
def fresh_login_throttle(app):
    """The failed logins of one test do not throttle the next."""
    app.extensions["taler_inventory_logins"].clear()


@pytest.fixture
def scratch_url(database_url):
    """A fresh, empty database on the test server (dropped afterwards)."""
    with own_database(make_conninfo(database_url, dbname="postgres"), "scratch_") as url:
        yield url


@pytest.fixture
def db(database_url):
    """A direct connection to the test database, to look at the state."""
    with psycopg.connect(database_url, autocommit=True,
                         row_factory=psycopg.rows.dict_row) as conn:
        conn.execute("SET search_path TO inventory")
        yield conn


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def admin_headers(client):
    """Authorization headers of an ``all`` token of the admin instance."""
    return factories.auth_headers(factories.token(client, "admin", factories.ADMIN_PASSWORD))


@pytest.fixture
def h(admin_headers):
    """The order tests' short name for :func:`admin_headers`."""
    return admin_headers


@pytest.fixture
def receiver(tmp_path):
    """A webhook receiver process on a free port (started by the test), stopped after."""
    from .webhook_receiver import Receiver
    rec = Receiver(tmp_path)
    yield rec
    rec.stop()


@pytest.fixture
def unreachable_app():
    """An app whose database refuses connections (nothing listens on its port)."""
    port = free_port()
    app = create_app(dict(TEST_SETTINGS, POOL_TIMEOUT=1.0, POOL_MIN_SIZE=0,
                          DATABASE_URL=f"postgresql://nobody@127.0.0.1:{port}/none"))
    yield app
    from taler_inventory.db import get_db
    get_db(app).close()
