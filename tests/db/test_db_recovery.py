"""A lost database connection is a 503 (code 51), never a 500 or a hang, and the
server recovers by itself; conflicts are retried a bounded number of times."""
import threading
import time

import pytest

from taler_inventory import create_app
from taler_inventory.db import Database, get_db
from taler_inventory.errors import ErrorCode, TalerError
from tests.checks import assert_error
from tests.conftest import TEST_SETTINGS


def _terminate_app_connections(db) -> int:
    rows = db.execute(
        "SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity"
        " WHERE application_name = 'taler-inventory' AND datname = current_database()"
        " AND pid <> pg_backend_pid()").fetchall()
    return len(rows)


def _warm_up(client, headers, n=5):
    for _ in range(n):
        assert client.get("/private", headers=headers).status_code == 200


def test_terminated_connections_give_503_then_recover(client, admin_headers, db):
    _warm_up(client, admin_headers)
    assert _terminate_app_connections(db) >= 1
    statuses = []
    started = time.monotonic()
    for _ in range(10):
        resp = client.get("/private", headers=admin_headers)
        if resp.status_code != 200:
            assert_error(resp, 503, 51)
        statuses.append(resp.status_code)
    assert time.monotonic() - started < 10, "no request may hang"
    assert 200 in statuses
    # Within a few requests everything works again, and keeps working.
    first_ok = statuses.index(200)
    assert first_ok <= 5, statuses
    assert all(s == 200 for s in statuses[first_ok:]), statuses
    # Writes work again too, and what they write is there.
    resp = client.patch("/private", headers=admin_headers, json={"name": "after the storm"})
    assert resp.status_code == 204
    assert db.execute("SELECT name FROM instances WHERE instance_id = 'admin'") \
        .fetchone()["name"] == "after the storm"


def test_repeated_terminations_never_give_500(client, admin_headers, db):
    for _ in range(3):
        _warm_up(client, admin_headers, 2)
        _terminate_app_connections(db)
        for _ in range(3):
            resp = client.patch("/private", headers=admin_headers, json={"email": "a@b.example"})
            if resp.status_code != 204:
                assert_error(resp, 503, 51)
    statuses = [client.get("/private", headers=admin_headers).status_code for _ in range(8)]
    assert statuses[-3:] == [200, 200, 200], statuses


def test_connection_killed_mid_statement_is_503(app, db):
    database = get_db(app)
    ready = threading.Event()

    def slow(conn):
        ready.set()
        conn.execute("SELECT pg_sleep(30)")

    def killer():
        ready.wait(5)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            n = db.execute("SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity"
                           " WHERE query LIKE 'SELECT pg_sleep(30)%%'"
                           " AND datname = current_database()"
                           " AND pid <> pg_backend_pid()").fetchone()["n"]
            if n:
                return
            time.sleep(0.02)

    thread = threading.Thread(target=killer)
    thread.start()
    started = time.monotonic()
    with pytest.raises(TalerError) as info:
        database.run(slow)
    thread.join()
    assert info.value.code is ErrorCode.GENERIC_DB_START_FAILED
    assert info.value.http_status == 503
    assert time.monotonic() - started < 10


def test_connection_killed_inside_a_transaction_is_503(app, db):
    database = get_db(app)

    def write_then_die(conn):
        with conn.transaction():
            conn.execute("UPDATE instances SET name = 'half-done' WHERE instance_id = 'admin'")
            db.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
            conn.execute("SELECT 1")

    with pytest.raises(TalerError) as info:
        database.run(write_then_die)
    assert info.value.http_status == 503
    # The failed request changed nothing.
    assert db.execute("SELECT name FROM instances WHERE instance_id = 'admin'") \
        .fetchone()["name"] == "admin"


def test_unreachable_database_is_a_bounded_503(client):
    app = create_app(dict(TEST_SETTINGS, POOL_TIMEOUT=1.0,
                          DATABASE_URL="postgresql://nobody@127.0.0.1:9/none"))
    unreachable = app.test_client()
    try:
        started = time.monotonic()
        resp = unreachable.get("/private", headers={"Authorization": "Bearer secret-token:x"})
        assert_error(resp, 503, 51)
        assert time.monotonic() - started < 8
        # What needs no database still works.
        assert unreachable.get("/config").status_code == 200
    finally:
        get_db(app).close()


def test_serialization_failures_are_retried(app, db):
    database = get_db(app)
    attempts = []

    def conflicting_twice(conn):
        attempts.append(1)
        if len(attempts) <= 2:
            conn.execute("DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$")
        return conn.execute("SELECT 42 AS answer").fetchone()["answer"]

    assert database.run(conflicting_twice) == 42
    assert len(attempts) == 3


def test_deadlocks_are_retried_a_bounded_number_of_times(app):
    database = get_db(app)
    attempts = []

    def always_deadlocked(conn):
        attempts.append(1)
        conn.execute("DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$")

    with pytest.raises(TalerError) as info:
        database.run(always_deadlocked)
    assert info.value.code is ErrorCode.GENERIC_DB_SOFT_FAILURE
    assert len(attempts) == database.retries


def test_other_database_errors_are_500_52(app):
    database = get_db(app)
    with pytest.raises(TalerError) as info:
        database.run(lambda conn: conn.execute("SELECT * FROM no_such_table"))
    assert info.value.code is ErrorCode.GENERIC_DB_STORE_FAILED
    assert info.value.http_status == 500


def test_pool_is_reopened_after_fork(database_url):
    """Each gunicorn worker gets its own pool: the pool remembers the pid that opened it."""
    database = Database(database_url, min_size=1, max_size=2, timeout=5)
    try:
        first = database.pool
        assert database.run(lambda conn: conn.execute("SELECT 1 AS x").fetchone()["x"]) == 1
        database._pid = -1  # as seen from a forked child
        assert database.pool is not first
    finally:
        first.close()
        database.close()


def test_app_connections_are_named(client, admin_headers, db):
    _warm_up(client, admin_headers, 1)
    names = {r["application_name"] for r in db.execute(
        "SELECT application_name FROM pg_stat_activity WHERE datname = current_database()")}
    assert "taler-inventory" in names
