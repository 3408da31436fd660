"""talerbarr (Dolibarr's Taler module, ``bohdanpotuzhnyi/talerbarr``) against the real
server: the requests of its set-up check (``TalerConfig::verifyConfig``), token page
(``talerconfig_card.php``) and product sync (``TalerProductLink::pushToTaler``), and
what its ``TalerMerchantResponseParser`` demands of the answers (see ``doc/clients.rst``).

talerbarr is configured with the backend's root URL and the instance id as user name;
every call goes to ``<root>/instances/<id>/private/...`` with ``Bearer <token>``.
"""
import pytest
import requests


pytestmark = pytest.mark.e2e

DOLIBARR_CURRENCY = "KUDOS"  # the module's "Taler currency alias" for a test currency


class Client:
    """TalerMerchantClient::request: any status outside 2xx is an error."""

    def __init__(self, root, instance, token):
        self.api = f"{root.rstrip('/')}/instances/{instance}/private/"
        self.token = token

    def call(self, method, path, body=None, query=None):
        headers = {"Accept": "application/json", "Authorization": "Bearer " + self.token}
        resp = requests.request(method, self.api + path.lstrip("/"), json=body, params=query,
                                headers=headers, timeout=10)
        assert 200 <= resp.status_code < 300, f"HTTP {resp.status_code} for {method} " \
                                              f"{resp.url}: {resp.text}"
        return resp.json() if resp.content else {}


def require_string(payload, key):
    assert isinstance(payload.get(key), str) and payload[key] != "", key
    return payload[key]


def require_int_like(payload, key):
    value = payload[key]
    assert isinstance(value, int) or (isinstance(value, str) and value.lstrip("-").isdigit()), key
    return int(value)


def mint_token(shop):
    """The card page's token request: Basic auth, all:refreshable, forever."""
    resp = requests.post(f"{shop.root}/instances/{shop.instance}/private/token",
                         json={"scope": "all:refreshable", "duration": {"d_us": "forever"}},
                         auth=(shop.instance, shop.password),
                         headers={"Accept": "application/json"}, timeout=10)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    return body.get("access_token") or body["token"]


def test_verify_config(password_shop):
    # 1) GET <root>/config, no credentials: version and currency as strings.
    config = requests.get(password_shop.root + "/config", timeout=10,
                          headers={"Accept": "application/json"})
    assert config.status_code == 200
    require_string(config.json(), "version")
    assert require_string(config.json(), "currency").upper() == DOLIBARR_CURRENCY
    # 2) The credentials check lists the instance's categories.
    client = Client(password_shop.root, password_shop.instance, mint_token(password_shop))
    created = client.call("POST", "categories", {"name": "Mugs"})
    listed = client.call("GET", "categories")
    assert isinstance(listed["categories"], list)
    for category in listed["categories"]:
        require_int_like(category, "category_id")
        require_string(category, "name")
        require_int_like(category, "product_count")
    assert [c["category_id"] for c in listed["categories"]] == [created["category_id"]]


def test_verify_config_refuses_a_wrong_token(password_shop):
    client = Client(password_shop.root, password_shop.instance, "secret-token:wrong")
    with pytest.raises(AssertionError, match="HTTP 401"):
        client.call("GET", "categories")


def product_detail(category_id, stock, price="KUDOS:12.5"):
    """talerDetailFromDolibarrProduct: the same body for POST and every later PATCH."""
    return {"product_name": "Blue mug", "description": "", "description_i18n": {},
            "unit": "", "categories": [category_id], "price": price, "image": None,
            "taxes": [{"name": "VAT 20%", "tax": "KUDOS:2.08"}], "total_stock": stock,
            "total_sold": 0, "total_lost": 0, "address": None, "next_restock": None,
            "minimum_age": None}


def sell(client, product_id, quantity):
    """A sale of ``quantity`` through the instance's own order API."""
    order = client.call("POST", "orders", {
        "order": {"summary": "Dolibarr invoice"},
        "inventory_products": [{"product_id": product_id, "unit_quantity": str(quantity)}]})
    client.call("POST", f"orders/{order['order_id']}/paid")


def test_product_sync_after_a_sale(password_shop, db):
    client = Client(password_shop.root, password_shop.instance, mint_token(password_shop))
    category = client.call("POST", "categories", {"name": "Mugs"})["category_id"]
    first = dict(product_detail(category, 10), product_id="PROD-7")
    client.call("POST", "products", first)  # the first push

    sell(client, "PROD-7", 3)
    # Every later push: PATCH with total_sold 0 (Dolibarr does not know Taler's sales).
    client.call("PATCH", "products/PROD-7", product_detail(category, 12, "KUDOS:13"))
    row = db.execute("SELECT total_stock, total_sold, unit_price FROM products "
                     "WHERE product_id = 'PROD-7'").fetchone()
    assert (row["total_stock"], row["total_sold"]) == (12, 3)

    # The pull side: the summary list, then each product through parseProduct.
    listed = client.call("GET", "products", query={"limit": 20})
    assert [require_string(p, "product_id") for p in listed["products"]] == ["PROD-7"]
    require_int_like(listed["products"][0], "product_serial")
    detail = client.call("GET", "products/PROD-7")
    require_string(detail, "product_name")
    stock = detail.get("unit_total_stock", detail.get("total_stock"))
    assert str(stock) == "12"
    assert detail["categories"] == [category]
    require_int_like(dict({"unit_precision_level": 0}, **detail), "unit_precision_level")
    assert detail["price"] == "KUDOS:13"


def test_product_sync_patch_when_post_conflicts(password_shop, db):
    """A first push of a product the backend already has: 409, then the same as PATCH."""
    client = Client(password_shop.root, password_shop.instance, mint_token(password_shop))
    category = client.call("POST", "categories", {"name": "Mugs"})["category_id"]
    client.call("POST", "products", dict(product_detail(category, 10), product_id="PROD-8"))
    again = requests.post(client.api + "products", json=dict(
        product_detail(category, 11), product_id="PROD-8"), timeout=10,
        headers={"Authorization": "Bearer " + client.token})
    assert again.status_code == 409, again.text
    client.call("PATCH", "products/PROD-8", product_detail(category, 11))
    assert db.execute("SELECT total_stock FROM products WHERE product_id = 'PROD-8'") \
        .fetchone() == {"total_stock": 11}
