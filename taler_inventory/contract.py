"""Taler's contract terms: how an order's are made (the order as sent, completed
with deadlines, inventory lines and what the instance adds), their hash, the
signed purpose, and forgettable fields.

The hash of contract terms (``h_contract_terms``) is SHA-512 over their canonical
JSON: object keys sorted, no whitespace, strings as UTF-8 with only the escapes
JSON requires (RFC 8785 for the values contracts carry).  Fields a merchant may
forget later are listed with a salt in their object's ``_forgettable``; before
hashing, each of them is replaced by its salted hash in ``_forgotten``, so the hash
is the same before and after the merchant forgets them.
"""
import copy
import hashlib
import json
import re
import secrets
import struct

from . import quantity as q
from . import talercrypto
from .amount import Amount, AmountError
from .timeutil import US_PER_S, add, ceil_to_second, timestamp_to_wire

#: ``TALER_SIGNATURE_MERCHANT_CONTRACT``: the purpose of the merchant's signature
#: over a contract hash.
MERCHANT_CONTRACT_PURPOSE = 1101
#: The instance details that go into the contract's ``merchant`` object.
MERCHANT_FIELDS = ("address", "jurisdiction", "email", "website", "logo")
FORGETTABLE = "_forgettable"
FORGOTTEN = "_forgotten"


class ForgetPathError(ValueError):
    """A forget path that is not ``$.field``, ``$.a[1].b`` or ``$.a[*].b``."""


class NotForgettable(ValueError):
    """A forget path names a field its object does not list in ``_forgettable``."""


class OrderRefused(ValueError):
    """An order request the contract rules refuse: ``kind`` says which rule,
    ``field`` names the culprit, ``reason`` says why."""

    #: A field's value breaks a rule (400, code 26).
    MALFORMED = "malformed"
    #: A field that the rest of the request makes necessary is missing (400, code 25).
    MISSING = "missing"
    #: The wire transfer deadline is before the refund deadline.
    WIRE_BEFORE_REFUND = "wire_before_refund"

    def __init__(self, kind: str, field: str, reason: str | None = None,
                 product_id: str | None = None):
        super().__init__(f"{field}: {reason}" if reason else field)
        self.kind = kind
        self.field = field
        self.reason = reason
        self.product_id = product_id


crockford = talercrypto.encode


def merchant(instance) -> dict:
    """The ``merchant`` of contract terms: the instance's name and public details."""
    details = {"name": instance["name"]}
    settings = instance["settings"] or {}
    details.update({k: settings[k] for k in MERCHANT_FIELDS if settings.get(k)})
    return details


def wire_method(payto_uri: str) -> str:
    """The wire method of a payto URI: its target type (``payto://iban/...``: iban)."""
    return payto_uri.split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0].lower()


def add_merchant(terms: dict, *, instance, account, base_url: str, exchanges: list) -> dict:
    """Add what the instance says to the terms (in place): ``merchant``,
    ``merchant_pub``, ``merchant_base_url``, ``exchanges`` and, from its bank
    account, ``wire_method`` and ``h_wire`` (neither without an account)."""
    terms["merchant"] = merchant(instance)
    terms["merchant_pub"] = talercrypto.encode(instance["merchant_pub"])
    terms["merchant_base_url"] = base_url
    terms["exchanges"] = list(exchanges)
    if account is not None:
        terms["wire_method"] = wire_method(account["payto_uri"])
        terms["h_wire"] = talercrypto.encode(account["h_wire"])
    return terms


def signed_purpose(h_contract: bytes) -> bytes:
    """What the merchant signs: GNUnet's purpose header (its size and
    :data:`MERCHANT_CONTRACT_PURPOSE`, 32-bit big-endian each) and the hash."""
    return struct.pack(">II", 8 + len(h_contract), MERCHANT_CONTRACT_PURPOSE) + h_contract


def sign(private_seed: bytes, terms: dict) -> str:
    """The instance's EdDSA signature over the contract's hash, in base32."""
    return talercrypto.encode(talercrypto.sign(private_seed, signed_purpose(contract_hash(terms))))


