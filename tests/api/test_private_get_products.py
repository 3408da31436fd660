"""GET /private/products: listing ids and serials page by page."""
import pytest

from tests import factories as f


def listing(client, headers, query="", instance="admin"):
    resp = client.get(f"{f.prefix(instance)}/private/products{query}", headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return [(p["product_id"], p["product_serial"]) for p in resp.get_json()["products"]]


@pytest.fixture
def five(client, admin_headers):
    for i in range(5):
        f.create_product(client, admin_headers, f"p{i}")
    return listing(client, admin_headers)


def test_empty(client, admin_headers):
    resp = client.get("/private/products", headers=admin_headers)
    assert resp.get_json() == {"products": []}


def test_ascending_by_serial(five):
    assert [p for p, _ in five] == ["p0", "p1", "p2", "p3", "p4"]
    serials = [s for _, s in five]
    assert serials == sorted(serials)


def test_limit_defaults_to_20(client, admin_headers):
    for i in range(22):
        f.create_product(client, admin_headers, f"p{i:02}")
    assert len(listing(client, admin_headers)) == 20


def test_offset_is_exclusive_serial(client, admin_headers, five):
    serial = five[1][1]
    assert listing(client, admin_headers, f"?offset={serial}&limit=2") == five[2:4]
    assert listing(client, admin_headers, f"?offset={five[-1][1]}") == []


def test_negative_limit_is_descending(client, admin_headers, five):
    assert listing(client, admin_headers, "?limit=-2") == [five[4], five[3]]
    serial = five[3][1]
    assert listing(client, admin_headers, f"?limit=-10&offset={serial}") == five[2::-1]


def test_limit_zero_is_empty(client, admin_headers, five):
    assert listing(client, admin_headers, "?limit=0") == []


@pytest.mark.parametrize("query, named", [
    ("?limit=abc", "limit"), ("?limit=1.5", "limit"), ("?limit=", "limit"),
    ("?limit=%2B5", "limit"), ("?limit=99999999999999999999", "limit"),
    ("?limit=1001", "limit"), ("?offset=-1", "offset"), ("?offset=x", "offset"),
])
def test_bad_query_is_400(client, admin_headers, query, named):
    resp = client.get(f"/private/products{query}", headers=admin_headers)
    assert (resp.status_code, resp.get_json()["code"]) == (400, 26)
    assert resp.get_json()["parameter"] == named


def test_instances_are_isolated(client, admin_headers, five):
    shop = f.instance_headers(client, admin_headers, "shop1")
    assert listing(client, shop, instance="shop1") == []
    f.create_product(client, shop, "p0", instance="shop1")
    mine = listing(client, shop, instance="shop1")
    assert [p for p, _ in mine] == ["p0"]
    assert mine[0][1] not in [s for _, s in five]
    assert listing(client, admin_headers) == five


def test_permissions(client, admin_headers):
    readonly = f.auth_headers(f.token(client, "admin", f.ADMIN_PASSWORD, "readonly"))
    assert client.get("/private/products", headers=readonly).status_code == 200
    pos = f.auth_headers(f.token(client, "admin", f.ADMIN_PASSWORD, "order-pos"))
    assert client.get("/private/products", headers=pos).status_code == 200
    simple = f.auth_headers(f.token(client, "admin", f.ADMIN_PASSWORD, "order-simple"))
    resp = client.get("/private/products", headers=simple)
    assert (resp.status_code, resp.get_json()["code"]) == (403, 16)
    resp = client.get("/private/products")
    assert (resp.status_code, resp.get_json()["code"]) == (401, 2015)


# -- filters ----------------------------------------------------------------------------

@pytest.fixture
def shelf(client, admin_headers):
    """Five products in two categories and one group; returns the group's serial."""
    drinks = client.post("/private/categories", json={"name": "Hot Drinks"},
                         headers=admin_headers).get_json()["category_id"]
    snacks = client.post("/private/categories", json={"name": "Snacks_100%"},
                         headers=admin_headers).get_json()["category_id"]
    group = client.post("/private/groups", json={"group_name": "Bar", "description": ""},
                        headers=admin_headers).get_json()["group_serial_id"]
    f.create_product(client, admin_headers, "tea", product_name="Green TEA",
                     description="Sencha from Japan", categories=[drinks],
                     product_group_id=group)
    f.create_product(client, admin_headers, "coffee", product_name="Coffee",
                     description="Arabica, strong", categories=[drinks])
    f.create_product(client, admin_headers, "crisps", product_name="Crisps 100% potato",
                     description="salted", categories=[snacks], product_group_id=group)
    f.create_product(client, admin_headers, "nuts", product_name="Nuts", description="teasing")
    f.create_product(client, admin_headers, "cake", product_name="Cake_slice",
                     description="with tea")
    return group


def ids(client, headers, query, instance="admin"):
    return [p for p, _ in listing(client, headers, query, instance)]


@pytest.mark.parametrize("query, expected", [
    ("?name_filter=tea", ["tea"]),                      # case-insensitive substring
    ("?name_filter=E", ["tea", "coffee", "cake"]),
    ("?name_filter=100%25", ["crisps"]),                # % is literal
    ("?name_filter=e_s", ["cake"]),                     # _ is literal
    ("?name_filter=_", ["cake"]),
    ("?description_filter=TEA", ["nuts", "cake"]),
    ("?description_filter=japan", ["tea"]),
    ("?category_filter=drink", ["tea", "coffee"]),
    ("?category_filter=s_1", ["crisps"]),
    ("?category_filter=hot%20d", ["tea", "coffee"]),
    ("?category_filter=nothing", []),
    ("?name_filter=c&category_filter=drinks", ["coffee"]),  # all filters must match
    ("?name_filter=t&description_filter=tea", ["nuts"]),
])
def test_text_filters(client, admin_headers, shelf, query, expected):
    assert ids(client, admin_headers, query) == expected


def test_group_filter(client, admin_headers, shelf):
    assert ids(client, admin_headers, f"?product_group_serial={shelf}") == ["tea", "crisps"]
    assert ids(client, admin_headers, f"?product_group_serial={shelf}&name_filter=tea") \
        == ["tea"]
    assert ids(client, admin_headers, "?product_group_serial=424242") == []


def test_filters_page_like_the_listing(client, admin_headers, shelf):
    all_e = listing(client, admin_headers, "?name_filter=e")
    assert [p for p, _ in all_e] == ["tea", "coffee", "cake"]
    assert ids(client, admin_headers, "?name_filter=e&limit=2") == ["tea", "coffee"]
    assert ids(client, admin_headers, f"?name_filter=e&offset={all_e[1][1]}") == ["cake"]
    assert ids(client, admin_headers, "?name_filter=e&limit=-2") == ["cake", "coffee"]


def test_filters_see_only_the_instance(client, admin_headers, shelf):
    shop = f.instance_headers(client, admin_headers, "shop1")
    cat = client.post("/instances/shop1/private/categories", json={"name": "Hot Drinks"},
                      headers=shop).get_json()["category_id"]
    f.create_product(client, shop, "tea", instance="shop1", product_name="Tea",
                     categories=[cat])
    assert ids(client, shop, "?name_filter=tea", "shop1") == ["tea"]
    assert ids(client, shop, "?category_filter=drinks", "shop1") == ["tea"]
    assert ids(client, shop, f"?product_group_serial={shelf}", "shop1") == []
    assert ids(client, admin_headers, "?category_filter=drinks") == ["tea", "coffee"]


@pytest.mark.parametrize("query, named", [
    ("?name_filter=", "name_filter"), ("?description_filter=", "description_filter"),
    ("?category_filter=" + "x" * 257, "category_filter"), ("?name_filter=a%00b", "name_filter"),
    ("?product_group_serial=x", "product_group_serial"),
    ("?product_group_serial=0", "product_group_serial"),
    ("?product_group_serial=-3", "product_group_serial"),
])
def test_bad_filter_is_400(client, admin_headers, query, named):
    resp = client.get(f"/private/products{query}", headers=admin_headers)
    assert (resp.status_code, resp.get_json()["code"]) == (400, 26), resp.get_json()
    assert resp.get_json()["parameter"] == named
