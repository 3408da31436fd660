"""Orders: ``POST /private/orders`` (taking over cart locks), ``GET`` one or all,
``DELETE``, refunds, forgetting, and the payment hook ``POST /private/orders/$ORDER_ID/paid``.

The rules live below HTTP: an order request becomes a :class:`..orders.Draft`, its
contract terms come from :mod:`..contract`, and :mod:`..backenddb.orders` stores it
in one transaction.  What stays here is what the request says (its base URL, the
``taler://`` URIs) and the mapping of outcomes to answers.
"""
import hashlib
import json
import secrets
from decimal import Decimal

from flask import Blueprint, current_app, g, request

from .. import ids, longpoll, metrics
from .. import quantity as q
from ..backenddb import orders as orders_db
from ..backenddb.outcome import Status
from ..contract import (ForgetPathError, OrderRefused, contract_hash, crockford, forget,
                        parse_path)
from ..db import get_db
from ..errors import ErrorCode, TalerError, malformed, parameter_error
from ..longpoll import LongPoll
from ..orders import (amount_text, currency_of, draft_order, order_status, refund_status,
                      refundable)
from ..schemas.orders import (ForgetRequestSchema, OrderListQuerySchema, OrderListSchema,
                              OrderStatusSchema, PostOrderRequestSchema,
                              PostOrderResponseSchema, PrivateOrderQuerySchema,
                              RefundRequestSchema, RefundResponseSchema)
from ..timeutil import US_PER_S, now_us
from .common import ADMIN_INSTANCE, empty_response, endpoint, instance_id, known_id, render
from .locks import out_of_stock

bp = Blueprint("orders", __name__)

@bp.post("/private/orders")
@endpoint(permission="orders-write", body=PostOrderRequestSchema,
          response=PostOrderResponseSchema,
          errors=(ErrorCode.MERCHANT_GENERIC_PRODUCT_UNKNOWN,
                  ErrorCode.MERCHANT_PRIVATE_POST_ORDERS_ALREADY_EXISTS,
                  ErrorCode.MERCHANT_PRIVATE_POST_PRODUCTS_LOCK_INSUFFICIENT_STOCKS))
def private_post_orders(body):
    """Create an order; it takes over the cart locks of ``lock_uuids``."""
    settings = current_app.config["INVENTORY"]
    try:
        # Made before the database call, so a retried transaction is idempotent.
        draft = draft_order(
            body, now=now_us(), currency=settings["CURRENCY"],
            default_pay_delay=g.instance["default_pay_delay"], base_url=instance_base_url(),
            exchanges=settings["EXCHANGES"])
        outcome = get_db().run(orders_db.create_order,
                               instance_serial=g.instance["instance_serial"], draft=draft,
                               reclaim_batch=settings["RECLAIM_BATCH"])
    except OrderRefused as refusal:
        raise refused(refusal) from None
    metrics.lock_outcome("expired", outcome.reclaimed)
    if outcome.status == Status.OK:
        answer = {"order_id": draft.order_id}
        if outcome.claim_token is not None:
            answer["token"] = outcome.claim_token
        return answer
    if outcome.status == Status.CONFLICT:
        raise TalerError(ErrorCode.MERCHANT_PRIVATE_POST_ORDERS_ALREADY_EXISTS, draft.order_id)
    if outcome.status == Status.UNKNOWN:
        raise TalerError(ErrorCode.MERCHANT_GENERIC_PRODUCT_UNKNOWN, outcome.product_id,
                         product_id=outcome.product_id)
    field = f"inventory_products[{outcome.line - 1}].unit_quantity"
    if outcome.status == Status.PRECISION:
        raise malformed(field, "The quantity has more fraction digits than the product allows.")
    if outcome.status == Status.BELOW_MINIMUM:
        raise malformed(field, "The quantity is below the product's unit_minimum_quantity.")
    raise out_of_stock(outcome.product_id, outcome.requested, outcome.available,
                       restock=outcome.restock, next_expiration=outcome.next_expiration)


def refused(refusal: OrderRefused) -> TalerError:
    """The 400 of an order request the order and contract rules refuse."""
    if refusal.kind == OrderRefused.MALFORMED:
        return malformed(refusal.field, refusal.reason)
    if refusal.kind == OrderRefused.MISSING:
        extra = {} if refusal.product_id is None else {"product_id": refusal.product_id}
        return TalerError(ErrorCode.GENERIC_PARAMETER_MISSING, refusal.field,
                          hint=refusal.reason, parameter=refusal.field, **extra)
    return parameter_error(ErrorCode.MERCHANT_PRIVATE_POST_ORDERS_REFUND_AFTER_WIRE_DEADLINE,
                           refusal.field)


