"""The test databases: each run has its own, and leaves nothing behind."""
import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests.conftest import TEST_DB_PREFIX, own_database


def _databases(url) -> set[str]:
    with psycopg.connect(make_conninfo(url, dbname="postgres")) as conn:
        return {r[0] for r in conn.execute("SELECT datname FROM pg_database")}


def test_each_run_gets_a_database_of_its_own_and_drops_it(database_url):
    server = make_conninfo(database_url, dbname="postgres")
    # What older runs left: the fixed name, perhaps in use by another run.
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute('CREATE DATABASE "taler_inventory_test"')
    try:
        with own_database(server, TEST_DB_PREFIX) as one, \
                own_database(server, TEST_DB_PREFIX) as two:
            names = {conninfo_to_dict(one)["dbname"], conninfo_to_dict(two)["dbname"]}
            assert len(names) == 2
            assert all(n.startswith(TEST_DB_PREFIX) and len(n) > len(TEST_DB_PREFIX)
                       for n in names)
            assert names <= _databases(database_url)
            # A server process a test left behind: the drop must end its connection.
            leftover = psycopg.connect(one)
        assert not names & _databases(database_url)
        leftover.close()
        assert "taler_inventory_test" in _databases(database_url)  # never touched
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute('DROP DATABASE IF EXISTS "taler_inventory_test"')
