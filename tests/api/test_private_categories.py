"""Categories: GET|POST /private/categories, GET|PATCH|DELETE /private/categories/$ID."""
import pytest

from tests import factories as f

URL = "/private/categories"


def create(client, headers, name, instance="admin", **fields):
    resp = client.post(f"{f.prefix(instance)}{URL}", json={"name": name, **fields},
                       headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["category_id"]


def get(client, headers, category_id, instance="admin"):
    return client.get(f"{f.prefix(instance)}{URL}/{category_id}", headers=headers)


def assert_error(resp, status, code):
    assert resp.status_code == status, resp.get_json()
    assert resp.get_json()["code"] == code, resp.get_json()


def test_create_list_show(client, admin_headers):
    drinks = create(client, admin_headers, "Drinks", name_i18n={"de": "Getränke"})
    food = create(client, admin_headers, "Food")
    assert isinstance(drinks, int) and drinks != food
    f.create_product(client, admin_headers, "tea", categories=[drinks])
    f.create_product(client, admin_headers, "cola", categories=[drinks, food])
    resp = client.get(URL, headers=admin_headers)
    assert resp.status_code == 200
    assert resp.get_json() == {"categories": [
        {"category_id": drinks, "name": "Drinks", "name_i18n": {"de": "Getränke"},
         "product_count": 2},
        {"category_id": food, "name": "Food", "name_i18n": {}, "product_count": 1},
    ]}
    resp = get(client, admin_headers, drinks)
    assert resp.status_code == 200
    assert resp.get_json() == {"name": "Drinks", "name_i18n": {"de": "Getränke"},
                               "products": [{"product_id": "tea"}, {"product_id": "cola"}]}


def test_empty_listing(client, admin_headers):
    assert client.get(URL, headers=admin_headers).get_json() == {"categories": []}


def test_patch(client, admin_headers):
    cat = create(client, admin_headers, "Drinks", name_i18n={"de": "Getränke"})
    resp = client.patch(f"{URL}/{cat}", json={"name": "Beverages"}, headers=admin_headers)
    assert resp.status_code == 204
    assert get(client, admin_headers, cat).get_json()["name_i18n"] == {"de": "Getränke"}
    resp = client.patch(f"{URL}/{cat}", json={"name_i18n": {"fr": "Boissons"}},
                        headers=admin_headers)
    assert resp.status_code == 204
    body = get(client, admin_headers, cat).get_json()
    assert (body["name"], body["name_i18n"]) == ("Beverages", {"fr": "Boissons"})


def test_delete_keeps_products(client, admin_headers):
    cat = create(client, admin_headers, "Drinks")
    keep = create(client, admin_headers, "Keep")
    f.create_product(client, admin_headers, "tea", categories=[cat, keep])
    assert client.delete(f"{URL}/{cat}", headers=admin_headers).status_code == 204
    assert_error(get(client, admin_headers, cat), 404, 2003)
    assert_error(client.delete(f"{URL}/{cat}", headers=admin_headers), 404, 2003)
    assert f.product(client, admin_headers, "tea")["categories"] == [keep]


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_unknown_category_is_404(client, admin_headers, method):
    shop = f.instance_headers(client, admin_headers, "shop1")
    other = create(client, shop, "Theirs", instance="shop1")
    for cat in (999, other):
        resp = getattr(client, method)(f"{URL}/{cat}", headers=admin_headers,
                                       **({"json": {"name": "x"}} if method == "patch" else {}))
        assert_error(resp, 404, 2003)
    assert get(client, shop, other, instance="shop1").get_json()["name"] == "Theirs"


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
@pytest.mark.parametrize("cat", ["abc", "-1", "1.5", "99999999999999999999", "%20"])
def test_malformed_id_is_400(client, admin_headers, method, cat):
    resp = getattr(client, method)(f"{URL}/{cat}", headers=admin_headers,
                                   **({"json": {"name": "x"}} if method == "patch" else {}))
    assert_error(resp, 400, 26)
    assert resp.get_json()["parameter"] == "category_id"


@pytest.mark.parametrize("body, code, named", [
    ({}, 25, "name"),
    ({"name": ""}, 26, "name"),
    ({"name": 5}, 26, "name"),
    ({"name": "x" * 1025}, 26, "name"),
    ({"name": "a\x00b"}, 26, "name"),
    ({"name": "x", "name_i18n": "de"}, 26, "name_i18n"),
    ({"name": "x", "name_i18n": {"de": 1}}, 26, "name_i18n"),
    ({"name": "x", "name_i18n": {"de": "\ud800"}}, 26, "name_i18n"),
])
def test_bad_create_is_400(client, admin_headers, db, body, code, named):
    resp = client.post(URL, json=body, headers=admin_headers)
    assert_error(resp, 400, code)
    assert resp.get_json()["parameter"].startswith(named)
    assert db.execute("SELECT count(*) AS n FROM categories").fetchone()["n"] == 0


@pytest.mark.parametrize("body", [{"name": ""}, {"name": None, "name_i18n": []},
                                  {"name": ["x"]}])
def test_bad_patch_is_400_and_changes_nothing(client, admin_headers, body):
    cat = create(client, admin_headers, "Drinks")
    resp = client.patch(f"{URL}/{cat}", json=body, headers=admin_headers)
    assert_error(resp, 400, 26)
    assert get(client, admin_headers, cat).get_json()["name"] == "Drinks"


def test_instances_are_isolated(client, admin_headers):
    shop = f.instance_headers(client, admin_headers, "shop1")
    create(client, admin_headers, "Mine")
    create(client, shop, "Theirs", instance="shop1")
    names = [c["name"] for c in client.get(URL, headers=admin_headers).get_json()["categories"]]
    assert names == ["Mine"]
    resp = client.get(f"/instances/shop1{URL}", headers=shop)
    assert [c["name"] for c in resp.get_json()["categories"]] == ["Theirs"]


def test_permissions(client, admin_headers):
    cat = create(client, admin_headers, "Drinks")
    readonly = f.auth_headers(f.token(client, "admin", f.ADMIN_PASSWORD, "readonly"))
    assert client.get(URL, headers=readonly).status_code == 200
    assert get(client, readonly, cat).status_code == 200
    assert_error(client.post(URL, json={"name": "x"}, headers=readonly), 403, 16)
    assert_error(client.patch(f"{URL}/{cat}", json={"name": "x"}, headers=readonly), 403, 16)
    assert_error(client.delete(f"{URL}/{cat}", headers=readonly), 403, 16)
    assert_error(client.get(URL), 401, 2015)
    simple = f.auth_headers(f.token(client, "admin", f.ADMIN_PASSWORD, "order-simple"))
    assert_error(client.get(URL, headers=simple), 403, 16)
