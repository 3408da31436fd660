"""Database reads for monitoring: readiness and the gauges of ``GET /metrics``."""


def ping(conn) -> None:
    """Raise unless the database answers a query."""
    conn.execute("SELECT 1").fetchone()


def hold_counts(conn, *, now: int) -> dict:
    """Live cart locks and order lines, and expired holds not reclaimed yet."""
    return conn.execute(
        """SELECT count(*) FILTER (WHERE expiration > %(now)s AND lock_uuid IS NOT NULL)
                    AS live_locks,
                  count(*) FILTER (WHERE expiration > %(now)s AND order_serial IS NOT NULL)
                    AS live_orders,
                  count(*) FILTER (WHERE expiration <= %(now)s) AS backlog
             FROM holds""", {"now": now}).fetchone()
