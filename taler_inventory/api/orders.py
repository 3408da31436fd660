"""Orders: ``POST /private/orders`` (taking over cart locks), ``GET`` one or all,
``DELETE``, and the payment hook ``POST /private/orders/$ORDER_ID/paid``."""
import copy
import hashlib
import json
import re
import secrets
import time
from decimal import Decimal

from flask import Blueprint, current_app, g, request

from .. import metrics
from .. import quantity as q
from ..amount import Amount, AmountError
from ..backenddb import orders as orders_db
from ..contract import (ForgetPathError, NotForgettable, add_merchant, contract_hash,
                        crockford, forget, parse_path, seed_forgettable)
from .. import longpoll
from ..db import get_db
from ..errors import ErrorCode, TalerError
from ..longpoll import LongPoll
from ..schemas.orders import (ORDER_ID, ForgetRequestSchema, OrderListQuerySchema,
                              OrderListSchema, OrderStatusSchema, PostOrderRequestSchema,
                              PrivateOrderQuerySchema,
                              PostOrderResponseSchema, RefundRequestSchema,
                              RefundResponseSchema)
from ..timeutil import FOREVER, US_PER_S, add, now_us, timestamp_to_wire
from .common import ADMIN_INSTANCE, JsonNumber, empty_response, endpoint, instance_id, render
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
    now = now_us()
    order = body["order"]
    # Made here, before the database call, so a retried transaction is idempotent.
    order_id = order.get("order_id") or new_order_id(now)
    pay_deadline = order.get("pay_deadline")
    if pay_deadline is None:
        pay_deadline = ceil_to_second(add(now, g.instance["default_pay_delay"]))
    elif pay_deadline <= now:
        raise _malformed("order.pay_deadline", "The pay deadline is not in the future.")
    currency = current_app.config["INVENTORY"]["CURRENCY"]
    amount = order.get("amount")
    _check_currencies(order, currency)
    if order.get("version", 0) == 1:
        # The order's amount (its refund limit, its listing) is its dearest choice.
        amount = max((c["amount"] for c in order["choices"]), key=lambda a: a.value)
    lines = [(line["product_id"], line["quantity"]) for line in body["inventory_products"]]
    _check_line_sums(lines)
    _check_numbers(body["order_raw"], "order")
    if amount is None and not lines:
        raise TalerError(ErrorCode.GENERIC_PARAMETER_MISSING, "order.amount",
                         hint="order.amount is required when there are no inventory_products.",
                         parameter="order.amount")
    lock_uuids = list(dict.fromkeys(body["lock_uuids"]))
    claim_token = crockford(secrets.token_bytes(16)) if body["create_token"] else None
    request_hash = hashlib.sha256(_canonical_request(body).encode()).digest()
    instance_serial = g.instance["instance_serial"]
    reclaim_batch = current_app.config["INVENTORY"]["RECLAIM_BATCH"]
    base_url = instance_base_url()

    def create(conn):
        # The prices and descriptions for the contract, then the stock decision.
        with conn.transaction():
            products = orders_db.order_products(
                conn, instance_serial=instance_serial,
                product_ids=[p for p, _ in lines]) if lines else {}
            total = amount if amount is not None else order_total(lines, products, currency)
            instance, account = orders_db.contract_instance(conn, instance_serial=instance_serial)
            terms = contract_terms(body, order_id=order_id, amount=total, now=now,
                                   pay_deadline=pay_deadline, lines=lines, products=products,
                                   currency=currency, instance=instance)
            add_merchant(terms, instance=instance, account=account, base_url=base_url,
                         exchanges=current_app.config["INVENTORY"]["EXCHANGES"])
            return orders_db.create_order(
                conn, instance_serial=instance_serial, order_id=order_id,
                request_hash=request_hash, now=now, pay_deadline=pay_deadline,
                summary=order["summary"], amount=None if total is None else str(total),
                contract_terms=exact_dumps(terms), claim_token=claim_token, lines=lines,
                lock_uuids=lock_uuids, reclaim_batch=reclaim_batch,
                session_id=body.get("session_id"))

    outcome = get_db().run(create)
    metrics.lock_outcome("expired", outcome.reclaimed)
    if outcome.status in ("ok", "exists"):
        answer = {"order_id": order_id}
        if outcome.claim_token is not None:
            answer["token"] = outcome.claim_token
        return answer
    if outcome.status == "conflict":
        raise TalerError(ErrorCode.MERCHANT_PRIVATE_POST_ORDERS_ALREADY_EXISTS, order_id)
    if outcome.status == "unknown_product":
        raise TalerError(ErrorCode.MERCHANT_GENERIC_PRODUCT_UNKNOWN, outcome.product_id,
                         product_id=outcome.product_id)
    field = f"inventory_products[{outcome.line - 1}].unit_quantity"
    if outcome.status == "precision":
        raise _malformed(field, "The quantity has more fraction digits than the product allows.")
    if outcome.status == "below_minimum":
        raise _malformed(field, "The quantity is below the product's unit_minimum_quantity.")
    raise out_of_stock(outcome.product_id, outcome.requested, outcome.available,
                       restock=outcome.restock, next_expiration=outcome.next_expiration)


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
    known_shape(order_id)
    instance_serial = g.instance["instance_serial"]
    poll = LongPoll(args.get("timeout_ms"))
    keys = (longpoll.order_key(instance_serial, order_id),)
    while True:
        poll.begin()
        row = get_db().run(orders_db.lookup_order, instance_serial=instance_serial,
                           order_id=order_id)
        if row is None:
            raise TalerError(ErrorCode.MERCHANT_GENERIC_ORDER_UNKNOWN, order_id)
        answer = _order_status_answer(row)
        etag = _etag(answer)
        if "lp_not_etag" in args:
            negative = etag == args["lp_not_etag"].strip('"')
        else:
            status = poll.seen(answer["order_status"])
            negative = status != "paid" and answer["order_status"] == status
        if not negative or not poll.wait(keys):
            break
    if etag in _tags(request.headers.get("If-None-Match")):
        return empty_response(304, {"ETag": f'"{etag}"'})
    response = render(answer, OrderStatusSchema(), 200)
    response.headers["ETag"] = f'"{etag}"'
    return response


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
    currency = row["amount"].split(":", 1)[0]
    answer.update({
        "last_payment": row["paid_time"], "deposit_total": row["amount"],
        **refund_status(row, currency),
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


def order_status(row) -> str:
    """Taler's order status: paid, claimed (a wallet took the contract) or unpaid."""
    if row["paid"]:
        return "paid"
    return "claimed" if row["claim_nonce"] is not None else "unpaid"


def refund_status(row, currency: str) -> dict:
    """The refund fields of a paid order's status.

    A refund stays pending: the wallet picks it up from the payment side, which
    this module does not see (as it takes no coins).
    """
    refunded = row["refunded_value"] > 0
    return {
        "refunded": refunded, "refund_pending": refunded,
        "refund_amount": amount_text(currency, row["refunded_value"]),
        "refund_details": [{
            "reason": r["reason"], "pending": True,
            "timestamp": timestamp_to_wire(r["refund_time"]),
            "amount": amount_text(currency, r["increase"])} for r in row["refunds"]]}


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
    known_shape(order_id)
    outcome = get_db().run(orders_db.refund_order, instance_serial=g.instance["instance_serial"],
                           order_id=order_id, refund=body["refund"], reason=body["reason"],
                           now=now_us())
    if outcome.status != "ok":
        raise TalerError(_REFUND_ERRORS[outcome.status], order_id)
    return {"taler_refund_uri": _taler_uri("refund", order_id) + "/",
            "h_contract": crockford(contract_hash(outcome.contract_terms))}


_REFUND_ERRORS = {
    "unknown": ErrorCode.MERCHANT_GENERIC_ORDER_UNKNOWN,
    "unpaid": ErrorCode.MERCHANT_PRIVATE_POST_ORDERS_ID_REFUND_ORDER_UNPAID,
    "currency": ErrorCode.MERCHANT_GENERIC_CURRENCY_MISMATCH,
    "not_allowed": ErrorCode.MERCHANT_PRIVATE_POST_ORDERS_ID_REFUND_NOT_ALLOWED_BY_CONTRACT,
    "too_late": ErrorCode.INVENTORY_REFUND_DEADLINE_PASSED,
    "too_high": ErrorCode.MERCHANT_PRIVATE_POST_ORDERS_ID_REFUND_INCONSISTENT_AMOUNT,
}


@bp.patch("/private/orders/<order_id>/forget")
@endpoint(permission="orders-write", body=ForgetRequestSchema,
          errors=(ErrorCode.MERCHANT_GENERIC_ORDER_UNKNOWN,
                  ErrorCode.MERCHANT_PRIVATE_PATCH_ORDERS_ID_FORGET_PATH_SYNTAX_INCORRECT,
                  ErrorCode.MERCHANT_PRIVATE_PATCH_ORDERS_ID_FORGET_PATH_NOT_FORGETTABLE))
def private_patch_orders_id_forget(order_id, body):
    """Forget forgettable fields of the contract terms: 200, or 204 if already gone."""
    known_shape(order_id)
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
    if outcome == "unknown":
        raise TalerError(ErrorCode.MERCHANT_GENERIC_ORDER_UNKNOWN, order_id)
    if isinstance(outcome, NotForgettable):
        raise TalerError(ErrorCode.MERCHANT_PRIVATE_PATCH_ORDERS_ID_FORGET_PATH_NOT_FORGETTABLE,
                         str(outcome))
    return {} if outcome else None


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
    currency = row["amount"].split(":", 1)[0]
    return {
        "order_id": row["order_id"], "row_id": row["order_serial"],
        "timestamp": row["creation_time"], "amount": row["amount"], "summary": row["summary"],
        "refundable": _refundable(row, now), "paid": row["paid"],
        "refund_amount": amount_text(currency, row["refunded_value"]),
        "pending_refund_amount": amount_text(currency, row["refunded_value"])}


def _refundable(row, now: int) -> bool:
    """Paid, before the refund deadline, and not yet refunded in full."""
    return (row["paid"] and row["refund_deadline"] is not None and now < row["refund_deadline"]
            and row["refunded_value"] < row["amount_value"])


def amount_text(currency: str, value) -> str:
    """An Amount string from a currency and an exact NUMERIC value."""
    return str(Amount(currency, Decimal(value)))


@bp.delete("/private/orders/<order_id>")
@endpoint(permission="orders-write", status=204,
          errors=(ErrorCode.MERCHANT_GENERIC_ORDER_UNKNOWN,
                  ErrorCode.MERCHANT_PRIVATE_DELETE_ORDERS_ALREADY_PAID))
def private_delete_orders_id(order_id):
    """Delete an unpaid order; the stock it held is free at once."""
    known_shape(order_id)
    status = get_db().run(orders_db.delete_order, instance_serial=g.instance["instance_serial"],
                          order_id=order_id)
    if status == "unknown":
        raise TalerError(ErrorCode.MERCHANT_GENERIC_ORDER_UNKNOWN, order_id)
    if status == "paid":
        raise TalerError(ErrorCode.MERCHANT_PRIVATE_DELETE_ORDERS_ALREADY_PAID, order_id)


@bp.post("/private/orders/<order_id>/paid")
@endpoint(permission="orders-write", status=204,
          errors=(ErrorCode.MERCHANT_GENERIC_ORDER_UNKNOWN,
                  ErrorCode.MERCHANT_POST_ORDERS_ID_PAY_OFFER_EXPIRED))
def private_post_orders_id_paid(order_id):
    """Payment hook (extension): the order's stock becomes sold, exactly once."""
    known_shape(order_id)
    outcome = get_db().run(orders_db.pay_order, instance_serial=g.instance["instance_serial"],
                           order_id=order_id, now=now_us(),
                           reclaim_batch=current_app.config["INVENTORY"]["RECLAIM_BATCH"],
                           nonce=crockford(secrets.token_bytes(32)))
    metrics.lock_outcome("expired", outcome.reclaimed)
    if outcome.status == "unknown":
        raise TalerError(ErrorCode.MERCHANT_GENERIC_ORDER_UNKNOWN, order_id)
    if outcome.status == "insufficient":
        stock = out_of_stock(outcome.product_id, outcome.requested, outcome.available,
                             restock=outcome.restock)
        raise TalerError(ErrorCode.MERCHANT_POST_ORDERS_ID_PAY_OFFER_EXPIRED,
                         outcome.product_id, **stock.fields)


# -- the order's contract --------------------------------------------------------

def _check_currencies(order, currency):
    """Every Amount the module uses is in the backend's currency."""
    places = [("order.amount", order.get("amount")), ("order.max_fee", order.get("max_fee"))]
    for index, choice in enumerate(order.get("choices", ())):
        places += [(f"order.choices[{index}].amount", choice["amount"]),
                   (f"order.choices[{index}].max_fee", choice.get("max_fee"))]
    for field, value in places:
        if value is not None and value.currency != currency:
            raise _malformed(field, f"The currency of this backend is {currency}.")


def order_total(lines, products, currency) -> Amount | None:
    """Sum of unit price x quantity of the lines; None if a product is unknown.

    A line whose product has no price in ``currency`` is a 400:
    the request must then say ``order.amount`` itself.
    """
    total = Amount.zero(currency)
    for index, (product_id, quantity) in enumerate(lines):
        product = products.get(product_id)
        if product is None:
            return None  # the stored procedure answers 404 for it
        price = _unit_price(product, currency)
        if price is None:
            raise TalerError(
                ErrorCode.GENERIC_PARAMETER_MISSING, "order.amount",
                hint=f"Product {product_id} has no price in {currency}: send order.amount.",
                parameter="order.amount", product_id=product_id)
        try:
            total = total + price.multiply(quantity)
        except AmountError as exc:
            raise _malformed(f"inventory_products[{index}].unit_quantity", str(exc)) from None
    return total


def contract_terms(body, *, order_id, amount, now, pay_deadline, lines, products,
                   currency, instance) -> dict:
    """The contract terms: the order as sent, completed like Taler's backend does.

    Deadlines the order leaves out come from ``refund_delay`` or the instance's
    defaults; ``max_fee`` defaults to zero (the merchant covers no fees unless it
    says so).  The inventory lines are appended to ``products`` with what the
    inventory knows of them (name, description, unit, line price, taxes, image).
    """
    order = body["order"]
    terms = dict(body["order_raw"])
    terms["order_id"] = order_id
    if order.get("version", 0) == 1:
        # Completed like the backend does: every choice has its max_fee and lists.
        terms["choices"] = [{**choice, "max_fee": choice.get("max_fee", f"{currency}:0"),
                             "inputs": choice.get("inputs", []),
                             "outputs": choice.get("outputs", [])}
                            for choice in terms["choices"]]
        terms.setdefault("token_families", {})
    elif amount is not None:
        terms["amount"] = str(amount)
        terms.setdefault("max_fee", f"{amount.currency}:0")
    terms.setdefault("timestamp", timestamp_to_wire(now))
    terms["pay_deadline"] = timestamp_to_wire(pay_deadline)
    refund = order.get("refund_deadline")
    if refund is None:
        delay = body.get("refund_delay", instance["default_refund_delay"])
        # From the contract's timestamp (whole seconds): no delay, no refund window.
        created = order.get("timestamp", now - now % US_PER_S)
        refund = ceil_to_second(add(created, delay))
        terms["refund_deadline"] = timestamp_to_wire(refund)
    wire = order.get("wire_transfer_deadline")
    if wire is None:
        wire = ceil_to_second(add(refund, instance["default_wire_transfer_delay"]))
        terms["wire_transfer_deadline"] = timestamp_to_wire(wire)
    if wire < refund:
        raise TalerError(ErrorCode.MERCHANT_PRIVATE_POST_ORDERS_REFUND_AFTER_WIRE_DEADLINE,
                         "order.wire_transfer_deadline", parameter="order.wire_transfer_deadline")
    terms.setdefault("products", [])
    if isinstance(terms.get("fulfillment_url"), str):
        terms["fulfillment_url"] = terms["fulfillment_url"].replace("${ORDER_ID}", order_id)
    inventory = [_contract_product(product_id, quantity, products[product_id], currency)
                 for product_id, quantity in lines if product_id in products]
    if inventory:
        terms["products"] = list(terms["products"]) + inventory
    return seed_forgettable(copy.deepcopy(terms))


def _contract_product(product_id, quantity, product, currency) -> dict:
    entry = {"product_id": product_id, "product_name": product["product_name"],
             "description": product["description"], "unit": product["unit"],
             "quantity": q.legacy(quantity), "unit_quantity": q.format(quantity)}
    if product["description_i18n"]:
        entry["description_i18n"] = product["description_i18n"]
    price = _unit_price(product, currency)
    if price is not None:
        try:
            entry["price"] = str(price.multiply(quantity))
        except AmountError:
            pass  # an order.amount was given; the line price is only informative
    if product["taxes"]:
        entry["taxes"] = product["taxes"]
    if product["image"]:
        entry["image"] = product["image"]
    return entry


def _unit_price(product, currency) -> Amount | None:
    """The product's price per unit in ``currency`` (its list has one per currency)."""
    for text in product["unit_price"] or []:
        price = Amount.parse(text)
        if price.currency == currency:
            return price
    return None


# -- wire helpers -------------------------------------------------------------------

def new_order_id(now: int) -> str:
    """A unique, URL-safe order id like Taler's: day of creation and 80 random bits."""
    day = time.strftime("%Y.%j", time.gmtime(now // US_PER_S))
    return f"{day}-{crockford(secrets.token_bytes(10))}"


def ceil_to_second(us: int) -> int:
    """Round a time up to a whole second (Taler Timestamps have seconds)."""
    if us >= FOREVER:
        return FOREVER
    return min(-(-us // US_PER_S) * US_PER_S, FOREVER)


def _canonical_request(body) -> str:
    """What makes two requests for the same order id "the same request"."""
    request = {
        "order": body["order_raw"],
        "inventory_products": [[line["product_id"], q.format(line["quantity"])]
                               for line in body["inventory_products"]],
        "lock_uuids": body["lock_uuids"],
        "create_token": body["create_token"],
        "refund_delay": body.get("refund_delay"),
    }
    if body.get("session_id") is not None:
        # Only when given, so the orders made before it existed keep their hash.
        request["session_id"] = body["session_id"]
    return exact_dumps(request, sort_keys=True)


_PLACEHOLDER = re.compile(r'"\\u0000(\d+)\\u0000"')


def exact_dumps(value, **kwargs) -> str:
    """JSON text of ``value`` in which the client's fractional numbers stay exact.

    The body parser keeps them as :class:`JsonNumber` text; they are written back
    as the number sent, so JSONB stores it exactly.  Stored strings never contain
    NUL (the schemas reject it), so the placeholder cannot clash.
    """
    numbers = []

    def mark(item):
        if isinstance(item, JsonNumber):
            numbers.append(str.__str__(item))
            return f"\x00{len(numbers) - 1}\x00"
        if isinstance(item, dict):
            return {k: mark(v) for k, v in item.items()}
        if isinstance(item, list):
            return [mark(v) for v in item]
        return item

    text = json.dumps(mark(value), separators=(",", ":"), **kwargs)
    return _PLACEHOLDER.sub(lambda m: numbers[int(m.group(1))], text) if numbers else text


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


def _check_line_sums(lines):
    """All lines of a product together stay a quantity (below 2^52)."""
    sums = {}
    for index, (product_id, quantity) in enumerate(lines):
        sums[product_id] = sums.get(product_id, 0) + quantity
        if sums[product_id] > q.MAX_INTEGER:
            raise _malformed(f"inventory_products[{index}].unit_quantity",
                             "The lines of this product add up to more than 2^52-1.")


def _check_numbers(value, path):
    """Fractional JSON numbers are stored exactly: they must fit PostgreSQL's NUMERIC."""
    if isinstance(value, JsonNumber):
        number = Decimal(value)
        if not -1000 <= number.adjusted() <= 1000:
            raise _malformed(path, "The number is out of range.")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_numbers(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_numbers(item, f"{path}[{index}]")


def known_shape(order_id: str, code=ErrorCode.MERCHANT_GENERIC_ORDER_UNKNOWN):
    """An order id no order can have is unknown (and never reaches SQL)."""
    if ORDER_ID.regex.match(order_id) is None:
        raise TalerError(code, order_id[:128])


def _malformed(field: str, hint: str) -> TalerError:
    return TalerError(ErrorCode.GENERIC_PARAMETER_MALFORMED, field,
                      hint=f"{ErrorCode.GENERIC_PARAMETER_MALFORMED.hint} {field}: {hint}",
                      parameter=field)

