"""The Android point-of-sale app (merchant-terminal + merchant-lib of taler-android)
against the real server: the requests of its set-up (``ConfigManager.fetchLimitedAccessToken``,
``fetchConfig``, ``MerchantApi.getConfig``), its libtool version check
(``net.taler.common.Version.compare``) and what its kotlinx decoders require
(see ``doc/clients.rst``).

There is no Android here, so the app is restated.  The merchant enters the backend's
root URL, the instance id and the instance password; the app trades the password
(sent as ``Bearer secret-token:<password>``) for a ``write`` token and from then on talks
to ``<root>/instances/<id>`` with ``Bearer secret-token:<token>``.
"""
import pytest
import requests


pytestmark = pytest.mark.e2e

APP_VERSION = "20:0:8"      # merchant-terminal 1.0.x, BuildConfig.BACKEND_API_VERSION
NEWEST_LEVEL = "32:0:0"     # a client written for the newest documented protocol level


def parse(version):
    """Version.parse: three ``:``-separated integers, else null."""
    parts = version.split(":")
    if len(parts) != 3:
        return None
    try:
        return tuple(int(p) for p in parts)
    except ValueError:
        return None


def compatible(app, server):
    """Version.compare(other).compatible, with ``app`` as this and ``server`` as other."""
    current, _, age = app
    other_current, _, other_age = server
    return current - age <= other_current and current >= other_current - other_age


def test_the_version_rule():
    """The rule as the app applies it, on the versions it is known to meet."""
    assert compatible(parse(APP_VERSION), parse("20:0:8"))
    assert compatible(parse(APP_VERSION), parse("12:0:0"))
    assert not compatible(parse(APP_VERSION), parse("11:0:0"))           # too old
    assert not compatible(parse(APP_VERSION), parse("33:0:12"))          # too new
    assert parse("20:0") is None and parse("20:x:8") is None


def pos_token(shop, **body):
    """fetchLimitedAccessToken: POST <root>/instances/<id>/private/token."""
    return requests.post(f"{shop.root}/instances/{shop.instance}/private/token",
                         json={"scope": "write", **body}, timeout=10,
                         headers={"Authorization": "Bearer secret-token:" + shop.password})


def test_setup(legacy_shop, db):
    resp = pos_token(legacy_shop, duration={"d_us": 8 * 3600 * 1_000_000})
    assert resp.status_code == 200, resp.text
    token = resp.json()
    # LimitedTokenResponse: token, scope, refreshable, expiration are all required.
    assert token["token"].startswith("secret-token:")
    assert token["scope"] == "write" and token["refreshable"] is False
    assert "expiration" in token
    auth = {"Authorization": "Bearer secret-token:" + token["token"].removeprefix(
        "secret-token:")}
    merchant_url = f"{legacy_shop.root}/instances/{legacy_shop.instance}"

    # A product for the POS to show, made with the app's own token.
    resp = requests.post(merchant_url + "/private/products", headers=auth, timeout=10, json={
        "product_id": "tea", "description": "Tea", "unit": "cup", "price": "KUDOS:2",
        "total_stock": 5})
    assert resp.status_code == 204, resp.text

    # GET <merchantUrl>/private/pos: PosConfig with categories and products.
    pos = requests.get(merchant_url + "/private/pos", headers=auth, timeout=10)
    assert pos.status_code == 200, pos.text
    for category in pos.json()["categories"]:
        assert isinstance(category["id"], int) and isinstance(category["name"], str)
    [product] = pos.json()["products"]
    assert (product["product_id"], product["description"], product["price"]) == (
        "tea", "Tea", "KUDOS:2")
    assert all(isinstance(c, int) for c in product["categories"])

    # GET <merchantUrl>/config (no credentials): ConfigResponse and the version check.
    config = requests.get(merchant_url + "/config", timeout=10)
    assert config.status_code == 200, config.text
    assert config.json()["currency"] == "KUDOS"
    server_version = parse(config.json()["version"])
    assert server_version is not None, config.json()["version"]
    assert compatible(parse(APP_VERSION), server_version)
    assert compatible(parse(NEWEST_LEVEL), server_version)

    row = db.execute("SELECT t.scope FROM tokens t JOIN instances i USING (instance_serial)"
                     " WHERE i.instance_id = %s AND NOT t.legacy",
                     (legacy_shop.instance,)).fetchall()
    assert row == [{"scope": "write"}]


def test_setup_forever_token_and_wrong_password(legacy_shop):
    resp = pos_token(legacy_shop, duration={"d_us": "forever"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["expiration"] == {"t_s": "never"}
    legacy_shop.password = "not-the-password"
    resp = pos_token(legacy_shop)
    assert resp.status_code == 401 and resp.json()["code"] == 2015  # config_auth_error


def test_orders_with_the_pos_token(legacy_shop, db):
    token = pos_token(legacy_shop).json()["token"].removeprefix("secret-token:")
    auth = {"Authorization": "Bearer secret-token:" + token}
    merchant_url = f"{legacy_shop.root}/instances/{legacy_shop.instance}"
    resp = requests.post(merchant_url + "/private/orders", headers=auth, timeout=10, json={
        "order": {"amount": "KUDOS:4", "summary": "2 x Tea",
                  "products": [{"description": "Tea", "quantity": 2, "price": "KUDOS:2"}]}})
    assert resp.status_code == 200, resp.text
    order_id = resp.json()["order_id"]
    # CheckPaymentResponse, by order_status: "unpaid" needs taler_pay_uri.
    status = requests.get(f"{merchant_url}/private/orders/{order_id}", headers=auth, timeout=10)
    assert status.status_code == 200 and status.json()["order_status"] == "unpaid"
    assert status.json()["taler_pay_uri"]
    history = requests.get(merchant_url + "/private/orders", params={"limit": -20},
                           headers=auth, timeout=10)
    assert history.status_code == 200
    [entry] = history.json()["orders"]  # OrderHistoryEntry: these are required
    assert entry["order_id"] == order_id and entry["amount"] == "KUDOS:4"
    assert isinstance(entry["timestamp"]["t_s"], int) and entry["summary"] == "2 x Tea"
    assert entry["paid"] is False and isinstance(entry["refundable"], bool)
    assert db.execute("SELECT amount FROM orders WHERE order_id = %s", (order_id,)) \
        .fetchone() == {"amount": "KUDOS:4"}
