"""Orders: a request made into a draft the database can store, order ids, and the
statuses an order's row means.

No HTTP here: the view passes in what the request and the settings say (the time,
the currency, the instance's base URL), the database operation stores the draft
(:func:`taler_inventory.backenddb.orders.create_order`), and a refused request
raises :class:`~taler_inventory.contract.OrderRefused`.
"""
import hashlib
import secrets
import time
from dataclasses import dataclass
from decimal import Decimal

from . import quantity as q
from .amount import Amount
from .contract import OrderRefused, check_currencies, crockford
from .exactjson import exact_dumps, out_of_range
from .timeutil import US_PER_S, add, ceil_to_second, timestamp_to_wire


@dataclass(frozen=True)
class Draft:
    """An order request, checked, with everything decided before the database
    call (so a retried transaction stores the same order)."""

    body: dict                # the parsed request (``order_raw``: the order as sent)
    order_id: str
    now: int
    pay_deadline: int
    amount: Amount | None     # order.amount, or a version 1 order's dearest choice
    lines: list               # (product_id, quantity) in request order
    lock_uuids: list          # distinct, in request order
    claim_token: str | None
    request_hash: bytes
    currency: str
    base_url: str             # the instance's public base URL, ending in "/"
    exchanges: list

    @property
    def summary(self) -> str:
        return self.body["order"]["summary"]

    @property
    def session_id(self) -> str | None:
        return self.body.get("session_id")


def draft_order(body: dict, *, now: int, currency: str, default_pay_delay: int, base_url: str,
          exchanges: list) -> Draft:
    """Check an order request (see :class:`Draft`); raise ``OrderRefused``."""
    order = body["order"]
    order_id = order.get("order_id") or new_order_id(now)
    pay_deadline = order.get("pay_deadline")
    if pay_deadline is None:
        pay_deadline = ceil_to_second(add(now, default_pay_delay))
    elif pay_deadline <= now:
        raise OrderRefused(OrderRefused.MALFORMED, "order.pay_deadline",
                           "The pay deadline is not in the future.")
    amount = order.get("amount")
    check_currencies(order, currency)
    if order.get("version", 0) == 1:
        # The order's amount (its refund limit, its listing) is its dearest choice.
        amount = max((c["amount"] for c in order["choices"]), key=lambda a: a.value)
    lines = [(line["product_id"], line["quantity"]) for line in body["inventory_products"]]
    check_line_sums(lines)
    path = out_of_range(body["order_raw"], "order")
    if path is not None:
        raise OrderRefused(OrderRefused.MALFORMED, path, "The number is out of range.")
    if amount is None and not lines:
        raise OrderRefused(OrderRefused.MISSING, "order.amount",
                           "order.amount is required when there are no inventory_products.")
    return Draft(
        body=body, order_id=order_id, now=now, pay_deadline=pay_deadline, amount=amount,
        lines=lines, lock_uuids=list(dict.fromkeys(body["lock_uuids"])),
        claim_token=crockford(secrets.token_bytes(16)) if body["create_token"] else None,
        request_hash=request_hash(body), currency=currency, base_url=base_url,
        exchanges=list(exchanges))


def check_line_sums(lines) -> None:
    """All lines of a product together stay a quantity (below 2^52)."""
    sums = {}
    for index, (product_id, quantity) in enumerate(lines):
        sums[product_id] = sums.get(product_id, 0) + quantity
        if sums[product_id] > q.MAX_INTEGER:
            raise OrderRefused(OrderRefused.MALFORMED,
                               f"inventory_products[{index}].unit_quantity",
                               "The lines of this product add up to more than 2^52-1.")


def new_order_id(now: int) -> str:
    """A unique, URL-safe order id like Taler's: day of creation and 80 random bits."""
    day = time.strftime("%Y.%j", time.gmtime(now // US_PER_S))
    return f"{day}-{crockford(secrets.token_bytes(10))}"


def request_hash(body: dict) -> bytes:
    """What makes two requests for the same order id "the same request": the
    hash of their canonical JSON."""
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
    return hashlib.sha256(exact_dumps(request, sort_keys=True).encode()).digest()


# -- what an order's row means ---------------------------------------------------

def order_status(row) -> str:
    """Taler's order status: paid, claimed (a wallet took the contract) or unpaid."""
    if row["paid"]:
        return "paid"
    return "claimed" if row["claim_nonce"] is not None else "unpaid"


def paid_for_session(row, session_id: str | None) -> bool:
    """Paid, and (given a ``session_id``) in that session: a payment is bound to the
    session the order was made for; in another session the wallet must pay (or
    show its earlier payment) again."""
    if not row["paid"]:
        return False
    return session_id is None or row["session_id"] in (None, session_id)


def currency_of(row) -> str:
    """The currency of an order (that of its amount)."""
    return row["amount"].split(":", 1)[0]


def amount_text(currency: str, value) -> str:
    """An Amount string from a currency and an exact NUMERIC value."""
    return str(Amount(currency, Decimal(value)))


def refund_status(row) -> dict:
    """The refund fields of a paid order's status.

    A refund stays pending: the wallet picks it up from the payment side, which
    this module does not see (as it takes no coins).
    """
    currency = currency_of(row)
    refunded = row["refunded_value"] > 0
    return {
        "refunded": refunded, "refund_pending": refunded,
        "refund_amount": amount_text(currency, row["refunded_value"]),
        "refund_details": [{
            "reason": r["reason"], "pending": True,
            "timestamp": timestamp_to_wire(r["refund_time"]),
            "amount": amount_text(currency, r["increase"])} for r in row["refunds"]]}


def refundable(row, now: int) -> bool:
    """Paid, before the refund deadline, and not yet refunded in full."""
    return (row["paid"] and row["refund_deadline"] is not None and now < row["refund_deadline"]
            and row["refunded_value"] < row["amount_value"])
