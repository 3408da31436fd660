"""Maintenance operations behind ``taler-inventory gc`` and ``check``."""
from typing import NamedTuple

import psycopg

from .. import db
from .. import quantity as q
from . import tokens as tokens_db
from . import webhooks as webhooks_db

#: Expired holds reclaimed per transaction: the product row stays locked that long.
GC_BATCH = 1000


def gc(url: str, now: int, *, batch: int = GC_BATCH,
       webhook_keep_us: int | None = None) -> dict:
    """Reclaim every hold expired at ``now`` and purge expired tokens; return counts.

    Each product is cleaned in transactions of at most ``batch`` holds, so a
    request on a busy product never waits long behind the collector.  With
    ``webhook_keep_us``, webhook deliveries delivered longer ago go too.
    """
    with db.connect(url, "gc") as conn:
        holds, products = reclaim_expired(conn, now, batch=batch)
        add_total(conn, GC_RECLAIMED, holds)
        tokens = tokens_db.purge_expired_tokens(conn, now)
        report = {"expired holds reclaimed": holds, "products cleaned": products,
                  "expired tokens removed": tokens}
        if webhook_keep_us is not None:
            report["delivered webhook events forgotten"] = webhooks_db.prune_delivered(
                conn, now - webhook_keep_us)
    return report


#: The name in maintenance_totals of the holds ``gc`` reclaimed (GET /metrics).
GC_RECLAIMED = "gc_reclaimed_holds"


def add_total(conn, name: str, count: int):
    """Add ``count`` to a running total of maintenance_totals (inventory-0017)."""
    if count:
        conn.execute("""INSERT INTO maintenance_totals (name, value) VALUES (%s, %s)
                        ON CONFLICT (name) DO UPDATE
                        SET value = maintenance_totals.value + EXCLUDED.value""",
                     (name, count))


def reclaim_expired(conn, now: int, *, batch: int = GC_BATCH,
                    max_products: int | None = None) -> tuple[int, int]:
    """Reclaim the holds expired at ``now``; return (holds reclaimed, products cleaned).

    One transaction per ``batch`` holds of one product; ``max_products`` bounds
    the work of one call (the products whose holds expired first go first).
    Holds that a request is changing at that moment are left for the next call.
    """
    holds = products = 0
    for serial in _products_with_expired_holds(conn, now, max_products):
        reclaimed = _gc_product_holds(conn, serial, now, batch)
        if reclaimed:
            holds += reclaimed
            products += 1
    return holds, products


def _products_with_expired_holds(conn, now: int, limit: int | None) -> list[int]:
    # holds_by_expiration: only expired rows are visited.
    if limit is None:
        rows = conn.execute("SELECT DISTINCT product_serial FROM holds WHERE expiration <= %s",
                            (now,))
    else:
        rows = conn.execute(
            """SELECT product_serial FROM holds WHERE expiration <= %s
                GROUP BY product_serial ORDER BY min(expiration) LIMIT %s""", (now, limit))
    return [r["product_serial"] for r in rows]


def _gc_product_holds(conn, product_serial: int, now: int, batch: int) -> int:
    total = 0
    while True:
        row = conn.execute("SELECT out_holds FROM gc_product_holds(%s, %s, %s)",
                           (product_serial, now, batch)).fetchone()
        total += row["out_holds"]
        if row["out_holds"] < batch:
            return total


class CheckResult(NamedTuple):
    """What ``check`` found: violations fail the check, warnings do not."""

    violations: list[str]
    warnings: list[str]
    products: int
    instances: int


_PRODUCTS = """
SELECT i.instance_id, p.product_id, p.total_stock, p.total_sold, p.total_lost, p.reserved,
       COALESCE(h.held, 0) AS held, COALESCE(h.live, 0) AS live, h.foreign_holds
  FROM products p
  JOIN instances i ON i.instance_serial = p.instance_serial
  CROSS JOIN LATERAL (
    SELECT sum(quantity) AS held,
           sum(quantity) FILTER (WHERE expiration > %(now)s) AS live,
           count(*) FILTER (WHERE instance_serial <> p.instance_serial) AS foreign_holds
      FROM holds WHERE product_serial = p.product_serial) h
 ORDER BY p.instance_serial, p.product_serial
"""

_INSTANCES = """
SELECT i.instance_id, i.max_active_locks, i.active_locks,
       (SELECT count(*) FROM holds h
         WHERE h.instance_serial = i.instance_serial AND h.lock_uuid IS NOT NULL) AS rows
  FROM instances i
 ORDER BY i.instance_serial
"""

# Holds have no foreign key to their product (inventory-0010).
_ORPHANS = """
SELECT count(*) AS n FROM holds h
 WHERE NOT EXISTS (SELECT 1 FROM products p WHERE p.product_serial = h.product_serial)
"""


def check(url: str, now: int) -> CheckResult:
    """Verify every stored counter and guarantee 1 (SPEC §8) at ``now``.

    One read-only snapshot: concurrent requests never make it report a
    half-done transaction.
    """
    violations, warnings = [], []
    products = 0
    with db.connect(url, "check") as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.transaction():
            with conn.cursor(name="check_products") as cur:
                cur.execute(_PRODUCTS, {"now": now})
                for row in cur:
                    products += 1
                    _check_product(row, violations, warnings)
            instances = conn.execute(_INSTANCES).fetchall()
            orphans = conn.execute(_ORPHANS).fetchone()["n"]
    if orphans:
        violations.append(f"{orphans} holds belong to no product")
    for row in instances:
        if row["max_active_locks"] is not None and row["active_locks"] != row["rows"]:
            violations.append(f"instance {row['instance_id']}: active_locks is"
                              f" {row['active_locks']} but it has {row['rows']} cart-lock rows")
    return CheckResult(violations, warnings, products, len(instances))


def _check_product(row, violations: list, warnings: list):
    name = f"product {row['instance_id']}/{row['product_id']}"
    fmt = q.format
    if row["reserved"] != row["held"]:
        violations.append(f"{name}: reserved is {fmt(row['reserved'])} but its holds sum to"
                          f" {fmt(row['held'])}")
    if row["foreign_holds"]:
        violations.append(f"{name}: {row['foreign_holds']} holds belong to another instance")
    stock = row["total_stock"]
    if stock is None:
        return
    sold, lost, live = row["total_sold"], row["total_lost"], row["live"]
    if sold + row["reserved"] > stock:
        violations.append(f"{name}: sold {fmt(sold)} + reserved {fmt(row['reserved'])}"
                          f" exceed the stock {fmt(stock)}")
    if sold + live > stock:
        violations.append(f"{name}: sold {fmt(sold)} + live holds {fmt(live)}"
                          f" exceed the stock {fmt(stock)} (guarantee 1)")
    elif sold + lost + live > stock:
        warnings.append(f"warning: {name}: sold {fmt(sold)} + lost {fmt(lost)} + live holds"
                        f" {fmt(live)} exceed the stock {fmt(stock)} (a loss recorded after"
                        f" the holds oversubscribes them)")
