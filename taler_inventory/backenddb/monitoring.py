"""Database reads for monitoring: readiness and the gauges of ``GET /metrics``."""


def ping(conn) -> None:
    """Raise unless the database answers a query."""
    conn.execute("SELECT 1").fetchone()


def hold_counts(conn, *, now: int) -> dict:
    """Live cart locks and order lines, expired holds not reclaimed yet, and the
    expired holds ``taler-inventory gc`` reclaimed in all."""
    return conn.execute(
        """SELECT count(*) FILTER (WHERE expiration > %(now)s AND lock_uuid IS NOT NULL)
                    AS live_locks,
                  count(*) FILTER (WHERE expiration > %(now)s AND order_serial IS NOT NULL)
                    AS live_orders,
                  count(*) FILTER (WHERE expiration <= %(now)s) AS backlog,
                  (SELECT COALESCE(max(value), 0) FROM maintenance_totals
                    WHERE name = 'gc_reclaimed_holds') AS gc_reclaimed
             FROM holds""", {"now": now}).fetchone()
