"""``GET /private/orders/$ORDER_ID``: Taler's unpaid / paid status, with the
contract terms, the inventory lines (both quantity twins) and the pay deadline."""
import pytest

from .. import factories as f
from ..checks import assert_error


def test_unpaid_order(client, h, db):
    f.create_product(client, h, "p1", unit_allow_fraction=True, unit_total_stock="5",
                     unit_price=["KUDOS:2"])
    resp = client.post("/private/orders", headers=h, json={
        "order": {"summary": "Two things", "order_id": "o-1",
                  "pay_deadline": {"t_s": 4_000_000_000}},
        "inventory_products": [{"product_id": "p1", "unit_quantity": "1.50"}]})
    assert resp.status_code == 200, resp.get_json()
    token = resp.get_json()["token"]
    resp = client.get("/private/orders/o-1", headers=h)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["order_status"] == "unpaid"
    assert body["order_id"] == "o-1"
    assert body["summary"] == "Two things"
    assert body["total_amount"] == "KUDOS:3"
    assert body["pay_deadline"] == {"t_s": 4_000_000_000}
    assert isinstance(body["creation_time"]["t_s"], int)
    assert body["inventory_products"] == [
        {"product_id": "p1", "quantity": 1, "unit_quantity": "1.5"}]
    terms = body["contract_terms"]
    assert terms["order_id"] == "o-1" and terms["summary"] == "Two things"
    assert terms["amount"] == "KUDOS:3"
    assert terms["pay_deadline"] == {"t_s": 4_000_000_000}
    [entry] = terms["products"]
    assert {k: entry[k] for k in ("product_id", "description", "unit", "quantity",
                                  "unit_quantity", "price")} == {
        "product_id": "p1", "description": "Product p1", "unit": "piece", "quantity": 1,
        "unit_quantity": "1.5", "price": "KUDOS:3"}
    assert body["taler_pay_uri"] == f"taler+http://pay/localhost/o-1/?c={token}"
    assert body["order_status_url"] == f"http://localhost/orders/o-1?token={token}"
    assert "last_payment" not in body


def test_paid_order(client, h, db):
    order_id = f.create_order(client, h, amount="KUDOS:7", order_id="o-2")
    assert client.post(f"/private/orders/{order_id}/paid", headers=h).status_code == 204
    body = client.get("/private/orders/o-2", headers=h).get_json()
    assert body["order_status"] == "paid"
    assert body["deposit_total"] == "KUDOS:7"
    assert body["refund_amount"] == "KUDOS:0"
    assert (body["refunded"], body["refund_pending"], body["wired"]) == (False, False, False)
    assert body["contract_terms"]["amount"] == "KUDOS:7"
    assert isinstance(body["last_payment"]["t_s"], int)
    assert body["inventory_products"] == []
    assert "taler_pay_uri" not in body


def test_other_instances_and_their_uris(client, admin_headers, db):
    h1 = f.instance_headers(client, admin_headers, "shop1")
    resp = client.post("/instances/shop1/private/orders", headers=h1, json={
        "order": {"summary": "s", "amount": "KUDOS:1", "order_id": "o-1"},
        "create_token": False})
    assert resp.status_code == 200
    body = client.get("/instances/shop1/private/orders/o-1", headers=h1).get_json()
    assert body["taler_pay_uri"] == "taler+http://pay/localhost/instances/shop1/o-1/"
    assert body["order_status_url"] == "http://localhost/instances/shop1/orders/o-1"
    assert_error(client.get("/private/orders/o-1", headers=admin_headers), 404, 2005)


@pytest.mark.parametrize("order_id", ["nope", "a%00b", "x" * 200, "%C3%A9"])
def test_unknown_order_is_404(client, h, order_id):
    assert_error(client.get(f"/private/orders/{order_id}", headers=h), 404, 2005)


def test_needs_orders_read(client, h):
    f.create_order(client, h, amount="KUDOS:1", order_id="o-1")
    pos = f.auth_headers(f.token(client, "admin", f.ADMIN_PASSWORD, "order-simple"))
    assert client.get("/private/orders/o-1", headers=pos).status_code == 200
    assert_error(client.get("/private/orders/o-1"), 401, 2015)
