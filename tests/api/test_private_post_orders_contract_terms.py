"""The contract terms an order gets: every ContractTerms v0 field, from the request,
the instance (merchant, key, defaults, bank account) and the settings; and the
order status in the shape taler-php's parser requires."""
import datetime

import pytest
from freezegun import freeze_time

from taler_inventory import talercrypto

from .. import factories as f
from ..checks import assert_error

IBAN = "payto://iban/DE89370400440532013000?receiver-name=Shop"
T0 = 1_700_000_000


@pytest.fixture
def shop(client, admin_headers):
    """An instance with details, a refund and a wire-transfer delay, and an account."""
    h = f.instance_headers(
        client, admin_headers, "shop", email="shop@example.com",
        website="https://shop.example", address={"town": "Bern", "country": "CH"},
        jurisdiction={"country": "CH"},
        default_refund_delay={"d_us": 86400_000000},
        default_wire_transfer_delay={"d_us": 3600_000000})
    resp = client.post("/instances/shop/private/accounts", headers=h, json={"payto_uri": IBAN})
    assert resp.status_code == 200, resp.get_json()
    return h, resp.get_json()


def order_terms(client, h, instance="shop", order_id="o1", **order):
    f.create_order(client, h, instance=instance, order_id=order_id, amount="KUDOS:5", **order)
    resp = client.get(f"{f.prefix(instance)}/private/orders/{order_id}", headers=h)
    assert resp.status_code == 200
    return resp.get_json()["contract_terms"]


def at(seconds):
    return freeze_time(datetime.datetime.fromtimestamp(seconds, datetime.UTC))


def test_every_v0_field(client, shop):
    h, account = shop
    with at(T0 + 0.5):
        terms = order_terms(client, h, fulfillment_url="https://shop.example/done")
    instance = client.get("/instances/shop/private", headers=h).get_json()
    assert terms["merchant"] == {"name": "Shop shop", "email": "shop@example.com",
                                 "website": "https://shop.example",
                                 "address": {"town": "Bern", "country": "CH"},
                                 "jurisdiction": {"country": "CH"}}
    assert terms["merchant_pub"] == instance["merchant_pub"]
    assert terms["merchant_base_url"] == "http://localhost/instances/shop/"
    assert (terms["wire_method"], terms["h_wire"]) == ("iban", account["h_wire"])
    assert terms["exchanges"] == [] and terms["products"] == []
    assert (terms["amount"], terms["max_fee"]) == ("KUDOS:5", "KUDOS:0")
    assert terms["timestamp"] == {"t_s": T0}
    assert terms["pay_deadline"] == {"t_s": T0 + 86401}  # now + 1 day, rounded up
    assert terms["refund_deadline"] == {"t_s": T0 + 86400}
    assert terms["wire_transfer_deadline"] == {"t_s": T0 + 86400 + 3600}
    assert "nonce" not in terms


def test_request_deadlines_win(client, shop):
    h, _ = shop
    with at(T0):
        terms = order_terms(client, h, refund_deadline={"t_s": T0 + 10},
                            wire_transfer_deadline={"t_s": T0 + 20}, max_fee="KUDOS:0.5",
                            auto_refund={"d_us": 5_000_000})
    assert (terms["refund_deadline"], terms["wire_transfer_deadline"]) == \
        ({"t_s": T0 + 10}, {"t_s": T0 + 20})
    assert terms["max_fee"] == "KUDOS:0.5" and terms["auto_refund"] == {"d_us": 5_000_000}


def test_wire_deadline_before_refund_deadline_is_400(client, shop, db):
    h, _ = shop
    resp = f.post_order(client, h, instance="shop", order_id="o1", amount="KUDOS:1",
                        refund_deadline={"t_s": 4_000_000_000},
                        wire_transfer_deadline={"t_s": 3_000_000_000})
    body = assert_error(resp, 400, 2504)
    assert body["parameter"] == "order.wire_transfer_deadline"
    assert db.execute("SELECT count(*) AS n FROM orders").fetchone() == {"n": 0}


def test_an_instance_without_account_has_no_wire_fields(client, admin_headers):
    terms = order_terms(client, admin_headers, instance="admin")
    assert "h_wire" not in terms and "wire_method" not in terms
    assert terms["merchant_base_url"] == "http://localhost/"
    # No refund delay by default: the refund deadline is the timestamp.
    assert terms["refund_deadline"] == terms["timestamp"] == terms["wire_transfer_deadline"]


