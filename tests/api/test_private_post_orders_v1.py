"""Orders of version 1 (ContractTerms v1 with ``choices``): checked for the fields
this module uses (each choice's ``amount`` and ``max_fee``), completed like the
backend does, and refused with 400 naming the field when malformed."""
import pytest

from taler_inventory import contract, talercrypto

from .. import factories as f
from ..checks import assert_error


def _v1(**order):
    return {"summary": "a choice", "version": 1,
            "choices": [{"amount": "KUDOS:5"},
                        {"amount": "KUDOS:7.5", "max_fee": "KUDOS:0.5",
                         "description": "with a mug", "outputs": []}], **order}


def test_v1_order_is_stored_with_its_choices(client, h, db):
    resp = client.post("/private/orders", headers=h, json={"order": _v1(order_id="v1-a")})
    assert resp.status_code == 200, resp.get_json()
    body = client.get("/private/orders/v1-a", headers=h).get_json()
    terms = body["contract_terms"]
    assert terms["version"] == 1 and "amount" not in terms and "max_fee" not in terms
    assert terms["choices"] == [
        {"amount": "KUDOS:5", "max_fee": "KUDOS:0", "inputs": [], "outputs": []},
        {"amount": "KUDOS:7.5", "max_fee": "KUDOS:0.5", "description": "with a mug",
         "inputs": [], "outputs": []}]
    assert terms["token_families"] == {}
    # The order's amount (refund limit, listing) is its dearest choice.
    assert body["total_amount"] == "KUDOS:7.5"
    row = db.execute("SELECT amount FROM orders WHERE order_id = 'v1-a'").fetchone()
    assert row["amount"] == "KUDOS:7.5"
    # A wallet claims and verifies the v1 terms like v0 ones.
    token = resp.get_json()["token"]
    nonce = talercrypto.encode(b"\x05" * 32)
    claim = client.post("/orders/v1-a/claim", json={"nonce": nonce, "token": token})
    assert claim.status_code == 200
    assert claim.get_json()["contract_terms"]["choices"] == terms["choices"]
    assert contract.contract_hash(claim.get_json()["contract_terms"])


def test_v1_with_inventory_lines(client, h, db):
    f.create_product(client, h, "p1", unit_total_stock="3", unit_price=["KUDOS:2"])
    resp = client.post("/private/orders", headers=h, json={
        "order": _v1(order_id="v1-b"), "inventory_products": [{"product_id": "p1"}]})
    assert resp.status_code == 200, resp.get_json()
    terms = client.get("/private/orders/v1-b", headers=h).get_json()["contract_terms"]
    assert [p["product_id"] for p in terms["products"]] == ["p1"]
    assert "amount" not in terms


@pytest.mark.parametrize("order, code, field", [
    (_v1(choices=[]), 26, "order.choices"),
    (_v1(choices=[{"max_fee": "KUDOS:1"}]), 25, "order.choices[0].amount"),
    (_v1(choices=[{"amount": "KUDOS:1"}, {"amount": "KUDOS:x"}]), 26,
     "order.choices[1].amount"),
    (_v1(choices=[{"amount": "EUR:1"}]), 26, "order.choices[0].amount"),
    (_v1(choices=[{"amount": "KUDOS:1", "max_fee": "EUR:1"}]), 26,
     "order.choices[0].max_fee"),
    (_v1(choices=[{"amount": "KUDOS:1", "inputs": "none"}]), 26, "order.choices[0].inputs"),
    (_v1(choices="KUDOS:1"), 26, "order.choices"),
    (_v1(amount="KUDOS:1"), 26, "order.amount"),
    (_v1(max_fee="KUDOS:1"), 26, "order.max_fee"),
    ({"summary": "x", "version": 1}, 25, "order.choices"),
    ({"summary": "x", "version": 2, "amount": "KUDOS:1"}, 26, "order.version"),
    ({"summary": "x", "version": "1", "amount": "KUDOS:1"}, 26, "order.version"),
    ({"summary": "x", "amount": "KUDOS:1", "choices": [{"amount": "KUDOS:1"}]}, 26,
     "order.choices"),
    ({"summary": "x", "amount": "KUDOS:1", "max_fee": "EUR:1"}, 26, "order.max_fee"),
])
def test_bad_v1_order_is_400_naming_the_field(client, h, db, order, code, field):
    resp = client.post("/private/orders", headers=h, json={"order": order})
    assert assert_error(resp, 400, code)["parameter"] == field
    assert db.execute("SELECT count(*) AS n FROM orders").fetchone()["n"] == 0
