"""Database operations on orders: create (hand-over of cart locks), pay, refund,
forget, claim, delete, look up and list.

Each reports as :mod:`.outcome` says: a lookup its row or None, a listing its rows,
everything else an :class:`~.outcome.Outcome` whose status is the SQL text.
"""
from dataclasses import dataclass
from decimal import Decimal

from psycopg.types.json import Jsonb

from ..contract import NotForgettable, order_terms
from ..exactjson import exact_dumps
from . import instances as instances_db
from .outcome import Outcome, Status
from .paging import page


@dataclass(frozen=True)
class StockOutcome(Outcome):
    """An order operation's status, and for INSUFFICIENT what did not fit."""

    product_id: str | None = None
    requested: Decimal | None = None
    available: Decimal | None = None
    restock: int | None = None
    reclaimed: int = 0  # expired holds of its products reclaimed on the way


@dataclass(frozen=True)
class CreateOutcome(StockOutcome):
    """OK (made now, or the same request made it before), CONFLICT, UNKNOWN (a
    product), PRECISION, BELOW_MINIMUM or INSUFFICIENT (``line`` says which)."""

    claim_token: str | None = None
    line: int | None = None  # 1-based line of inventory_products at fault
    next_expiration: int | None = None


@dataclass(frozen=True)
class PayOutcome(StockOutcome):
    """OK (sold now), PAID (sold before), UNKNOWN or INSUFFICIENT."""


def create_order(conn, *, instance_serial, draft, reclaim_batch) -> CreateOutcome:
    """Store an order :class:`~taler_inventory.orders.Draft` with its contract terms
    and hand the carts of its lock uuids over to it, or change nothing.

    One transaction: the products and the instance the contract describes are read
    (without row locks), the terms made from them, then the stored procedure takes
    the stock decisions.  The contract rules may raise ``OrderRefused``.
    """
    product_ids = [p for p, _ in draft.lines]
    with conn.transaction():
        products = _order_products(conn, instance_serial, product_ids) if product_ids else {}
        instance, account = _contract_instance(conn, instance_serial)
        total, terms = order_terms(draft, products=products, instance=instance,
                                   account=account)
        row = conn.execute(
            """SELECT out_status, out_claim_token, out_line, out_product_id, out_requested,
                      out_available, out_next_expiration, out_restock, out_reclaimed
                 FROM create_order(%s, %s, %s, %s, %s, %s, %s, %s::JSONB, %s,
                                   %s::TEXT[], %s::NUMERIC[], %s::TEXT[], %s, %s)""",
            (instance_serial, draft.order_id, draft.request_hash, draft.now,
             draft.pay_deadline, draft.summary, None if total is None else str(total),
             exact_dumps(terms), draft.claim_token, product_ids,
             [qty for _, qty in draft.lines], draft.lock_uuids, reclaim_batch,
             draft.session_id)).fetchone()
    return CreateOutcome(Status(row["out_status"]), product_id=row["out_product_id"],
                         requested=row["out_requested"], available=row["out_available"],
                         restock=row["out_restock"], reclaimed=row["out_reclaimed"] or 0,
                         claim_token=row["out_claim_token"], line=row["out_line"],
                         next_expiration=row["out_next_expiration"])


def _order_products(conn, instance_serial, product_ids):
    """What an order's contract says about its inventory products, by product id.

    Read without row locks: the stock decisions are made by SQL ``create_order``.
    """
    rows = conn.execute(
        """SELECT product_id, product_name, description, description_i18n, unit,
                  unit_price, taxes, image
             FROM products
            WHERE instance_serial = %s AND product_id = ANY(%s::TEXT[])""",
        (instance_serial, list(product_ids))).fetchall()
    return {r["product_id"]: r for r in rows}


def _contract_instance(conn, instance_serial):
    """What a contract says of the instance, and the bank account it names (the
    oldest active one; None without)."""
    instance = conn.execute(
        """SELECT name, merchant_pub, settings, default_refund_delay,
                  default_wire_transfer_delay
             FROM instances WHERE instance_serial = %s""", (instance_serial,)).fetchone()
    account = conn.execute(
        """SELECT payto_uri, h_wire FROM instance_accounts
            WHERE instance_serial = %s AND active ORDER BY account_serial LIMIT 1""",
        (instance_serial,)).fetchone()
    return instance, account