def test_base_url_setting(client, shop, app, monkeypatch):
    h, _ = shop
    monkeypatch.setitem(app.config["INVENTORY"], "BASE_URL", "https://pay.example/backend")
    terms = order_terms(client, h)
    assert terms["merchant_base_url"] == "https://pay.example/backend/instances/shop/"
    status = client.get("/instances/shop/private/orders/o1", headers=h).get_json()
    assert status["taler_pay_uri"].startswith(
        "taler://pay/pay.example/backend/instances/shop/o1/?c=")
    assert status["order_status_url"].startswith(
        "https://pay.example/backend/instances/shop/orders/o1?token=")


@pytest.mark.parametrize("trusted,expected", [
    (False, "http://localhost/instances/shop/"),
    (True, "https://proxy.example/taler/instances/shop/")])
def test_forwarded_headers_only_when_trusted(client, shop, app, monkeypatch, trusted, expected):
    h, _ = shop
    monkeypatch.setitem(app.config["INVENTORY"], "TRUST_FORWARDED", trusted)
    headers = {**h, "X-Forwarded-Proto": "https", "X-Forwarded-Host": "proxy.example, inner",
               "X-Forwarded-Prefix": "/taler/"}
    f.create_order(client, headers, instance="shop", order_id="o1", amount="KUDOS:1")
    terms = client.get("/instances/shop/private/orders/o1", headers=h).get_json()["contract_terms"]
    assert terms["merchant_base_url"] == expected


def test_exchanges_setting(client, shop, app, monkeypatch):
    h, _ = shop
    exchanges = [{"url": "https://exchange.example/", "master_pub": "M" * 52, "priority": 1024}]
    monkeypatch.setitem(app.config["INVENTORY"], "EXCHANGES", exchanges)
    assert order_terms(client, h)["exchanges"] == exchanges


def test_inventory_lines_are_products(client, shop):
    h, _ = shop
    f.create_product(client, h, "tea", instance="shop", unit_price=["KUDOS:2"],
                     image="data:image/png;base64,AAAA",
                     taxes=[{"name": "VAT", "tax": "KUDOS:0.1"}])
    f.create_order(client, h, [("tea", 3)], instance="shop", order_id="o1")
    terms = client.get("/instances/shop/private/orders/o1", headers=h).get_json()["contract_terms"]
    assert terms["amount"] == "KUDOS:6"
    assert terms["products"] == [{
        "product_id": "tea", "product_name": terms["products"][0]["product_name"],
        "description": "Product tea", "unit": "piece", "quantity": 3, "unit_quantity": "3",
        "price": "KUDOS:6", "taxes": [{"name": "VAT", "tax": "KUDOS:0.1"}],
        "image": "data:image/png;base64,AAAA"}]


# taler-php (mirrorps/taler-php) CheckPaymentPaidResponse::createFromArray and its
# ContractTermsV0 read these keys without a default: a missing one is a PHP error.
PHP_PAID_KEYS = {"order_status", "refunded", "refund_pending", "wired", "deposit_total",
                 "exchange_code", "exchange_http_status", "refund_amount", "contract_terms",
                 "last_payment", "wire_details", "wire_reports", "refund_details",
                 "order_status_url"}
PHP_TERMS_KEYS = {"amount", "max_fee", "summary", "order_id", "products", "timestamp",
                  "refund_deadline", "pay_deadline", "wire_transfer_deadline", "merchant_pub",
                  "merchant_base_url", "merchant", "h_wire", "wire_method", "exchanges",
                  "nonce"}


def test_paid_status_parses_in_taler_php(client, shop):
    h, _ = shop
    f.create_order(client, h, instance="shop", order_id="o1", amount="KUDOS:5")
    assert client.post("/instances/shop/private/orders/o1/paid", headers=h).status_code == 204
    status = client.get("/instances/shop/private/orders/o1", headers=h).get_json()
    assert PHP_PAID_KEYS <= set(status)
    terms = status["contract_terms"]
    assert PHP_TERMS_KEYS <= set(terms)
    assert status["order_status"] == "paid"
    assert isinstance(status["last_payment"]["t_s"], int)
    for key in ("timestamp", "refund_deadline", "pay_deadline", "wire_transfer_deadline"):
        assert isinstance(terms[key]["t_s"], int), key
    assert isinstance(terms["merchant"]["name"], str)
    # The payment hook claims an unclaimed order: a nonce like a wallet's (32 bytes).
    assert len(talercrypto.decode(terms["nonce"], 32)) == 32


def test_bad_setting_is_one_line(monkeypatch):
    from taler_inventory import config
    monkeypatch.setenv("TALER_INVENTORY_EXCHANGES", "{not json")
    with pytest.raises(config.SetupError, match="TALER_INVENTORY_EXCHANGES is not JSON"):
        config.from_env()
    monkeypatch.setenv("TALER_INVENTORY_EXCHANGES", '{"url": "x"}')
    with pytest.raises(config.SetupError, match="must be a JSON list"):
        config.from_env()
