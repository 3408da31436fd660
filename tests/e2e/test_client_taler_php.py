"""taler-php (``mirrorps/taler-php``, the SDK of the WordPress and Drupal plugins)
against the real server: the requests its ``Factory::create``, ``Taler::configCheck``
and inventory actions send, byte for byte in the parts that matter, and the checks its
DTOs and helpers make on the answers (see ``doc/clients.rst``).

There is no PHP here, so the client's behaviour is restated: ``base_url`` is the
instance base URL, every endpoint is resolved relative to ``rtrim(base_url, '/') . '/'``,
the configured token is sent verbatim as the Authorization header (the WordPress plugin
puts ``Bearer `` in front of a pasted token), and optional DTO fields travel as ``null``.
"""
import re
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from tests import factories
from tests.clients.shop import login

pytestmark = pytest.mark.e2e

CLIENT_PROTOCOL = 20  # Taler::TALER_PROTOCOL_VERSION
HEADERS = {"Accept": "application/json", "Accept-Encoding": "gzip",
           "User-Agent": "Mirrorps_Taler_PHP (https://github.com/mirrorps/taler-php)"}


class Client:
    """HttpClientWrapper: relative endpoints under the base URL, the token verbatim."""

    def __init__(self, base_url, token=""):
        self.base = base_url.rstrip("/") + "/"
        self.token = token

    def url(self, endpoint):
        final = urljoin(self.base, endpoint)
        # validateFinalUrl: the resolved URL stays under the base path.
        assert urlsplit(final).path.startswith(urlsplit(self.base).path), final
        return final

    def request(self, method, endpoint, body=None):
        headers = dict(HEADERS)
        if self.token:
            headers["Authorization"] = self.token
        return requests.request(method, self.url(endpoint), json=body, headers=headers,
                                timeout=10)

    def expect(self, status, method, endpoint, body=None):
        """AbstractApiClient::parseResponseBody: exactly this status, else an error."""
        resp = self.request(method, endpoint, body)
        assert resp.status_code == status, f"{method} {endpoint}: {resp.status_code} {resp.text}"
        return resp.json() if status != 204 else None


def parse_libtool_version(version):
    """Helpers\\parseLibtoolVersion: exactly three unsigned integers, else null."""
    parts = version.strip().split(":")
    if len(parts) != 3 or not all(re.fullmatch(r"\d+", p) for p in parts):
        return None
    return tuple(int(p) for p in parts)


def protocol_compatible(current, age, client=CLIENT_PROTOCOL):
    """Helpers\\isProtocolCompatible."""
    return current - age <= client <= current


def merchant_version_response(data):
    """MerchantVersionResponse::createFromArray: what it reads unconditionally."""
    for key in ("version", "name", "currency", "currencies"):
        assert key in data, key
    for spec in data["currencies"].values():
        for key in ("name", "currency", "num_fractional_input_digits",
                    "num_fractional_normal_digits", "num_fractional_trailing_zero_digits",
                    "alt_unit_names"):
            assert key in spec, key
    for exchange in data.get("exchanges", []):
        assert {"base_url", "currency", "master_pub"} <= set(exchange)
    return data


def test_factory_and_config_check_with_a_pasted_token(password_shop):
    token = login(password_shop, "readonly")["access_token"]
    client = Client(password_shop.base.rstrip("/"), "Bearer " + token)
    assert client.url("config") == password_shop.base + "config"

    # Factory::create: GET config, a merchant backend, a protocol level it speaks.
    config = merchant_version_response(client.expect(200, "GET", "config"))
    assert config["name"].lower() == "taler-merchant"
    current, _revision, age = parse_libtool_version(config["version"])
    assert protocol_compatible(current, age)

    # Taler::configCheck: the instance, then a harmless authenticated call.
    instance = client.expect(200, "GET", "private")
    assert instance["name"] == "Corner shop"
    orders = client.expect(200, "GET", "private/orders?limit=1")
    assert orders["orders"] == []