@bp.get("/private/orders/<order_id>")
@endpoint(permission="orders-read", query=PrivateOrderQuerySchema, response=OrderStatusSchema,
          errors=(ErrorCode.MERCHANT_GENERIC_ORDER_UNKNOWN,))
def private_get_orders_id(order_id, args):
    """The status of an order: unpaid, claimed or paid, contract terms, inventory lines.

    With ``timeout_ms`` an unpaid or claimed order's answer waits until its status
    changes (claimed, paid) or the time is up; with ``lp_not_etag`` until the answer
    differs from that ETag (any change, a refund too).  ``If-None-Match`` with the
    current ETag gets 304.
    """
    known_id(order_id, ids.ORDER_ID, ErrorCode.MERCHANT_GENERIC_ORDER_UNKNOWN)
    poll = LongPoll(args.get("timeout_ms"))

    def unchanged(row) -> bool:
        answer = _order_status_answer(row)
        if "lp_not_etag" in args:
            return _etag(answer) == args["lp_not_etag"].strip('"')
        status = poll.seen(answer["order_status"])
        return status != "paid" and answer["order_status"] == status

    answer = _order_status_answer(wait_for_order(order_id, poll, unchanged))
    etag = _etag(answer)
    if etag in _tags(request.headers.get("If-None-Match")):
        return empty_response(304, {"ETag": f'"{etag}"'})
    response = render(answer, OrderStatusSchema(), 200)
    response.headers["ETag"] = f'"{etag}"'
    return response


def wait_for_order(order_id: str, poll: LongPoll, keep_waiting) -> dict:
    """The order's row, looked up again whenever it changes while
    ``keep_waiting(row)`` says so and the long poll has time left; unknown: 404."""
    instance_serial = g.instance["instance_serial"]
    keys = (longpoll.order_key(instance_serial, order_id),)
    while True:
        poll.begin()
        row = get_db().run(orders_db.lookup_order, instance_serial=instance_serial,
                           order_id=order_id)
        if row is None:
            raise TalerError(ErrorCode.MERCHANT_GENERIC_ORDER_UNKNOWN, order_id)
        if not keep_waiting(row) or not poll.wait(keys):
            return row


def _order_status_answer(row) -> dict:
    answer = {
        "order_status": order_status(row),
        "order_id": row["order_id"],
        "creation_time": row["creation_time"],
        "pay_deadline": row["pay_deadline"],
        "summary": row["summary"],
        "total_amount": row["amount"],
        "contract_terms": row["contract_terms"],
        "inventory_products": [_line(line) for line in row["lines"]],
        "order_status_url": _status_url(row["order_id"], row["claim_token"]),
    }
    if answer["order_status"] == "unpaid":
        answer["taler_pay_uri"] = pay_uri(row["order_id"], row["claim_token"])
    if answer["order_status"] != "paid":
        return answer
    answer.update({
        "last_payment": row["paid_time"], "deposit_total": row["amount"],
        **refund_status(row),
        "wired": row["wired"], "exchange_code": 0, "exchange_http_status": 0,
        "wire_details": [], "wire_reports": []})
    return answer


