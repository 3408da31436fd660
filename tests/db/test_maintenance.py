"""``taler-inventory gc`` and ``taler-inventory check`` against the test database."""
from datetime import timedelta

import pytest
from click.testing import CliRunner

from taler_inventory.backenddb import maintenance
from taler_inventory.cli import main
from taler_inventory.timeutil import US_PER_S, now_us

from .. import factories as f
from ..support.clock import frozen_clock, t0_us


@pytest.fixture
def cli(database_url):
    """Run ``taler-inventory ARGS`` on the test database; return the click result."""
    def run(*args):
        return CliRunner().invoke(main, list(args),
                                  env={"TALER_INVENTORY_DATABASE_URL": database_url})
    return run


def state(db):
    """Per product: (reserved, sum of its holds, number of its holds)."""
    return {r["product_id"]: (r["reserved"], r["held"], r["n"]) for r in db.execute(
        """SELECT p.product_id, p.reserved, COALESCE(sum(h.quantity), 0) AS held,
                  count(h.*) AS n
             FROM products p LEFT JOIN holds h USING (product_serial)
            GROUP BY p.product_serial ORDER BY p.product_id""")}


def expired_holds(db, now):
    return db.execute("SELECT count(*) AS n FROM holds WHERE expiration <= %s",
                      (now,)).fetchone()["n"]


# -- gc -------------------------------------------------------------------------------

def test_gc_reclaims_every_expired_hold_in_batches(client, admin_headers, db, database_url):
    shop = f.instance_headers(client, admin_headers, "shop1", max_active_locks=100)
    f.create_product(client, admin_headers, "a1", total_stock=50)
    f.create_product(client, admin_headers, "a2", total_stock=50)
    f.create_product(client, shop, "s1", instance="shop1", total_stock=50)
    with frozen_clock() as clock:
        t0 = t0_us(clock)
        for i in range(7):
            f.lock(client, admin_headers, "a1", f"old-{i}", seconds=10, quantity=2)
        for i in range(3):
            f.lock(client, admin_headers, "a2", f"old-{i}", seconds=10)
            f.lock(client, shop, "s1", f"old-{i}", seconds=10, instance="shop1")
        f.lock(client, admin_headers, "a1", "live", seconds=60, quantity=5)
        f.lock(client, shop, "s1", "live", seconds=60, instance="shop1")
    now = t0 + 10 * US_PER_S
    assert expired_holds(db, now) == 13

    # Batches of 3: a1's seven expired holds take three transactions.
    report = maintenance.gc(database_url, now, batch=3)
    assert report["expired holds reclaimed"] == 13
    assert report["products cleaned"] == 3
    assert expired_holds(db, now) == 0
    assert state(db) == {"a1": (5, 5, 1), "a2": (0, 0, 0), "s1": (1, 1, 1)}
    active = db.execute("SELECT active_locks FROM instances WHERE instance_id = 'shop1'")
    assert active.fetchone()["active_locks"] == 1
    # The live locks are untouched, and a second run finds nothing.
    assert maintenance.gc(database_url, now, batch=3)["expired holds reclaimed"] == 0
    assert maintenance.check(database_url, now).violations == []


def test_gc_command_prints_counts_and_purges_tokens(client, admin_headers, db, cli):
    f.create_product(client, admin_headers, "p1")
    f.lock(client, admin_headers, "p1", "stays", seconds=3600, quantity=2)
    f.lock(client, admin_headers, "p1", "gone", seconds=0)  # expired at once
    assert state(db) == {"p1": (3, 3, 2)}
    f.token(client, "admin", f.ADMIN_PASSWORD, duration={"d_us": 0})
    tokens_before = db.execute("SELECT count(*) AS n FROM tokens").fetchone()["n"]

    result = cli("gc")
    assert result.exit_code == 0, result.output
    assert "expired holds reclaimed: 1" in result.output
    assert "products cleaned: 1" in result.output
    assert "expired tokens removed: 1" in result.output
    assert state(db) == {"p1": (2, 2, 1)}
    assert db.execute("SELECT count(*) AS n FROM tokens").fetchone()["n"] == tokens_before - 1
    assert expired_holds(db, now_us()) == 0


def test_gc_with_nothing_to_do(cli, db):
    result = cli("gc")
    assert result.exit_code == 0, result.output
    assert "expired holds reclaimed: 0" in result.output


def test_locks_after_gc_see_the_freed_stock(client, admin_headers, db, database_url):
    f.create_product(client, admin_headers, "p1", total_stock=3)
    with frozen_clock() as clock:
        t0 = t0_us(clock)
        f.lock(client, admin_headers, "p1", "old", quantity=3, seconds=5)
        maintenance.gc(database_url, t0 + 5 * US_PER_S - 1)  # not expired yet
        assert state(db) == {"p1": (3, 3, 1)}
        clock.tick(timedelta(seconds=5))
        maintenance.gc(database_url, t0 + 5 * US_PER_S)
        assert state(db) == {"p1": (0, 0, 0)}
        assert f.lock(client, admin_headers, "p1", "new", quantity=3).status_code == 204
        assert state(db) == {"p1": (3, 3, 1)}


# -- check ------------------------------------------------------------------------------

@pytest.fixture
def shop_with_locks(client, admin_headers):
    """Two instances with locked products, every counter right."""
    shop = f.instance_headers(client, admin_headers, "shop1", max_active_locks=10)
    f.create_product(client, admin_headers, "p1", total_stock=10)
    f.create_product(client, admin_headers, "free", total_stock=-1)
    f.create_product(client, shop, "p1", instance="shop1", total_stock=4)
    f.lock(client, admin_headers, "p1", "cart-1", quantity=5)
    f.lock(client, admin_headers, "free", "cart-1", quantity=5)
    f.lock(client, shop, "p1", "cart-1", quantity=4, instance="shop1")
    f.lock(client, shop, "p1", "cart-2", quantity=0, instance="shop1")
    return shop