def pay_order(conn, *, instance_serial, order_id, now, reclaim_batch, nonce) -> PayOutcome:
    """Mark an order paid: what it holds (or, past its deadline, what is free) is sold.

    An order no wallet claimed is claimed with ``nonce`` in the same transaction:
    a paid order's contract terms always carry a nonce.
    """
    with conn.transaction():
        row = conn.execute(
            """SELECT out_status, out_product_id, out_requested, out_available, out_restock,
                      out_reclaimed
                 FROM pay_order(%s, %s, %s, %s)""",
            (instance_serial, order_id, now, reclaim_batch)).fetchone()
        if row["out_status"] == Status.OK:
            conn.execute(
                """UPDATE orders
                      SET claim_nonce = %(nonce)s, claim_time = %(now)s,
                          contract_terms = contract_terms
                                           || jsonb_build_object('nonce', %(nonce)s::TEXT)
                    WHERE instance_serial = %(i)s AND order_id = %(o)s AND claim_nonce IS NULL""",
                {"nonce": nonce, "now": now, "i": instance_serial, "o": order_id})
    return PayOutcome(Status(row["out_status"]), product_id=row["out_product_id"],
                      requested=row["out_requested"], available=row["out_available"],
                      restock=row["out_restock"], reclaimed=row["out_reclaimed"] or 0)


@dataclass(frozen=True)
class RefundOutcome(Outcome):
    """OK, UNKNOWN, UNPAID, CURRENCY, NOT_ALLOWED, TOO_LATE or TOO_HIGH; the
    contract terms of a known order."""

    contract_terms: dict | None = None


def refund_order(conn, *, instance_serial, order_id, refund, reason, now) -> RefundOutcome:
    """Raise the refunded total of a paid order to ``refund`` (an Amount)."""
    row = conn.execute(
        "SELECT out_status, out_contract_terms FROM refund_order(%s, %s, %s, %s, %s, %s)",
        (instance_serial, order_id, refund.currency, refund.value, reason, now)).fetchone()
    return RefundOutcome(Status(row["out_status"]), contract_terms=row["out_contract_terms"])


@dataclass(frozen=True)
class ForgetOutcome(Outcome):
    """OK with how many fields were forgotten now, UNKNOWN, or NOT_FORGETTABLE
    (``field``: the key that its object does not list as forgettable)."""

    forgotten: int = 0


def forget_order(conn, *, instance_serial, order_id, forget) -> ForgetOutcome:
    """Apply ``forget(terms) -> count`` to the order's contract terms and store them
    (nothing is stored when ``forget`` raises ``NotForgettable``)."""
    with conn.transaction():
        row = conn.execute(
            """SELECT order_serial, contract_terms FROM orders
                WHERE instance_serial = %s AND order_id = %s FOR UPDATE""",
            (instance_serial, order_id)).fetchone()
        if row is None:
            return ForgetOutcome(Status.UNKNOWN)
        terms = row["contract_terms"]
        try:
            count = forget(terms)
        except NotForgettable as err:
            return ForgetOutcome(Status.NOT_FORGETTABLE, field=str(err))
        if count:
            conn.execute("UPDATE orders SET contract_terms = %s WHERE order_serial = %s",
                         (Jsonb(terms), row["order_serial"]))
        return ForgetOutcome(Status.OK, forgotten=count)


@dataclass(frozen=True)
class ClaimOutcome(Outcome):
    """OK, UNKNOWN (or a wrong claim token), CLAIMED (by another nonce)."""

    contract_terms: dict | None = None
    private_key: bytes | None = None


def claim_order(conn, *, instance_serial, order_id, nonce, token, now) -> ClaimOutcome:
    """A wallet claims the order with its nonce; with the key to sign the terms."""
    with conn.transaction():
        row = conn.execute(
            "SELECT out_status, out_contract_terms FROM claim_order(%s, %s, %s, %s, %s)",
            (instance_serial, order_id, nonce, token, now)).fetchone()
        if row["out_status"] != Status.OK:
            return ClaimOutcome(Status(row["out_status"]))
        return ClaimOutcome(Status.OK, contract_terms=row["out_contract_terms"],
                            private_key=instances_db.private_key(conn, instance_serial))


