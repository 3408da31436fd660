"""``GET /private/orders``: the orders of an instance, newest first by default, with
Taler's filters and both paging forms, in the shape Taler clients parse."""
import datetime

import pytest
from freezegun import freeze_time

from .. import factories as f
from ..checks import assert_error

T0 = 1_700_000_000  # creation time (s) of o0, before the test token was made; o<i>: i minutes later


def ids(resp):
    assert resp.status_code == 200, resp.get_json()
    return [o["order_id"] for o in resp.get_json()["orders"]]


@pytest.fixture
def five(client, h):
    """o0..o4 a minute apart; o1 and o3 paid; o3 refunded in part."""
    with freeze_time(datetime.datetime.fromtimestamp(T0, datetime.UTC)) as clock:
        for i in range(5):
            resp = client.post("/private/orders", headers=h, json={
                "order": {"summary": f"Summary {i}", "amount": f"KUDOS:{i + 1}",
                          "order_id": f"o{i}",
                          "fulfillment_url": f"https://shop.example/{i % 2}",
                          "refund_deadline": {"t_s": T0 + 86400}},
                "session_id": f"s{i % 2}"})
            assert resp.status_code == 200, resp.get_json()
            clock.tick(60)
        for i in (1, 3):
            assert client.post(f"/private/orders/o{i}/paid", headers=h).status_code == 204
        resp = client.post("/private/orders/o3/refund", headers=h,
                           json={"refund": "KUDOS:1.5", "reason": "broken"})
        assert resp.status_code == 200, resp.get_json()
        yield clock


def get(client, h, query=""):
    return client.get(f"/private/orders?{query}", headers=h)


def test_listing_shape_newest_first(client, h, five):
    orders = get(client, h).get_json()["orders"]
    assert [o["order_id"] for o in orders] == ["o4", "o3", "o2", "o1", "o0"]
    o3 = orders[1]
    assert set(o3) == {"order_id", "row_id", "timestamp", "amount", "summary",
                       "refundable", "paid", "refund_amount", "pending_refund_amount"}
    assert (o3["amount"], o3["summary"], o3["paid"], o3["refund_amount"]) == \
        ("KUDOS:4", "Summary 3", True, "KUDOS:1.5")
    assert o3["timestamp"] == {"t_s": T0 + 180}
    assert [o["paid"] for o in orders] == [False, True, False, True, False]
    assert [o["row_id"] for o in orders] == sorted((o["row_id"] for o in orders), reverse=True)


def test_default_is_the_newest_twenty(client, h):
    for i in range(22):
        f.create_order(client, h, amount="KUDOS:1", order_id=f"n{i:02}")
    assert ids(get(client, h)) == [f"n{i:02}" for i in range(21, 1, -1)]


def test_limit_and_offset(client, h, five):
    row = {o["order_id"]: o["row_id"] for o in get(client, h).get_json()["orders"]}
    assert ids(get(client, h, "limit=2")) == ["o0", "o1"]
    assert ids(get(client, h, f"limit=2&offset={row['o1']}")) == ["o2", "o3"]
    assert ids(get(client, h, "limit=-2")) == ["o4", "o3"]
    assert ids(get(client, h, f"limit=-2&offset={row['o3']}")) == ["o2", "o1"]


def test_legacy_delta_and_start(client, h, five):
    row = {o["order_id"]: o["row_id"] for o in get(client, h).get_json()["orders"]}
    assert ids(get(client, h, "delta=2")) == ["o0", "o1"]
    assert ids(get(client, h, f"delta=-2&start={row['o3']}")) == ["o2", "o1"]
    # limit and offset win over delta and start.
    assert ids(get(client, h, f"limit=1&delta=-3&offset={row['o0']}&start=99")) == ["o1"]


@pytest.mark.parametrize("query,expected", [
    ("paid=yes", ["o3", "o1"]), ("paid=no", ["o4", "o2", "o0"]), ("paid=YES", ["o3", "o1"]),
    ("paid=all", ["o4", "o3", "o2", "o1", "o0"]), ("paid=no&limit=-1", ["o4"]),
    ("refunded=yes", ["o3"]), ("refunded=no", ["o4", "o2", "o1", "o0"]),
    ("wired=yes", []), ("wired=no", ["o4", "o3", "o2", "o1", "o0"]),
    ("paid=yes&refunded=no", ["o1"]),
    ("session_id=s1", ["o3", "o1"]), ("session_id=other", []),
    ("fulfillment_url=https%3A%2F%2Fshop.example%2F0", ["o4", "o2", "o0"]),
    ("fulfillment_url=https%3A%2F%2Fshop.example%2F", []),
    ("summary_filter=summary%202", ["o2"]),
    ("summary_filter=MMARY", ["o4", "o3", "o2", "o1", "o0"]),
    ("summary_filter=%25", []), ("summary_filter=_", []),
])
def test_filters(client, h, five, query, expected):
    assert ids(get(client, h, query)) == expected