def test_check_passes_on_a_sound_database(shop_with_locks, cli):
    result = cli("check")
    assert result.exit_code == 0, result.output
    assert "checked 3 products of 2 instances" in result.output
    assert result.output.strip().endswith("no product is oversold")


def test_check_catches_a_corrupt_reserved_counter(shop_with_locks, cli, db):
    # Still within the CHECK constraint (sold + reserved <= stock): only check sees it.
    db.execute("UPDATE products SET reserved = reserved + 1 WHERE product_id = 'p1'"
               " AND instance_serial = (SELECT instance_serial FROM instances"
               "                         WHERE instance_id = 'admin')")
    result = cli("check")
    assert result.exit_code == 1, result.output
    assert "product admin/p1: reserved is 6 but its holds sum to 5" in result.output
    assert "shop1/p1" not in result.output


def test_check_catches_holds_beyond_the_stock(shop_with_locks, cli, db):
    # A hold stored behind the counter's back: the stock is promised twice.
    db.execute("""INSERT INTO holds (instance_serial, product_serial, lock_uuid, quantity,
                                     expiration)
                  SELECT instance_serial, product_serial, 'rogue', 3, %s FROM products
                   WHERE product_id = 'p1' AND instance_serial =
                         (SELECT instance_serial FROM instances WHERE instance_id = 'shop1')""",
               (now_us() + 3600 * US_PER_S,))
    result = cli("check")
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert "product shop1/p1: reserved is 4 but its holds sum to 7" in lines
    assert "product shop1/p1: sold 0 + live holds 7 exceed the stock 4 (guarantee 1)" in lines
    assert "instance shop1: active_locks is 1 but it has 2 cart-lock rows" in lines


def test_check_catches_holds_of_no_product(shop_with_locks, cli, db):
    db.execute("""INSERT INTO holds (instance_serial, product_serial, lock_uuid, quantity,
                                     expiration)
                  SELECT instance_serial, 999999, 'orphan', 1, 0 FROM instances
                   WHERE instance_id = 'admin'""")
    result = cli("check")
    assert result.exit_code == 1, result.output
    assert "1 holds belong to no product" in result.output.splitlines()


def test_deleting_a_product_deletes_its_holds(shop_with_locks, db):
    """A trigger does what a foreign key would (holds have none, for the lock's speed)."""
    before = db.execute("SELECT count(*) AS n FROM holds").fetchone()["n"]
    gone = db.execute("""SELECT count(*) AS n FROM holds WHERE product_serial =
                           (SELECT product_serial FROM products WHERE product_id = 'p1'
                               AND instance_serial = (SELECT instance_serial FROM instances
                                                       WHERE instance_id = 'admin'))"""
                      ).fetchone()["n"]
    assert gone > 0
    db.execute("""DELETE FROM products WHERE product_id = 'p1' AND instance_serial =
                    (SELECT instance_serial FROM instances WHERE instance_id = 'admin')""")
    assert db.execute("SELECT count(*) AS n FROM holds").fetchone()["n"] == before - gone
    db.execute("DELETE FROM instances WHERE instance_id = 'shop1'")
    left = db.execute("SELECT count(*) AS n FROM holds h WHERE NOT EXISTS"
                      " (SELECT 1 FROM products p WHERE p.product_serial = h.product_serial)"
                      ).fetchone()["n"]
    assert left == 0


def test_check_catches_a_corrupt_lock_count(shop_with_locks, cli, db):
    db.execute("UPDATE instances SET active_locks = 7 WHERE instance_id = 'shop1'")
    result = cli("check")
    assert result.exit_code == 1, result.output
    assert "instance shop1: active_locks is 7 but it has 1 cart-lock rows" in result.output


def test_uncapped_instances_keep_no_count(shop_with_locks, cli, db):
    # Without a cap the counter is not kept, so its value means nothing.
    db.execute("UPDATE instances SET active_locks = 42 WHERE instance_id = 'admin'")
    result = cli("check")
    assert result.exit_code == 0, result.output


def test_a_later_loss_is_only_a_warning(shop_with_locks, client, admin_headers, cli):
    resp = client.patch("/private/products/p1", headers=admin_headers,
                        json={"total_lost": 8})
    assert resp.status_code == 204, resp.get_json()
    result = cli("check")
    assert result.exit_code == 0, result.output
    assert ("warning: product admin/p1: sold 0 + lost 8 + live holds 5 exceed the stock 10"
            in result.output)


def test_expired_holds_do_not_count_as_live(shop_with_locks, db, database_url):
    now = now_us()
    # A rogue hold that expired at ``now``: the counter misses it, but it holds nothing.
    db.execute("""INSERT INTO holds (instance_serial, product_serial, lock_uuid, quantity,
                                     expiration)
                  SELECT instance_serial, product_serial, 'rogue', 3, %s FROM products
                   WHERE product_id = 'p1' AND instance_serial =
                         (SELECT instance_serial FROM instances WHERE instance_id = 'shop1')""",
               (now,))
    result = maintenance.check(database_url, now)
    assert result.violations == [
        "product shop1/p1: reserved is 4 but its holds sum to 7",
        "instance shop1: active_locks is 1 but it has 2 cart-lock rows"]
    assert result.warnings == []
    # One microsecond earlier the rogue hold was live: the stock was promised twice.
    assert ("product shop1/p1: sold 0 + live holds 7 exceed the stock 4 (guarantee 1)"
            in maintenance.check(database_url, now - 1).violations)
