"""``GET /private/orders``: the orders of an instance by row id, paginated and
filtered by payment, in the shape Taler clients parse."""
import pytest

from .. import factories as f
from ..checks import assert_error


@pytest.fixture
def h(admin_headers):
    return admin_headers


def ids(resp):
    assert resp.status_code == 200, resp.get_json()
    return [o["order_id"] for o in resp.get_json()["orders"]]


@pytest.fixture
def five(client, h):
    for i in range(5):
        f.create_order(client, h, amount=f"KUDOS:{i + 1}", order_id=f"o{i}", summary=f"s{i}")
    for i in (1, 3):
        assert client.post(f"/private/orders/o{i}/paid", headers=h).status_code == 204


def test_listing_shape(client, h, five):
    orders = client.get("/private/orders", headers=h).get_json()["orders"]
    assert [o["order_id"] for o in orders] == ["o0", "o1", "o2", "o3", "o4"]
    first = orders[0]
    assert set(first) == {"order_id", "row_id", "timestamp", "amount", "summary",
                          "refundable", "paid"}
    assert (first["amount"], first["summary"], first["paid"]) == ("KUDOS:1", "s0", False)
    assert isinstance(first["timestamp"]["t_s"], int)
    assert [o["paid"] for o in orders] == [False, True, False, True, False]
    assert [o["row_id"] for o in orders] == sorted(o["row_id"] for o in orders)


def test_pagination(client, h, five):
    rows = client.get("/private/orders", headers=h).get_json()["orders"]
    row = {o["order_id"]: o["row_id"] for o in rows}
    assert ids(client.get("/private/orders?limit=2", headers=h)) == ["o0", "o1"]
    assert ids(client.get(f"/private/orders?limit=2&offset={row['o1']}", headers=h)) == \
        ["o2", "o3"]
    assert ids(client.get("/private/orders?limit=-2", headers=h)) == ["o4", "o3"]
    assert ids(client.get(f"/private/orders?limit=-2&offset={row['o3']}", headers=h)) == \
        ["o2", "o1"]


def test_paid_filter(client, h, five):
    assert ids(client.get("/private/orders?paid=yes", headers=h)) == ["o1", "o3"]
    assert ids(client.get("/private/orders?paid=no", headers=h)) == ["o0", "o2", "o4"]
    assert ids(client.get("/private/orders?paid=no&limit=-1", headers=h)) == ["o4"]
    assert ids(client.get("/private/orders?paid=all", headers=h)) == ["o0", "o1", "o2", "o3",
                                                                     "o4"]


def test_refundable_while_the_refund_deadline_is_ahead(client, h):
    for order_id, delay in (("r1", 3_600_000_000), ("r0", None)):
        body = {"order": {"summary": "s", "amount": "KUDOS:1", "order_id": order_id}}
        if delay:
            body["refund_delay"] = {"d_us": delay}
        assert client.post("/private/orders", headers=h, json=body).status_code == 200
        assert client.post(f"/private/orders/{order_id}/paid", headers=h).status_code == 204
    f.create_order(client, h, amount="KUDOS:1", order_id="unpaid",
                   refund_deadline={"t_s": 4_000_000_000})
    orders = client.get("/private/orders", headers=h).get_json()["orders"]
    assert {o["order_id"]: o["refundable"] for o in orders} == {
        "r1": True, "r0": False, "unpaid": False}


@pytest.mark.parametrize("query,field", [
    ("limit=x", "limit"), ("limit=1.5", "limit"), ("limit=100000", "limit"),
    ("offset=-1", "offset"), ("paid=maybe", "paid")])
def test_bad_query_is_400(client, h, query, field):
    body = assert_error(client.get(f"/private/orders?{query}", headers=h), 400, 26)
    assert body["parameter"] == field


def test_instances_see_only_their_orders(client, admin_headers, five):
    h1 = f.instance_headers(client, admin_headers, "shop1")
    assert ids(client.get("/instances/shop1/private/orders", headers=h1)) == []
