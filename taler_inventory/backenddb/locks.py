"""Database operations on cart locks (one stored-procedure call each, named after it)."""
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from .outcome import Outcome, Status
from .paging import page


@dataclass(frozen=True)
class LockOutcome(Outcome):
    """A lock request's outcome: OK, REPLACED, UNKNOWN (product), PRECISION,
    BELOW_MINIMUM, INSUFFICIENT (with what is available), TOO_MANY_LOCKS, or one of
    SQL ``authorize``'s (UNKNOWN_INSTANCE, UNAUTHORIZED, FORBIDDEN)."""

    available: Decimal | None = None
    next_expiration: int | None = None
    restock: int | None = None
    #: Expired holds of the product that the call reclaimed (the same for every
    #: request of a batch: they are reclaimed once, for all of them).
    reclaimed: int = 0


class LockRequest(NamedTuple):
    """One lock request on a product: what the endpoint passes to the database."""

    token_hash: bytes | None
    lock_uuid: str
    quantity: Decimal
    duration: int


def lock_products(conn, *, instance_id, product_id, scopes, now,
                  requests: Sequence[LockRequest]) -> list[LockOutcome]:
    """Authorize and apply lock requests on one product, in order, in one transaction.

    One round trip whatever the number of requests; their ``lock_uuid`` must be
    distinct.  A batch of one is :func:`lock_product`, without arrays.
    """
    if len(requests) == 1:
        return [lock_product(conn, instance_id=instance_id, product_id=product_id,
                             scopes=scopes, now=now, request=requests[0])]
    params = (instance_id, product_id, list(scopes), now,
              [r.token_hash for r in requests], [r.lock_uuid for r in requests],
              [r.quantity for r in requests], [r.duration for r in requests])
    row = conn.execute(_LOCK_PRODUCTS, params).fetchone()
    restock, reclaimed = row["out_restock"], row["out_reclaimed"] or 0
    return [LockOutcome(Status(status), None, available, next_expiration, restock, reclaimed)
            for status, available, next_expiration in zip(
                row["out_statuses"], row["out_available"], row["out_next_expirations"],
                strict=True)]


def lock_product(conn, *, instance_id, product_id, scopes, now,
                 request: LockRequest) -> LockOutcome:
    """:func:`lock_products` for one request: the common case, whose plain parameters
    cost the client less to send than arrays, and whose new lock that fits takes a
    short way in SQL."""
    r = request
    row = conn.execute(_LOCK_PRODUCT, (instance_id, product_id, " ".join(scopes), now,
                                       r.token_hash, r.lock_uuid, r.quantity,
                                       r.duration)).fetchone()
    return LockOutcome(Status(row["out_status"]), None, row["out_available"],
                       row["out_next_expiration"], row["out_restock"],
                       row["out_reclaimed"] or 0)


_LOCK_PRODUCT = ("SELECT out_status, out_available, out_next_expiration, out_restock,"
                 " out_reclaimed"
                 " FROM lock_product(%s, %s, %s, %s, %s, %s, %s, %s)")
_LOCK_PRODUCTS = ("SELECT out_statuses, out_available, out_next_expirations, out_restock,"
                  " out_reclaimed"
                  " FROM lock_products(%s, %s, %s, %s, %s::bytea[], %s::text[],"
                  " %s::numeric[], %s::int8[])")


@dataclass(frozen=True)
class ReleaseOutcome(Outcome):
    """A cart released: OK, or UNKNOWN when none of its locks still held stock."""

    #: How many of its locks still held stock.
    live: int = 0


def release_cart(conn, *, instance_serial, lock_uuid, now) -> ReleaseOutcome:
    """Release every lock of a cart."""
    live = conn.execute("SELECT out_live FROM release_cart(%s, %s, %s)",
                        (instance_serial, lock_uuid, now)).fetchone()["out_live"]
    return ReleaseOutcome(Status.OK if live else Status.UNKNOWN, live=live)


def list_locks(conn, *, instance_serial, now, lock_uuid=None, product_id=None, limit=20,
               offset=None):
    """Live cart locks of an instance, by lock serial; ``limit`` < 0: descending."""
    paging = page("h.hold_serial", limit, offset)
    where = ["h.instance_serial = %(instance)s", "h.lock_uuid IS NOT NULL",
             "h.expiration > %(now)s", paging.condition]
    params = dict(paging.params, instance=instance_serial, now=now)
    if lock_uuid is not None:
        where.append("h.lock_uuid = %(uuid)s")
        params["uuid"] = lock_uuid
    if product_id is not None:
        where.append("h.product_serial = (SELECT product_serial FROM products"
                     " WHERE instance_serial = %(instance)s AND product_id = %(product)s)")
        params["product"] = product_id
    return conn.execute(
        f"""SELECT h.hold_serial AS lock_serial, h.lock_uuid, p.product_id, h.quantity,
                   h.expiration
              FROM holds h JOIN products p ON p.product_serial = h.product_serial
             WHERE {' AND '.join(where)} {paging.order}""", params).fetchall()