def canonical(value) -> bytes:
    """The canonical JSON encoding of ``value`` that Taler hashes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, allow_nan=False).encode("utf-8")


def contract_hash(terms: dict) -> bytes:
    """``h_contract_terms``: SHA-512 of the canonical terms, forgettable fields hashed."""
    return hashlib.sha512(canonical(_hash_forgettable(terms))).digest()


def salted_hash(value, salt: str) -> bytes:
    """GNUnet's KDF (HKDF: HMAC-SHA512 extract, HMAC-SHA256 expand) of a field's
    canonical JSON, keyed with its salt, as Taler hashes a forgettable field."""
    return talercrypto.kdf(talercrypto.HASH_BYTES, canonical(value), salt.encode() + b"\0", b"")


def seed_forgettable(value):
    """Give every ``_forgettable`` entry sent as ``true`` a random salt (in place)."""
    if isinstance(value, dict):
        marks = value.get(FORGETTABLE)
        if isinstance(marks, dict):
            for key, mark in marks.items():
                if mark is True:
                    marks[key] = crockford(secrets.token_bytes(32))
        for item in value.values():
            seed_forgettable(item)
    elif isinstance(value, list):
        for item in value:
            seed_forgettable(item)
    return value


def _hash_forgettable(value):
    if isinstance(value, list):
        return [_hash_forgettable(item) for item in value]
    if not isinstance(value, dict):
        return value
    marks = value.get(FORGETTABLE)
    result = {k: _hash_forgettable(v) for k, v in value.items() if k != FORGETTABLE}
    if isinstance(marks, dict):
        forgotten = dict(result.get(FORGOTTEN) or {})
        for key, salt in marks.items():
            if key in result and isinstance(salt, str):
                forgotten[key] = crockford(salted_hash(value[key], salt))
                del result[key]
        if forgotten:
            result[FORGOTTEN] = forgotten
    return result


_STEP = re.compile(r"\.([A-Za-z0-9_$-]+)|\[(\*|0|[1-9][0-9]{0,8})\]")


def parse_path(path: str) -> list:
    """``$.a[1].b`` → ["a", 1, "b"]; ``*`` stays "*".  It must end with a field."""
    if not isinstance(path, str) or not path.startswith("$"):
        raise ForgetPathError(path)
    steps, pos = [], 1
    while pos < len(path):
        match = _STEP.match(path, pos)
        if match is None:
            raise ForgetPathError(path)
        field, index = match.groups()
        steps.append(field if field is not None else "*" if index == "*" else int(index))
        pos = match.end()
    if not steps or path.endswith("]"):
        raise ForgetPathError(path)
    return steps


def forget(terms: dict, paths: list[list]) -> int:
    """Forget the fields at ``paths`` in ``terms`` (in place); return how many were
    still there.  A field that is not there (or was forgotten before) is skipped."""
    removed = 0
    for steps in paths:
        for parent, key in _parents(terms, steps[:-1], steps[-1]):
            if key not in parent:
                continue
            salt = (parent.get(FORGETTABLE) or {}).get(key)
            if not isinstance(salt, str):
                raise NotForgettable(key)
            parent.setdefault(FORGOTTEN, {})[key] = crockford(salted_hash(parent[key], salt))
            del parent[key]
            removed += 1
    return removed


def _parents(node, steps, last):
    if not steps:
        if isinstance(node, dict):
            yield node, last
        return
    step, rest = steps[0], steps[1:]
    if step == "*":
        children = node if isinstance(node, list) else []
    elif isinstance(step, int):
        children = [node[step]] if isinstance(node, list) and step < len(node) else []
    else:
        children = [node[step]] if isinstance(node, dict) and step in node else []
    for child in children:
        yield from _parents(child, rest, last)


# -- an order's terms --------------------------------------------------------------

def check_currencies(order: dict, currency: str) -> None:
    """Every Amount of the order is in the backend's ``currency``."""
    places = [("order.amount", order.get("amount")), ("order.max_fee", order.get("max_fee"))]
    for index, choice in enumerate(order.get("choices", ())):
        places += [(f"order.choices[{index}].amount", choice["amount"]),
                   (f"order.choices[{index}].max_fee", choice.get("max_fee"))]
    for field, value in places:
        if value is not None and value.currency != currency:
            raise OrderRefused(OrderRefused.MALFORMED, field,
                               f"The currency of this backend is {currency}.")


def unit_price(product, currency: str) -> Amount | None:
    """The product's price per unit in ``currency`` (its list has one per currency)."""
    for text in product["unit_price"] or []:
        price = Amount.parse(text)
        if price.currency == currency:
            return price
    return None


def order_total(lines, products, currency: str) -> Amount | None:
    """Sum of unit price x quantity of the lines; None if a product is unknown.

    A line whose product has no price in ``currency`` is refused: the request must
    then say ``order.amount`` itself.
    """
    total = Amount.zero(currency)
    for index, (product_id, quantity) in enumerate(lines):
        product = products.get(product_id)
        if product is None:
            return None  # the stored procedure answers 404 for it
        price = unit_price(product, currency)
        if price is None:
            raise OrderRefused(
                OrderRefused.MISSING, "order.amount",
                f"Product {product_id} has no price in {currency}: send order.amount.",
                product_id=product_id)
        try:
            total = total + price.multiply(quantity)
        except AmountError as exc:
            raise OrderRefused(OrderRefused.MALFORMED,
                               f"inventory_products[{index}].unit_quantity", str(exc)) from None
    return total


def order_terms(draft, *, products, instance, account) -> tuple[Amount | None, dict]:
    """The total and the complete contract terms of an order ``draft``
    (:class:`taler_inventory.orders.Draft`), from what the database says of its
    products (by product id), of the instance and of its bank account."""
    total = draft.amount
    if total is None:
        total = order_total(draft.lines, products, draft.currency)
    terms = contract_terms(draft.body, order_id=draft.order_id, amount=total, now=draft.now,
                           pay_deadline=draft.pay_deadline, lines=draft.lines,
                           products=products, currency=draft.currency, instance=instance)
    add_merchant(terms, instance=instance, account=account, base_url=draft.base_url,
                 exchanges=draft.exchanges)
    return total, terms


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
        raise OrderRefused(OrderRefused.WIRE_BEFORE_REFUND, "order.wire_transfer_deadline")
    terms.setdefault("products", [])
    if isinstance(terms.get("fulfillment_url"), str):
        terms["fulfillment_url"] = terms["fulfillment_url"].replace("${ORDER_ID}", order_id)
    inventory = [contract_product(product_id, quantity, products[product_id], currency)
                 for product_id, quantity in lines if product_id in products]
    if inventory:
        terms["products"] = list(terms["products"]) + inventory
    return seed_forgettable(copy.deepcopy(terms))


def contract_product(product_id, quantity, product, currency) -> dict:
    """An inventory line as the contract's ``products`` list it."""
    entry = {"product_id": product_id, "product_name": product["product_name"],
             "description": product["description"], "unit": product["unit"],
             "quantity": q.legacy(quantity), "unit_quantity": q.format(quantity)}
    if product["description_i18n"]:
        entry["description_i18n"] = product["description_i18n"]
    price = unit_price(product, currency)
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
