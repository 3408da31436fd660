"""Database operations on orders: create (hand-over of cart locks), pay, delete,
look up and list."""
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class CreateOutcome:
    # ok, exists, conflict, unknown_product, precision, below_minimum, insufficient
    status: str
    claim_token: str | None = None
    line: int | None = None  # 1-based line of inventory_products at fault
    product_id: str | None = None
    requested: Decimal | None = None
    available: Decimal | None = None
    next_expiration: int | None = None
    restock: int | None = None


@dataclass(frozen=True)
class PayOutcome:
    status: str  # ok, already_paid, unknown, insufficient
    product_id: str | None = None
    requested: Decimal | None = None
    available: Decimal | None = None
    restock: int | None = None


def order_products(conn, *, instance_serial, product_ids):
    """What an order's contract says about its inventory products, by product id.

    Read without row locks: the stock decisions are made by :func:`create_order`.
    """
    rows = conn.execute(
        """SELECT product_id, product_name, description, description_i18n, unit,
                  unit_price, taxes, image
             FROM products
            WHERE instance_serial = %s AND product_id = ANY(%s::TEXT[])""",
        (instance_serial, list(product_ids))).fetchall()
    return {r["product_id"]: r for r in rows}


def create_order(conn, *, instance_serial, order_id, request_hash, now, pay_deadline,
                 summary, amount, contract_terms, claim_token, lines, lock_uuids,
                 reclaim_batch) -> CreateOutcome:
    """Create the order and hand the carts of ``lock_uuids`` over to it, or change nothing.

    ``lines`` is a list of (product_id, quantity) in request order;
    ``contract_terms`` is JSON text.
    """
    row = conn.execute(
        """SELECT out_status, out_claim_token, out_line, out_product_id, out_requested,
                  out_available, out_next_expiration, out_restock
             FROM create_order(%s, %s, %s, %s, %s, %s, %s, %s::JSONB, %s,
                               %s::TEXT[], %s::NUMERIC[], %s::TEXT[], %s)""",
        (instance_serial, order_id, request_hash, now, pay_deadline, summary, amount,
         contract_terms, claim_token, [p for p, _ in lines],
         [qty for _, qty in lines], list(lock_uuids), reclaim_batch)).fetchone()
    return CreateOutcome(row["out_status"], row["out_claim_token"], row["out_line"],
                         row["out_product_id"], row["out_requested"], row["out_available"],
                         row["out_next_expiration"], row["out_restock"])


def pay_order(conn, *, instance_serial, order_id, now, reclaim_batch) -> PayOutcome:
    """Mark an order paid: what it holds (or, past its deadline, what is free) is sold."""
    row = conn.execute(
        """SELECT out_status, out_product_id, out_requested, out_available, out_restock
             FROM pay_order(%s, %s, %s, %s)""",
        (instance_serial, order_id, now, reclaim_batch)).fetchone()
    return PayOutcome(row["out_status"], row["out_product_id"], row["out_requested"],
                      row["out_available"], row["out_restock"])


def delete_order(conn, *, instance_serial, order_id) -> str:
    """Delete an unpaid order and free its stock; status ok, unknown or paid."""
    return conn.execute("SELECT out_status FROM delete_order(%s, %s)",
                        (instance_serial, order_id)).fetchone()["out_status"]


def lookup_order(conn, *, instance_serial, order_id):
    """An order with its inventory lines (``lines``: [{product_id, quantity}]), or None."""
    return conn.execute(
        """SELECT o.order_serial, o.order_id, o.creation_time, o.pay_deadline, o.summary,
                  o.amount, o.contract_terms, o.claim_token, o.paid, o.paid_time,
                  ARRAY(SELECT json_build_object('product_id', l.product_id,
                                                 'quantity', l.quantity::TEXT)
                          FROM order_lines l
                         WHERE l.order_serial = o.order_serial
                         ORDER BY l.line_no) AS lines
             FROM orders o
            WHERE o.instance_serial = %s AND o.order_id = %s""",
        (instance_serial, order_id)).fetchone()


def list_orders(conn, *, instance_serial, limit, offset=None, paid=None):
    """Orders of an instance by row serial; ``limit`` < 0: descending (newest first)."""
    where = ["instance_serial = %(instance)s"]
    params = {"instance": instance_serial, "limit": abs(limit)}
    if paid is not None:
        where.append("paid = %(paid)s")
        params["paid"] = paid
    if offset is not None:
        where.append("order_serial > %(offset)s" if limit >= 0 else "order_serial < %(offset)s")
        params["offset"] = offset
    order = "ASC" if limit >= 0 else "DESC"
    return conn.execute(
        f"""SELECT order_serial, order_id, creation_time, amount, summary, paid,
                   contract_terms->'refund_deadline'->'t_s' AS refund_deadline
              FROM orders
             WHERE {' AND '.join(where)}
             ORDER BY order_serial {order}
             LIMIT %(limit)s""", params).fetchall()
