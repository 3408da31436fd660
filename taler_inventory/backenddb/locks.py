"""Database operations on cart locks (one stored-procedure call each)."""
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class LockOutcome:
    status: str  # ok, unknown_product, precision, below_minimum, insufficient, too_many_locks
    available: Decimal | None = None
    next_expiration: int | None = None
    restock: int | None = None


def lock_product(conn, *, instance_id, token_hash, scopes, product_id, lock_uuid, quantity,
                 duration, now, reclaim_batch) -> LockOutcome:
    """Authorize, then set the lock (product, uuid) to ``quantity`` for ``duration``.

    One round trip.  Besides the lock statuses, ``status`` may be one of
    :func:`authorize`'s: unknown_instance, unauthorized, forbidden.
    """
    row = conn.execute(
        "SELECT out_status, out_available, out_next_expiration, out_restock"
        " FROM authorized_lock_product(%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (instance_id, token_hash, list(scopes), product_id, lock_uuid, quantity, duration,
         now, reclaim_batch)).fetchone()
    return LockOutcome(row["out_status"], row["out_available"], row["out_next_expiration"],
                       row["out_restock"])


def release_cart(conn, *, instance_serial, lock_uuid, now) -> int:
    """Release every lock of a cart; return how many of them were still live."""
    row = conn.execute("SELECT out_live FROM release_cart(%s, %s, %s)",
                       (instance_serial, lock_uuid, now)).fetchone()
    return row["out_live"]


def list_locks(conn, *, instance_serial, now, lock_uuid=None, product_id=None, limit=20,
               offset=None):
    """Live cart locks of an instance, by lock serial; ``limit`` < 0: descending."""
    where = ["h.instance_serial = %(instance)s", "h.lock_uuid IS NOT NULL",
             "h.expiration > %(now)s"]
    params = {"instance": instance_serial, "now": now, "limit": abs(limit)}
    if lock_uuid is not None:
        where.append("h.lock_uuid = %(uuid)s")
        params["uuid"] = lock_uuid
    if product_id is not None:
        where.append("h.product_serial = (SELECT product_serial FROM products"
                     " WHERE instance_serial = %(instance)s AND product_id = %(product)s)")
        params["product"] = product_id
    if offset is not None:
        where.append("h.hold_serial > %(offset)s" if limit >= 0 else "h.hold_serial < %(offset)s")
        params["offset"] = offset
    order = "ASC" if limit >= 0 else "DESC"
    return conn.execute(
        f"""SELECT h.hold_serial, h.lock_uuid, p.product_id, h.quantity, h.expiration
              FROM holds h JOIN products p ON p.product_serial = h.product_serial
             WHERE {' AND '.join(where)}
             ORDER BY h.hold_serial {order}
             LIMIT %(limit)s""", params).fetchall()
