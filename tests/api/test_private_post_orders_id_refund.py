"""``POST /private/orders/$ORDER_ID/refund``: the refunded total of a paid order only
grows, never beyond its amount, before the refund deadline; the stock stays sold."""
import datetime

import pytest
from freezegun import freeze_time

from .. import factories as f
from ..checks import assert_error

T0 = 1_700_000_000  # before the test token was made, so freezing here keeps it valid


@pytest.fixture
def clock():
    with freeze_time(datetime.datetime.fromtimestamp(T0, datetime.UTC)) as frozen:
        yield frozen


def paid_order(client, h, order_id="o1", refund_deadline=T0 + 3600, lines=(), **order):
    if refund_deadline is not None:
        order["refund_deadline"] = {"t_s": refund_deadline}
    f.create_order(client, h, lines, order_id=order_id, amount="KUDOS:10", **order)
    assert client.post(f"/private/orders/{order_id}/paid", headers=h).status_code == 204
    return order_id


def refund(client, h, amount, order_id="o1", reason="broken"):
    return client.post(f"/private/orders/{order_id}/refund", headers=h,
                       json={"refund": amount, "reason": reason})


def status(client, h, order_id="o1"):
    resp = client.get(f"/private/orders/{order_id}", headers=h)
    assert resp.status_code == 200
    return resp.get_json()


def test_refund_and_its_status(client, h, clock, db):
    f.create_product(client, h, "p1", total_stock=5)
    paid_order(client, h, lines=[("p1", 2)])
    resp = refund(client, h, "KUDOS:2.5")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["taler_refund_uri"] == "taler+http://refund/localhost/o1/"
    assert len(body["h_contract"]) == 103  # 64 bytes in Crockford base32
    clock.tick(60)
    assert refund(client, h, "KUDOS:4", reason="more").status_code == 200
    s = status(client, h)
    assert (s["order_status"], s["refunded"], s["refund_pending"], s["refund_amount"]) == \
        ("paid", True, True, "KUDOS:4")
    assert s["refund_details"] == [
        {"reason": "broken", "pending": True, "timestamp": {"t_s": T0}, "amount": "KUDOS:2.5"},
        {"reason": "more", "pending": True, "timestamp": {"t_s": T0 + 60},
         "amount": "KUDOS:1.5"}]
    # A refund gives no stock back.
    product = f.product(client, h, "p1")
    assert (product["unit_total_sold"], product["unit_total_stock"]) == ("2", "5")
    [entry] = client.get("/private/orders", headers=h).get_json()["orders"]
    assert (entry["refund_amount"], entry["refundable"]) == ("KUDOS:4", True)


def test_the_same_or_a_lower_total_changes_nothing(client, h, clock):
    paid_order(client, h)
    assert refund(client, h, "KUDOS:3").status_code == 200
    assert refund(client, h, "KUDOS:3").status_code == 200
    assert refund(client, h, "KUDOS:1").status_code == 200
    s = status(client, h)
    assert s["refund_amount"] == "KUDOS:3" and len(s["refund_details"]) == 1


def test_the_whole_amount_then_nothing_is_refundable(client, h, clock):
    paid_order(client, h)
    assert refund(client, h, "KUDOS:10").status_code == 200
    [entry] = client.get("/private/orders", headers=h).get_json()["orders"]
    assert entry["refundable"] is False


def test_more_than_the_amount_is_409(client, h, clock):
    paid_order(client, h)
    assert refund(client, h, "KUDOS:4").status_code == 200
    assert_error(refund(client, h, "KUDOS:10.01"), 409, 2530)
    assert status(client, h)["refund_amount"] == "KUDOS:4"


def test_an_unpaid_order_is_409(client, h, clock):
    f.create_order(client, h, order_id="o1", amount="KUDOS:10",
                   refund_deadline={"t_s": T0 + 3600})
    assert_error(refund(client, h, "KUDOS:1"), 409, 2531)
    assert status(client, h)["order_status"] == "unpaid"


def test_another_currency_is_409(client, h, clock):
    paid_order(client, h)
    assert_error(refund(client, h, "EUR:1"), 409, 2024)
    assert status(client, h)["refunded"] is False


@pytest.mark.parametrize("deadline", [None, T0])
def test_no_refund_delay_is_403(client, h, clock, deadline):
    paid_order(client, h, refund_deadline=deadline, timestamp={"t_s": T0})
    assert_error(refund(client, h, "KUDOS:1"), 403, 2532)
    assert status(client, h)["refunded"] is False


def test_after_the_refund_deadline_is_410(client, h, clock):
    paid_order(client, h)
    clock.tick(3600)
    assert_error(refund(client, h, "KUDOS:1"), 410, 10350)
    assert status(client, h)["refunded"] is False


def test_unknown_order_is_404(client, h):
    assert_error(refund(client, h, "KUDOS:1", order_id="nope"), 404, 2005)
    assert_error(refund(client, h, "KUDOS:1", order_id="a%20b"), 404, 2005)


@pytest.mark.parametrize("body,field", [
    ({"reason": "x"}, "refund"), ({"refund": "KUDOS:1"}, "reason"),
    ({"refund": "1", "reason": "x"}, "refund"), ({"refund": "KUDOS:1", "reason": 5}, "reason"),
    ({"refund": "KUDOS:1", "reason": "\x00"}, "reason")])
def test_bad_body_is_400(client, h, clock, body, field):
    paid_order(client, h)
    resp = client.post("/private/orders/o1/refund", headers=h, json=body)
    assert resp.status_code == 400
    assert field in (resp.get_json().get("parameter"), resp.get_json().get("detail"))
    assert status(client, h)["refunded"] is False


def test_needs_the_refund_permission(client, h, clock):
    paid_order(client, h)
    simple = f.auth_headers(f.token(client, "admin", f.ADMIN_PASSWORD, "order-simple"))
    assert_error(refund(client, simple, "KUDOS:1"), 403, 16)
    mgmt = f.auth_headers(f.token(client, "admin", f.ADMIN_PASSWORD, "order-mgmt"))
    assert refund(client, mgmt, "KUDOS:1").status_code == 200


def test_instance_isolation(client, h, clock):
    paid_order(client, h)
    h1 = f.instance_headers(client, h, "shop1")
    assert_error(client.post("/instances/shop1/private/orders/o1/refund", headers=h1,
                             json={"refund": "KUDOS:1", "reason": "x"}), 404, 2005)
    assert status(client, h)["refunded"] is False