def _etag(answer: dict) -> str:
    """The ETag of a status answer: a hash of its JSON (any change changes it)."""
    payload = json.dumps(OrderStatusSchema().dump(answer), separators=(",", ":"),
                         sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def _tags(header: str | None) -> set:
    """The entity tags of an ``If-None-Match`` header (weak or strong alike)."""
    if not header:
        return set()
    return {t.strip().removeprefix("W/").strip('"') for t in header.split(",")}


@bp.post("/private/orders/<order_id>/refund")
@endpoint(permission="orders-refund", body=RefundRequestSchema, response=RefundResponseSchema,
          errors=(ErrorCode.MERCHANT_GENERIC_ORDER_UNKNOWN,
                  ErrorCode.MERCHANT_GENERIC_CURRENCY_MISMATCH,
                  ErrorCode.MERCHANT_PRIVATE_POST_ORDERS_ID_REFUND_ORDER_UNPAID,
                  ErrorCode.MERCHANT_PRIVATE_POST_ORDERS_ID_REFUND_NOT_ALLOWED_BY_CONTRACT,
                  ErrorCode.MERCHANT_PRIVATE_POST_ORDERS_ID_REFUND_INCONSISTENT_AMOUNT,
                  ErrorCode.INVENTORY_REFUND_DEADLINE_PASSED))
def private_post_orders_id_refund(order_id, body):
    """Raise the refunded total of a paid order; the stock stays sold."""
    known_id(order_id, ids.ORDER_ID, ErrorCode.MERCHANT_GENERIC_ORDER_UNKNOWN)
    outcome = get_db().run(orders_db.refund_order, instance_serial=g.instance["instance_serial"],
                           order_id=order_id, refund=body["refund"], reason=body["reason"],
                           now=now_us())
    if outcome.status != Status.OK:
        raise TalerError(_REFUND_ERRORS[outcome.status], order_id)
    return {"taler_refund_uri": _taler_uri("refund", order_id) + "/",
            "h_contract": crockford(contract_hash(outcome.contract_terms))}


_REFUND_ERRORS = {
    Status.UNKNOWN: ErrorCode.MERCHANT_GENERIC_ORDER_UNKNOWN,
    Status.UNPAID: ErrorCode.MERCHANT_PRIVATE_POST_ORDERS_ID_REFUND_ORDER_UNPAID,
    Status.CURRENCY: ErrorCode.MERCHANT_GENERIC_CURRENCY_MISMATCH,
    Status.NOT_ALLOWED: ErrorCode.MERCHANT_PRIVATE_POST_ORDERS_ID_REFUND_NOT_ALLOWED_BY_CONTRACT,
    Status.TOO_LATE: ErrorCode.INVENTORY_REFUND_DEADLINE_PASSED,
    Status.TOO_HIGH: ErrorCode.MERCHANT_PRIVATE_POST_ORDERS_ID_REFUND_INCONSISTENT_AMOUNT,
}


@bp.patch("/private/orders/<order_id>/forget")
@endpoint(permission="orders-write", body=ForgetRequestSchema,
          errors=(ErrorCode.MERCHANT_GENERIC_ORDER_UNKNOWN,
                  ErrorCode.MERCHANT_PRIVATE_PATCH_ORDERS_ID_FORGET_PATH_SYNTAX_INCORRECT,
                  ErrorCode.MERCHANT_PRIVATE_PATCH_ORDERS_ID_FORGET_PATH_NOT_FORGETTABLE))
def private_patch_orders_id_forget(order_id, body):
    """Forget forgettable fields of the contract terms: 200, or 204 if already gone."""
    known_id(order_id, ids.ORDER_ID, ErrorCode.MERCHANT_GENERIC_ORDER_UNKNOWN)
    paths = []
    for index, path in enumerate(body["fields_"]):
        try:
            paths.append(parse_path(path))
        except ForgetPathError:
            raise TalerError(
                ErrorCode.MERCHANT_PRIVATE_PATCH_ORDERS_ID_FORGET_PATH_SYNTAX_INCORRECT, path,
                parameter=f"fields[{index}]") from None
    outcome = get_db().run(orders_db.forget_order, instance_serial=g.instance["instance_serial"],
                           order_id=order_id, forget=lambda terms: forget(terms, paths))
    if outcome.status == Status.UNKNOWN:
        raise TalerError(ErrorCode.MERCHANT_GENERIC_ORDER_UNKNOWN, order_id)
    if outcome.status == Status.NOT_FORGETTABLE:
        raise TalerError(ErrorCode.MERCHANT_PRIVATE_PATCH_ORDERS_ID_FORGET_PATH_NOT_FORGETTABLE,
                         outcome.field)
    return {} if outcome.forgotten else None


@bp.get("/private/orders")
@endpoint(permission="orders-read", query=OrderListQuerySchema, response=OrderListSchema)
def private_get_orders(args):
    """List the instance's orders, newest first unless ``limit`` is positive."""
    now = now_us()
    limit = args["limit"]
    after = before = None
    if "date_s" in args:
        # Like the row threshold, the date bounds the direction of paging.
        date = args["date_s"] * US_PER_S
        after, before = (date, None) if limit > 0 else (None, date)
    if "max_age" in args and limit > 0:
        oldest = now - args["max_age"] if args["max_age"] < now else 0
        after = oldest if after is None else max(after, oldest)
    instance_serial = g.instance["instance_serial"]
    # Long polling waits for a new matching order while the answer would be empty
    # (Taler: only when paging forwards, limit > 0).
    poll = LongPoll(args.get("timeout_ms") if limit > 0 else None)
    while True:
        poll.begin()
        rows = get_db().run(
            orders_db.list_orders, instance_serial=instance_serial, limit=limit,
            offset=args["offset"], paid=args["paid"], refunded=args["refunded"],
            wired=args["wired"], after=after, before=before, session_id=args.get("session_id"),
            fulfillment_url=args.get("fulfillment_url"),
            summary_filter=args.get("summary_filter"))
        if rows or not poll.wait((longpoll.list_key(instance_serial),)):
            break
        now = now_us()
    return {"orders": [_history_entry(r, now) for r in rows]}


def _history_entry(row, now: int) -> dict:
    currency = currency_of(row)
    return {
        "order_id": row["order_id"], "row_id": row["order_serial"],
        "timestamp": row["creation_time"], "amount": row["amount"], "summary": row["summary"],
        "refundable": refundable(row, now), "paid": row["paid"],
        "refund_amount": amount_text(currency, row["refunded_value"]),
        "pending_refund_amount": amount_text(currency, row["refunded_value"])}


@bp.delete("/private/orders/<order_id>")
@endpoint(permission="orders-write", status=204,
          errors=(ErrorCode.MERCHANT_GENERIC_ORDER_UNKNOWN,
                  ErrorCode.MERCHANT_PRIVATE_DELETE_ORDERS_ALREADY_PAID))
def private_delete_orders_id(order_id):
    """Delete an unpaid order; the stock it held is free at once."""
    known_id(order_id, ids.ORDER_ID, ErrorCode.MERCHANT_GENERIC_ORDER_UNKNOWN)
    outcome = get_db().run(orders_db.delete_order, instance_serial=g.instance["instance_serial"],
                           order_id=order_id)
    if outcome.status == Status.UNKNOWN:
        raise TalerError(ErrorCode.MERCHANT_GENERIC_ORDER_UNKNOWN, order_id)
    if outcome.status == Status.PAID:
        raise TalerError(ErrorCode.MERCHANT_PRIVATE_DELETE_ORDERS_ALREADY_PAID, order_id)


@bp.post("/private/orders/<order_id>/paid")
@endpoint(permission="orders-write", status=204,
          errors=(ErrorCode.MERCHANT_GENERIC_ORDER_UNKNOWN,
                  ErrorCode.MERCHANT_POST_ORDERS_ID_PAY_OFFER_EXPIRED))
def private_post_orders_id_paid(order_id):
    """Payment hook (extension): the order's stock becomes sold, exactly once."""
    known_id(order_id, ids.ORDER_ID, ErrorCode.MERCHANT_GENERIC_ORDER_UNKNOWN)
    outcome = get_db().run(orders_db.pay_order, instance_serial=g.instance["instance_serial"],
                           order_id=order_id, now=now_us(),
                           reclaim_batch=current_app.config["INVENTORY"]["RECLAIM_BATCH"],
                           nonce=crockford(secrets.token_bytes(32)))
    metrics.lock_outcome("expired", outcome.reclaimed)
    if outcome.status == Status.UNKNOWN:
        raise TalerError(ErrorCode.MERCHANT_GENERIC_ORDER_UNKNOWN, order_id)
    if outcome.status == Status.INSUFFICIENT:
        stock = out_of_stock(outcome.product_id, outcome.requested, outcome.available,
                             restock=outcome.restock)
        raise TalerError(ErrorCode.MERCHANT_POST_ORDERS_ID_PAY_OFFER_EXPIRED,
                         outcome.product_id, **stock.fields)


def _line(line) -> dict:
    quantity = Decimal(line["quantity"])
    return {"product_id": line["product_id"], "quantity": q.legacy(quantity),
            "unit_quantity": q.format(quantity)}


def _instance_path() -> str:
    inst = instance_id()
    return "" if inst == ADMIN_INSTANCE else f"instances/{inst}/"


def instance_base_url() -> str:
    """The instance's public base URL, ending in ``/``.

    ``TALER_INVENTORY_BASE_URL`` (the server's root) when set; else the request's
    scheme and host, taken from ``X-Forwarded-Proto``, ``-Host`` and ``-Prefix``
    only when ``TALER_INVENTORY_TRUST_FORWARDED`` says a proxy sets them (a client
    could send them otherwise).
    """
    settings = current_app.config["INVENTORY"]
    root = settings["BASE_URL"]
    if not root:
        scheme, host, prefix = request.scheme, request.host, ""
        if settings["TRUST_FORWARDED"]:
            scheme = _first(request.headers.get("X-Forwarded-Proto")) or scheme
            host = _first(request.headers.get("X-Forwarded-Host")) or host
            prefix = _first(request.headers.get("X-Forwarded-Prefix")).rstrip("/")
        root = f"{scheme}://{host}{prefix}/"
    return root.rstrip("/") + "/" + _instance_path()


def _first(header: str | None) -> str:
    """The first value of a comma-separated forwarding header (the client's side)."""
    return (header or "").split(",", 1)[0].strip()


def _taler_uri(action: str, order_id: str) -> str:
    """``taler[+http]://ACTION/HOST[/PATH]/[instances/$I/]ORDER_ID`` of the base URL."""
    scheme, rest = instance_base_url().split("://", 1)
    return f"{'taler' if scheme == 'https' else 'taler+http'}://{action}/{rest}{order_id}"


def pay_uri(order_id: str, claim_token: str | None) -> str:
    uri = _taler_uri("pay", order_id) + "/"
    return uri + (f"?c={claim_token}" if claim_token else "")


def _status_url(order_id: str, claim_token: str | None) -> str:
    url = f"{instance_base_url()}orders/{order_id}"
    return url + (f"?token={claim_token}" if claim_token else "")