def delete_order(conn, *, instance_serial, order_id) -> Outcome:
    """Delete an unpaid order and free its stock: OK, UNKNOWN or PAID."""
    row = conn.execute("SELECT out_status FROM delete_order(%s, %s)",
                       (instance_serial, order_id)).fetchone()
    return Outcome(Status(row["out_status"]))


def lookup_order(conn, *, instance_serial, order_id):
    """An order with its inventory lines (``lines``: [{product_id, quantity}]) and
    refunds (``refunds``: [{refund_time, increase, reason}]), or None."""
    return conn.execute(
        """SELECT o.order_serial, o.order_id, o.creation_time, o.pay_deadline, o.summary,
                  o.amount, o.contract_terms, o.claim_token, o.paid, o.paid_time,
                  o.refunded_value, o.refund_deadline, o.amount_value, o.wired,
                  o.claim_nonce, o.session_id,
                  ARRAY(SELECT json_build_object('product_id', l.product_id,
                                                 'quantity', l.quantity::TEXT)
                          FROM order_lines l
                         WHERE l.order_serial = o.order_serial
                         ORDER BY l.line_no) AS lines,
                  ARRAY(SELECT json_build_object('refund_time', r.refund_time,
                                                 'increase', r.increase::TEXT,
                                                 'reason', r.reason)
                          FROM order_refunds r
                         WHERE r.order_serial = o.order_serial
                         ORDER BY r.refund_serial) AS refunds
             FROM orders o
            WHERE o.instance_serial = %s AND o.order_id = %s""",
        (instance_serial, order_id)).fetchone()


def list_orders(conn, *, instance_serial, limit, offset=None, paid=None, refunded=None,
                wired=None, after=None, before=None, session_id=None, fulfillment_url=None,
                summary_filter=None):
    """A page of an instance's orders by row serial, filtered.

    ``limit`` < 0: descending (newest first) below ``offset``; else ascending above
    it.  ``after`` / ``before`` bound the creation time (microseconds, exclusive);
    ``summary_filter`` matches a substring of the summary, ignoring case.
    """
    paging = page("order_serial", limit, offset)
    where = ["instance_serial = %(instance)s", paging.condition]
    params = {"instance": instance_serial, **paging.params}
    for column, value in (("paid", paid), ("wired", wired)):
        if value is not None:
            where.append(f"{column} = %({column})s")
            params[column] = value
    if refunded is not None:
        where.append("refunded_value > 0" if refunded else "refunded_value = 0")
    for key, value, clause in (("after", after, "creation_time > %(after)s"),
                               ("before", before, "creation_time < %(before)s"),
                               ("session_id", session_id, "session_id = %(session_id)s")):
        if value is not None:
            where.append(clause)
            params[key] = value
    if fulfillment_url is not None:
        # The md5 term is what orders_by_fulfillment_url indexes.
        where.append("md5(fulfillment_url) = md5(%(url)s) AND fulfillment_url = %(url)s")
        params["url"] = fulfillment_url
    if summary_filter is not None:
        where.append("summary ILIKE %(summary)s")
        params["summary"] = "%" + _like_escape(summary_filter) + "%"
    return conn.execute(
        f"""SELECT order_serial, order_id, creation_time, amount, summary, paid,
                   refund_deadline, amount_value, refunded_value
              FROM orders
             WHERE {' AND '.join(where)}
             {paging.order}""", params).fetchall()


def _like_escape(text: str) -> str:
    """``text`` matched literally by LIKE (its default escape character is ``\\``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def paid_in_session(conn, *, instance_serial, fulfillment_url, session_id,
                    allow_refunded):
    """The newest paid order with this fulfillment URL bought in this session (a
    repurchase of the same article), or None; refunded ones only if allowed."""
    row = conn.execute(
        """SELECT order_id, fulfillment_url FROM orders
            WHERE instance_serial = %(i)s AND session_id = %(s)s AND paid
              AND md5(fulfillment_url) = md5(%(u)s) AND fulfillment_url = %(u)s
              AND (%(r)s OR refunded_value = 0)
            ORDER BY order_serial DESC LIMIT 1""",
        {"i": instance_serial, "s": session_id, "u": fulfillment_url,
         "r": allow_refunded}).fetchone()
    return row