def test_date_bounds_the_direction_of_paging(client, h, five):
    # Descending: created before date_s; ascending: created after it.
    assert ids(get(client, h, f"date_s={T0 + 120}")) == ["o1", "o0"]
    assert ids(get(client, h, f"date_s={T0 + 120}&limit=20")) == ["o3", "o4"]
    assert ids(get(client, h, f"date_s={T0 + 120}&limit=1")) == ["o3"]


def test_max_age_with_ascending_paging(client, h, five):
    # now is T0 + 300: max_age 150 s keeps o3 (T0 + 180) and o4 (T0 + 240).
    assert ids(get(client, h, "limit=20&max_age=150000000")) == ["o3", "o4"]
    # The larger bound of date_s and max_age applies.
    assert ids(get(client, h, f"limit=20&max_age=150000000&date_s={T0 + 200}")) == ["o4"]
    assert ids(get(client, h, f"limit=20&max_age=forever&date_s={T0 + 30}")) == \
        ["o1", "o2", "o3", "o4"]
    # Only applicable when paging ascending.
    assert len(ids(get(client, h, "max_age=1"))) == 5


def test_refundable(client, h, five):
    orders = {o["order_id"]: o for o in get(client, h).get_json()["orders"]}
    assert {k: o["refundable"] for k, o in orders.items()} == {
        "o0": False, "o1": True, "o2": False, "o3": True, "o4": False}
    five.tick(86400)  # past the refund deadline
    orders = {o["order_id"]: o for o in get(client, h).get_json()["orders"]}
    assert not any(o["refundable"] for o in orders.values())


def test_refundable_needs_a_refund_deadline_ahead(client, h):
    for order_id, delay in (("r1", 3_600_000_000), ("r0", None)):
        body = {"order": {"summary": "s", "amount": "KUDOS:1", "order_id": order_id}}
        if delay:
            body["refund_delay"] = {"d_us": delay}
        assert client.post("/private/orders", headers=h, json=body).status_code == 200
        assert client.post(f"/private/orders/{order_id}/paid", headers=h).status_code == 204
    f.create_order(client, h, amount="KUDOS:1", order_id="unpaid",
                   refund_deadline={"t_s": 4_000_000_000})
    orders = get(client, h).get_json()["orders"]
    assert {o["order_id"]: o["refundable"] for o in orders} == {
        "r1": True, "r0": False, "unpaid": False}


@pytest.mark.parametrize("query,field", [
    ("limit=x", "limit"), ("limit=1.5", "limit"), ("limit=100000", "limit"),
    ("delta=x", "delta"), ("start=-1", "start"),
    ("offset=-1", "offset"), ("paid=maybe", "paid"), ("refunded=1", "refunded"),
    ("wired=", "wired"), ("date_s=-5", "date_s"), ("date_s=1e3", "date_s"),
    ("max_age=1s", "max_age"), ("timeout_ms=-1", "timeout_ms"),
    ("session_id=", "session_id"), ("summary_filter=" + "x" * 257, "summary_filter"),
    ("summary_filter=%00", "summary_filter")])
def test_bad_query_is_400(client, h, query, field):
    body = assert_error(get(client, h, query), 400, 26)
    assert body["parameter"] == field


def test_session_id_is_part_of_the_request(client, h):
    body = {"order": {"summary": "s", "amount": "KUDOS:1", "order_id": "same"},
            "session_id": "a"}
    assert client.post("/private/orders", headers=h, json=body).status_code == 200
    assert client.post("/private/orders", headers=h, json=body).status_code == 200
    body["session_id"] = "b"
    assert_error(client.post("/private/orders", headers=h, json=body), 409, 2503)
    assert ids(get(client, h, "session_id=a")) == ["same"]
    assert ids(get(client, h, "session_id=b")) == []


def test_instances_see_only_their_orders(client, admin_headers, five):
    h1 = f.instance_headers(client, admin_headers, "shop1")
    assert ids(client.get("/instances/shop1/private/orders", headers=h1)) == []
