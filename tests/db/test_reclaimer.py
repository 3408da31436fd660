"""The background reclaimer: what a pass takes, and one reclaimer per database."""
import threading

import psycopg
from psycopg.rows import dict_row

from taler_inventory import reclaimer
from taler_inventory.backenddb import maintenance
from taler_inventory.timeutil import US_PER_S, now_us

from .. import factories as f
from tests.support.waiting import until


def _connect(url):
    conn = psycopg.connect(url, autocommit=True, row_factory=dict_row)
    conn.execute("SET search_path TO inventory")
    return conn


def test_a_pass_takes_the_expired_holds_only(client, admin_headers, db, database_url):
    f.create_product(client, admin_headers, "p1", total_stock=10)
    f.create_product(client, admin_headers, "p2", total_stock=10)
    now = now_us()
    for i in range(3):
        f.insert_hold(db, "p1", 1, now - US_PER_S, lock_uuid=f"old-{i}")
    f.insert_hold(db, "p2", 2, now - 1, lock_uuid="old-x")
    f.insert_hold(db, "p1", 4, now + 600 * US_PER_S, lock_uuid="live")
    with _connect(database_url) as conn:
        assert reclaimer.reclaim_pass(conn) == (4, 2)
        assert reclaimer.reclaim_pass(conn) == (0, 0)
    rows = db.execute("SELECT lock_uuid, quantity FROM holds").fetchall()
    assert [(r["lock_uuid"], r["quantity"]) for r in rows] == [("live", 4)]
    reserved = {r["product_id"]: r["reserved"]
                for r in db.execute("SELECT product_id, reserved FROM products")}
    assert reserved == {"p1": 4, "p2": 0}
    assert maintenance.check(database_url, now_us()).violations == []


def test_a_pass_leaves_holds_that_a_request_has_locked(client, admin_headers, db, database_url):
    f.create_product(client, admin_headers, "p1", total_stock=10)
    now = now_us()
    f.insert_hold(db, "p1", 1, now - US_PER_S, lock_uuid="busy")
    f.insert_hold(db, "p1", 2, now - US_PER_S, lock_uuid="idle")
    with _connect(database_url) as busy, _connect(database_url) as conn:
        with busy.transaction():
            busy.execute("SELECT 1 FROM holds WHERE lock_uuid = 'busy' FOR NO KEY UPDATE")
            assert reclaimer.reclaim_pass(conn) == (1, 1)  # does not wait for it
        assert reclaimer.reclaim_pass(conn) == (1, 1)
    assert db.execute("SELECT count(*) AS n FROM holds").fetchone()["n"] == 0
    assert db.execute("SELECT reserved FROM products").fetchone()["reserved"] == 0


def test_one_reclaimer_works_per_database(client, admin_headers, db, database_url):
    f.create_product(client, admin_headers, "p1", total_stock=10)
    stops = [threading.Event(), threading.Event()]
    threads = [threading.Thread(target=reclaimer.serve_forever, args=(database_url, 0.05, stop))
               for stop in stops]
    for t in threads:
        t.start()
    try:
        key = reclaimer.RECLAIMER_LOCK_KEY

        def holders():
            return db.execute(
                """SELECT a.application_name FROM pg_locks l
                     JOIN pg_stat_activity a USING (pid)
                    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                      AND l.classid::int8 = %s AND l.objid::int8 = %s""",
                (key >> 32, key & 0xFFFFFFFF)).fetchall()

        def sessions():
            return db.execute("SELECT count(*) AS n FROM pg_stat_activity"
                              " WHERE application_name = 'taler-inventory reclaimer'"
                              ).fetchone()["n"]

        until(lambda: sessions() == 2 and len(holders()) == 1, "one of two works")
        f.insert_hold(db, "p1", 3, now_us() - 1, lock_uuid="old")
        until(lambda: db.execute("SELECT count(*) AS n FROM holds").fetchone()["n"] == 0,
              "the expired hold is reclaimed")
        assert db.execute("SELECT reserved FROM products").fetchone()["reserved"] == 0
        assert len(holders()) == 1
    finally:
        for stop in stops:
            stop.set()
        for t in threads:
            t.join(30)
    assert not any(t.is_alive() for t in threads)
