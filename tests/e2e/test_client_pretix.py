"""pretix-taler (PyPI ``pretix-taler``) against the real server: its own settings check
and payment calls (``pretix_taler.payment.Taler``), pretix itself stood in for.

pretix is configured with the instance base URL and an "API key" that it sends as
``Authorization: Bearer secret-token:<key>`` on every private call.
"""
import datetime
import types

import pytest
import requests

from tests.clients.frameworks import ValidationError
from tests.clients.shop import login

pytestmark = pytest.mark.e2e


class Settings(types.SimpleNamespace):
    """The plugin's settings as pretix's SettingsSandbox hands them over."""

    def get(self, key, default=None, as_type=None):
        value = getattr(self, key, default)
        return as_type(value) if as_type and value is not None else value


def provider(module, base_url, key):
    event = types.SimpleNamespace(currency="KUDOS", testmode=False)
    settings = Settings(merchant_api_url=base_url, merchant_api_key=key, testmode_kudos=False,
                        max_pay_deadline=60, refund_delay=60 * 24)
    return module.Taler(event, settings)


def settings_form(base_url):
    return {"payment_taler_merchant_api_url": base_url, "payment_taler_testmode_kudos": False}


def test_settings_check_accepts_a_non_admin_instance(pretix_taler, password_shop):
    taler = provider(pretix_taler, password_shop.base, password_shop.password)
    cleaned = settings_form(password_shop.base)
    # GET <base>/config: reachable, "taler-merchant", our currency, a version it takes.
    assert taler.settings_form_clean(dict(cleaned)) == cleaned


def test_settings_check_refuses_an_unknown_instance(pretix_taler, server):
    base = server.base + "/instances/nosuchshop/"
    taler = provider(pretix_taler, base, "whatever")
    with pytest.raises(ValidationError) as failure:
        taler.settings_form_clean(settings_form(base))
    assert "404" in str(failure.value)
    assert requests.get(base + "config", timeout=10).json()["code"] == 2000


def test_settings_check_refuses_another_currency(pretix_taler, password_shop):
    taler = provider(pretix_taler, password_shop.base, password_shop.password)
    taler.event.currency = "EUR"
    with pytest.raises(ValidationError) as failure:
        taler.settings_form_clean(settings_form(password_shop.base))
    assert "only supports payments in KUDOS" in str(failure.value)


class Payment(types.SimpleNamespace):
    """An OrderPayment of pretix as ``execute_payment`` and the poller use it."""

    def save(self, update_fields=None):
        self.saved = getattr(self, "saved", 0) + 1

    def confirm(self):
        self.state = "confirmed"

    def fail(self, log_data=None):
        self.state = "failed"


def new_payment(code="ABC12"):
    order = types.SimpleNamespace(
        code=code, secret="s3cr3t", testmode=False, log_action=lambda *a, **k: None,
        expires=datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1))
    return Payment(order=order, full_id=f"{code}-P-1", amount="12.50", pk=1, info_data={},
                   state="created", refunds=None)


def _sell_through(module, shop, key, db):
    taler = provider(module, shop.base, key)
    payment = new_payment()
    taler.execute_payment(None, payment)
    assert payment.state == "pending", payment.info_data
    assert payment.info_data["order_id"] == "ABC12-P-1"
    assert payment.info_data["order_status"] == "unpaid"
    assert payment.info_data["taler_pay_uri"].startswith("taler")
    row = db.execute(
        "SELECT o.amount, o.paid, i.instance_id FROM orders o JOIN instances i USING "
        "(instance_serial) WHERE o.order_id = 'ABC12-P-1'").fetchone()
    assert row == {"amount": "KUDOS:12.5", "paid": False, "instance_id": shop.instance}

    taler._query_and_process(payment)
    assert payment.state == "pending"
    resp = requests.post(shop.base + "private/orders/ABC12-P-1/paid", timeout=10,
                         headers={"Authorization": "Bearer secret-token:" + key})
    assert resp.status_code == 204, resp.text
    taler._query_and_process(payment)
    assert payment.state == "confirmed"
    assert db.execute("SELECT paid FROM orders WHERE order_id = 'ABC12-P-1'") \
        .fetchone() == {"paid": True}


def test_payment_with_the_instance_secret(pretix_taler, legacy_shop, db):
    _sell_through(pretix_taler, legacy_shop, legacy_shop.password, db)


def test_payment_with_a_login_token(pretix_taler, password_shop, db):
    token = login(password_shop, "order-full")["access_token"]
    _sell_through(pretix_taler, password_shop, token.removeprefix("secret-token:"), db)
