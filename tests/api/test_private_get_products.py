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
