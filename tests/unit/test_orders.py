"""orders.py and contract.py: an order request made into a draft, and its terms."""
from decimal import Decimal as D

import pytest

from taler_inventory import contract, orders
from taler_inventory.amount import Amount
from taler_inventory.exactjson import JsonNumber, exact_dumps
from taler_inventory.timeutil import US_PER_S

NOW = 1_700_000_000 * US_PER_S + 250_000


def body(**order):
    order = {"summary": "tea", **order}
    raw = {k: str(v) if isinstance(v, Amount) else v for k, v in order.items()}
    return {"order": order, "order_raw": raw, "inventory_products": [],
            "lock_uuids": ["a", "b", "a"], "create_token": True}


def draft(request, **kwargs):
    return orders.draft_order(request, now=NOW, currency="KUDOS", default_pay_delay=60 * US_PER_S,
                        base_url="https://shop.example/", exchanges=[], **kwargs)


def test_a_draft_rounds_the_default_pay_deadline_up_and_keeps_each_cart_once():
    made = draft(body(amount=Amount.parse("KUDOS:1")))
    assert made.pay_deadline == (1_700_000_000 + 61) * US_PER_S
    assert made.lock_uuids == ["a", "b"]
    assert made.claim_token and made.order_id.startswith("2023.")


@pytest.mark.parametrize("order, field", [
    ({"amount": Amount.parse("EUR:1")}, "order.amount"),
    ({"amount": Amount.parse("KUDOS:1"), "pay_deadline": NOW}, "order.pay_deadline"),
    ({"amount": Amount.parse("KUDOS:1"), "extra": {"x": JsonNumber("1e1001")}},
     "order.extra.x"),
    ({}, "order.amount"),
])
def test_a_draft_refuses_naming_the_field(order, field):
    with pytest.raises(contract.OrderRefused) as refused:
        draft(body(**order))
    assert refused.value.field == field


def test_the_same_request_has_the_same_hash_whatever_the_quantity_twin():
    one, two = body(), body()
    one["inventory_products"] = [{"product_id": "p", "quantity": D(2)}]
    two["inventory_products"] = [{"product_id": "p", "quantity": D("2.0")}]
    assert orders.request_hash(one) == orders.request_hash(two)


def test_a_total_needs_a_price_in_the_currency():
    products = {"p": {"unit_price": ["EUR:2", "KUDOS:1.5"]}, "q": {"unit_price": ["EUR:1"]}}
    assert contract.order_total([("p", D(2))], products, "KUDOS") == Amount.parse("KUDOS:3")
    with pytest.raises(contract.OrderRefused) as refused:
        contract.order_total([("q", D(1))], products, "KUDOS")
    assert refused.value.kind == contract.OrderRefused.MISSING
    assert refused.value.product_id == "q"


def test_exact_dumps_writes_numbers_as_sent():
    assert exact_dumps({"a": JsonNumber("1.10"), "b": [JsonNumber("2e3")]}) \
        == '{"a":1.10,"b":[2e3]}'


def test_order_status_of_a_row():
    assert orders.order_status({"paid": False, "claim_nonce": None}) == "unpaid"
    assert orders.order_status({"paid": False, "claim_nonce": "N"}) == "claimed"
    assert orders.order_status({"paid": True, "claim_nonce": "N"}) == "paid"
