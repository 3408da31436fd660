"""GET /private/pos: every product with its details and every category."""
from taler_inventory.timeutil import US_PER_S, now_us
from tests import factories as f


def pos(client, headers, instance="admin"):
    resp = client.get(f"{f.prefix(instance)}/private/pos", headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_empty(client, admin_headers):
    assert pos(client, admin_headers) == {"products": [], "categories": []}


def test_catalogue(client, admin_headers, db):
    drinks = client.post("/private/categories", headers=admin_headers, json={
        "name": "Drinks", "name_i18n": {"de": "Getränke"}}).get_json()["category_id"]
    f.create_product(client, admin_headers, "tea", categories=[drinks], minimum_age=0)
    f.create_product(client, admin_headers, "flour", unit_allow_fraction=True,
                     unit_total_stock="5.5", unit="kg", total_stock=None)
    f.insert_hold(db, "flour", "1.25", now_us() + 60 * US_PER_S)
    body = pos(client, admin_headers)
    assert body["categories"] == [{"id": drinks, "category_id": drinks, "name": "Drinks",
                                   "name_i18n": {"de": "Getränke"}}]
    tea, flour = body["products"]
    for item in (tea, flour):
        detail = f.product(client, admin_headers, item["product_id"])
        assert item == dict(detail, product_id=item["product_id"],
                            product_serial=item["product_serial"])
    assert tea["categories"] == [drinks] and tea["price"] == "KUDOS:1"
    assert flour["unit_total_locked"] == "1.25" and flour["unit_total_available"] == "4.25"
    assert flour["product_serial"] > tea["product_serial"]


def test_instances_are_isolated(client, admin_headers):
    shop = f.instance_headers(client, admin_headers, "shop1", scope="order-pos")
    f.create_product(client, admin_headers, "mine")
    assert pos(client, shop, instance="shop1") == {"products": [], "categories": []}
    assert [p["product_id"] for p in pos(client, admin_headers)["products"]] == ["mine"]


def test_permissions(client, admin_headers):
    pos_token = f.auth_headers(f.token(client, "admin", f.ADMIN_PASSWORD, "order-pos"))
    assert client.get("/private/pos", headers=pos_token).status_code == 200
    simple = f.auth_headers(f.token(client, "admin", f.ADMIN_PASSWORD, "order-simple"))
    resp = client.get("/private/pos", headers=simple)
    assert (resp.status_code, resp.get_json()["code"]) == (403, 16)
    resp = client.get("/private/pos")
    assert (resp.status_code, resp.get_json()["code"]) == (401, 2015)