def test_config_check_names_an_unknown_instance(server):
    client = Client(server.base + "/instances/nosuchshop")
    resp = client.request("GET", "config")
    assert resp.status_code == 404 and resp.json()["code"] == 2000


def test_managed_auth_token_request(password_shop, db):
    """GetAccessToken with Basic auth and the LoginTokenRequest the SDK builds."""
    client = Client(password_shop.root)  # relative to the root it names the instance itself
    headers = dict(HEADERS, **factories.basic(password_shop.instance, password_shop.password))
    resp = requests.post(client.url(f"instances/{password_shop.instance}/private/token"),
                         json={"scope": "readonly", "duration": {"d_us": 3600_000_000},
                               "description": "WordPress taler-payments settings check",
                               "refreshable": None}, headers=headers, timeout=10)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    # LoginTokenSuccessResponse::createFromArray
    assert body["access_token"].startswith("secret-token:")
    assert body["scope"] == "readonly" and body["refreshable"] is False
    assert isinstance(body["expiration"]["t_s"], int)
    assert db.execute(
        "SELECT t.description, t.scope FROM tokens t JOIN instances i USING (instance_serial)"
        " WHERE i.instance_id = %s", (password_shop.instance,)).fetchall() == [
        {"description": "WordPress taler-payments settings check", "scope": "readonly"}]


ADD = {  # ProductAddDetail::jsonSerialize: every optional field present, null when unset
    "product_id": "mug", "product_name": None, "description": "A mug",
    "description_i18n": None, "categories": None, "unit": "piece", "price": "KUDOS:4.5",
    "image": None, "taxes": None, "total_stock": 7, "address": None, "next_restock": None,
    "minimum_age": None}
PATCH = {  # ProductPatchDetail::jsonSerialize
    "product_name": "Mug", "description": "A big mug", "description_i18n": None,
    "unit": "piece", "categories": None, "price": "KUDOS:5", "image": None, "taxes": None,
    "total_stock": 9, "total_lost": None, "address": None, "next_restock": None,
    "minimum_age": None}


def product_detail(data):
    """ProductDetail::createFromArray: required keys, and PHP int/string types."""
    for key in ("product_name", "description", "description_i18n", "unit", "categories",
                "price", "image"):
        assert key in data, key
    assert isinstance(data["image"], str)  # a non-nullable string property
    for key in ("total_stock", "total_sold", "total_lost"):
        assert isinstance(data[key], int), key
    return data


def test_inventory_calls(password_shop, db):
    client = Client(password_shop.base, "Bearer " + login(password_shop, "all")["access_token"])
    assert client.expect(204, "POST", "private/products", ADD) is None
    listed = client.expect(200, "GET", "private/products?limit=20&offset=0")
    assert [p["product_id"] for p in listed["products"]] == ["mug"]
    assert isinstance(listed["products"][0]["product_serial"], int)
    detail = product_detail(client.expect(200, "GET", "private/products/mug"))
    assert (detail["description"], detail["price"], detail["total_stock"]) == ("A mug",
                                                                               "KUDOS:4.5", 7)

    assert client.expect(204, "PATCH", "private/products/mug", PATCH) is None
    detail = product_detail(client.expect(200, "GET", "private/products/mug"))
    assert (detail["product_name"], detail["price"], detail["total_stock"]) == ("Mug",
                                                                                "KUDOS:5", 9)

    # LockRequest::jsonSerialize
    assert client.expect(204, "POST", "private/products/mug/lock", {
        "lock_uuid": "cart-1", "duration": {"d_us": 60_000_000}, "quantity": 2}) is None
    pos = client.expect(200, "GET", "private/pos")
    entry = pos["products"][0]  # MerchantPosProductDetail::createFromArray
    for key in ("product_serial", "product_id", "product_name", "categories", "description",
                "description_i18n", "unit", "price"):
        assert key in entry, key
    assert pos["categories"] == [] or {"id", "name"} <= set(pos["categories"][0])

    row = db.execute("SELECT description, total_stock FROM products WHERE product_id = 'mug'")
    assert row.fetchone() == {"description": "A big mug", "total_stock": 9}
