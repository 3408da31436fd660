"""``PATCH /private/orders/$ORDER_ID/forget``: forgettable fields of the contract
terms go, their salted hash stays, and the contract hash does not change."""
import pytest

from taler_inventory.contract import contract_hash

from .. import factories as f
from ..checks import assert_error


@pytest.fixture
def order(client, h):
    f.create_order(client, h, order_id="o1", amount="KUDOS:1",
                   extra={"note": "call me", "_forgettable": {"note": True}},
                   products=[{"description": "a", "price": "KUDOS:1",
                              "_forgettable": {"description": True}},
                             {"description": "b", "_forgettable": {"description": True}}],
                   fulfillment_message="thanks",
                   _forgettable={"fulfillment_message": True})
    return "o1"


def terms(client, h):
    return client.get("/private/orders/o1", headers=h).get_json()["contract_terms"]


def forget(client, h, *fields, order_id="o1"):
    return client.patch(f"/private/orders/{order_id}/forget", headers=h,
                        json={"fields": list(fields)})


def test_salts_are_made_at_creation(client, h, order):
    t = terms(client, h)
    salt = t["_forgettable"]["fulfillment_message"]
    assert isinstance(salt, str) and len(salt) == 52  # 32 random bytes, base32
    assert all(isinstance(p["_forgettable"]["description"], str) for p in t["products"])


def test_forget_keeps_the_contract_hash(client, h, order):
    before = terms(client, h)
    resp = forget(client, h, "$.fulfillment_message", "$.products[*].description",
                  "$.extra.note")
    assert resp.status_code == 200, resp.get_json()
    after = terms(client, h)
    assert "fulfillment_message" not in after and "note" not in after["extra"]
    assert all("description" not in p for p in after["products"])
    assert set(after["_forgotten"]) == {"fulfillment_message"}
    assert contract_hash(after) == contract_hash(before)
    # Forgotten already: 204, and nothing changes.
    resp = forget(client, h, "$.fulfillment_message")
    assert resp.status_code == 204 and resp.data == b""
    assert terms(client, h) == after


def test_one_index(client, h, order):
    assert forget(client, h, "$.products[1].description").status_code == 200
    t = terms(client, h)
    assert t["products"][0]["description"] == "a" and "description" not in t["products"][1]


def test_fields_not_in_the_terms_are_ignored(client, h, order):
    resp = forget(client, h, "$.nothing", "$.products[7].description")
    assert resp.status_code == 204


def test_not_forgettable_is_409_and_changes_nothing(client, h, order):
    before = terms(client, h)
    assert_error(forget(client, h, "$.fulfillment_message", "$.summary"), 409, 2511)
    assert terms(client, h) == before


@pytest.mark.parametrize("path", ["summary", "$", "$.", "$.products[*]", "$.products[1]",
                                  "$.a..b", "$.products[x].description", "$.a b"])
def test_bad_path_is_400(client, h, order, path):
    before = terms(client, h)
    body = assert_error(forget(client, h, path), 400, 2510)
    assert body["parameter"] == "fields[0]"
    assert terms(client, h) == before


@pytest.mark.parametrize("body,code", [({}, 25), ({"fields": "$.a"}, 26), ({"fields": [1]}, 26)])
def test_bad_body_is_400(client, h, order, body, code):
    resp = client.patch("/private/orders/o1/forget", headers=h, json=body)
    assert assert_error(resp, 400, code)["parameter"].startswith("fields")


def test_unknown_order_is_404(client, h):
    assert_error(forget(client, h, "$.a", order_id="nope"), 404, 2005)
