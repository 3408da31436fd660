"""Product groups: GET|POST /private/groups, PATCH|DELETE /private/groups/$GROUP_ID, and
``product_group_id`` on products."""
import functools

import pytest

from tests import factories as f
from tests.checks import assert_error

URL = "/private/groups"
create = functools.partial(f.create_named, "group")


def listing(client, headers, query="", instance="admin"):
    resp = client.get(f"{f.prefix(instance)}{URL}{query}", headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["groups"]


def count(db, table="product_groups"):
    return db.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"]


def test_create_and_list_newest_first(client, admin_headers):
    assert listing(client, admin_headers) == []
    drinks = create(client, admin_headers, "Drinks", "cold and hot")
    food = create(client, admin_headers, "Food")
    assert isinstance(drinks, int) and food > drinks
    entry = {"group_serial": drinks, "group_name": "Drinks", "description": "cold and hot"}
    food_entry = {"group_serial": food, "group_name": "Food", "description": ""}
    # Taler's default limit is -20: the newest first.
    assert listing(client, admin_headers) == [food_entry, entry]
    assert listing(client, admin_headers, "?limit=1") == [entry]
    assert listing(client, admin_headers, f"?limit=5&offset={drinks}") == [food_entry]
    assert listing(client, admin_headers, f"?limit=-5&offset={food}") == [entry]


def test_paging_walks_every_group_once(client, admin_headers):
    serials = [create(client, admin_headers, f"g{i}") for i in range(7)]
    seen, offset = [], None
    while True:
        query = "?limit=-3" + (f"&offset={offset}" if offset else "")
        page = listing(client, admin_headers, query)
        if not page:
            break
        seen += [g["group_serial"] for g in page]
        offset = page[-1]["group_serial"]
    assert seen == serials[::-1]


def test_same_name_is_409(client, admin_headers, db):
    create(client, admin_headers, "Drinks")
    resp = client.post(URL, json={"group_name": "Drinks", "description": "again"},
                       headers=admin_headers)
    assert_error(resp, 409, 2790)
    assert count(db) == 1


def test_patch(client, admin_headers):
    drinks = create(client, admin_headers, "Drinks")
    food = create(client, admin_headers, "Food")
    body = {"group_name": "Beverages", "description": "liquid"}
    assert client.patch(f"{URL}/{drinks}", json=body, headers=admin_headers).status_code == 204
    assert listing(client, admin_headers, "?limit=1")[0] == dict(body, group_serial=drinks)
    # Another group's name is taken; its own is fine.
    resp = client.patch(f"{URL}/{drinks}", json={"group_name": "Food", "description": ""},
                        headers=admin_headers)
    assert_error(resp, 409, 2790)
    assert listing(client, admin_headers, "?limit=1")[0]["group_name"] == "Beverages"
    body = {"group_name": "Food", "description": "solid"}
    assert client.patch(f"{URL}/{food}", json=body, headers=admin_headers).status_code == 204


def test_delete_keeps_products_without_group(client, admin_headers, db):
    drinks = create(client, admin_headers, "Drinks")
    f.create_product(client, admin_headers, "tea", product_group_id=drinks)
    assert f.product(client, admin_headers, "tea")["product_group_id"] == drinks
    assert client.delete(f"{URL}/{drinks}", headers=admin_headers).status_code == 204
    assert listing(client, admin_headers) == []
    assert "product_group_id" not in f.product(client, admin_headers, "tea")
    assert_error(client.delete(f"{URL}/{drinks}", headers=admin_headers), 404, 2034)


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_unknown_group_is_404(client, admin_headers, method):
    shop = f.instance_headers(client, admin_headers, "shop1")
    theirs = create(client, shop, "Theirs", instance="shop1")
    for group in (424242, theirs):
        resp = getattr(client, method)(
            f"{URL}/{group}", headers=admin_headers,
            **({"json": {"group_name": "x", "description": ""}} if method == "patch" else {}))
        assert_error(resp, 404, 2034)
    assert listing(client, shop, instance="shop1")[0]["group_name"] == "Theirs"


@pytest.mark.parametrize("group_id", ["abc", "-1", "1.5", "9" * 30])
def test_malformed_id_is_400(client, admin_headers, group_id):
    body = assert_error(client.delete(f"{URL}/{group_id}", headers=admin_headers), 400, 26)
    assert body["parameter"] == "group_id"


@pytest.mark.parametrize("body, code, named", [
    ({"description": "x"}, 25, "group_name"),
    ({"group_name": "x"}, 25, "description"),
    ({"group_name": "", "description": ""}, 26, "group_name"),
    ({"group_name": 5, "description": ""}, 26, "group_name"),
    ({"group_name": "a\x00b", "description": ""}, 26, "group_name"),
    ({"group_name": "x", "description": ["no"]}, 26, "description"),
])
def test_bad_input_is_400_and_changes_nothing(client, admin_headers, db, body, code, named):
    group = create(client, admin_headers, "Keep", "as is")
    before = listing(client, admin_headers)
    for resp in (client.post(URL, json=body, headers=admin_headers),
                 client.patch(f"{URL}/{group}", json=body, headers=admin_headers)):
        assert assert_error(resp, 400, code)["parameter"] == named
    assert listing(client, admin_headers) == before


@pytest.mark.parametrize("query", ["?limit=x", "?limit=5000", "?offset=-1"])
def test_bad_paging_is_400(client, admin_headers, query):
    assert_error(client.get(f"{URL}{query}", headers=admin_headers), 400, 26)


def test_instances_are_isolated(client, admin_headers):
    shop = f.instance_headers(client, admin_headers, "shop1")
    create(client, shop, "Drinks", instance="shop1")
    assert listing(client, admin_headers) == []
    # Names are unique per instance only.
    create(client, admin_headers, "Drinks")
    assert len(listing(client, shop, instance="shop1")) == 1


# -- product_group_id on products ------------------------------------------------

def test_product_group_is_stored_returned_and_changed(client, admin_headers):
    drinks = create(client, admin_headers, "Drinks")
    food = create(client, admin_headers, "Food")
    f.create_product(client, admin_headers, "tea", product_group_id=drinks)
    assert f.product(client, admin_headers, "tea")["product_group_id"] == drinks
    resp = client.patch("/private/products/tea", json={"product_group_id": food},
                        headers=admin_headers)
    assert resp.status_code == 204
    assert f.product(client, admin_headers, "tea")["product_group_id"] == food
    # null means "not sent"; 0 means "no group".
    client.patch("/private/products/tea", json={"product_group_id": None}, headers=admin_headers)
    assert f.product(client, admin_headers, "tea")["product_group_id"] == food
    client.patch("/private/products/tea", json={"product_group_id": 0}, headers=admin_headers)
    assert "product_group_id" not in f.product(client, admin_headers, "tea")
    pos = client.get("/private/pos", headers=admin_headers).get_json()
    assert "product_group_id" not in pos["products"][0]


def test_product_with_unknown_group_is_404(client, admin_headers, db):
    shop = f.instance_headers(client, admin_headers, "shop1")
    theirs = create(client, shop, "Theirs", instance="shop1")
    body = {"product_id": "tea", "description": "tea", "unit": "piece", "price": "KUDOS:1",
            "total_stock": 1}
    for group in (424242, theirs):
        resp = client.post("/private/products", json=dict(body, product_group_id=group),
                           headers=admin_headers)
        assert assert_error(resp, 404, 2034)["parameter"] == "product_group_id"
    assert count(db, "products") == 0
    f.create_product(client, admin_headers, "cup")
    before = f.product(client, admin_headers, "cup")
    resp = client.patch("/private/products/cup", json={"product_group_id": theirs,
                                                       "description": "changed"},
                        headers=admin_headers)
    assert_error(resp, 404, 2034)
    assert f.product(client, admin_headers, "cup") == before


@pytest.mark.parametrize("value", ["1", -1, 1.5, True, 2**63])
def test_malformed_group_of_product_is_400(client, admin_headers, value):
    f.create_product(client, admin_headers, "cup")
    resp = client.patch("/private/products/cup", json={"product_group_id": value},
                        headers=admin_headers)
    assert assert_error(resp, 400, 26)["parameter"] == "product_group_id"
