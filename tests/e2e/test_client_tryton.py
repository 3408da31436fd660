"""The Tryton module ``account_payment_taler`` (PyPI
``trytoncommunity-account-payment-taler``) against the real server: its own set-up
wizard (``setupwizard.TalerMerchantAccountSetup``) and merchant account
(``payment.TalerMerchantAccount``), trytond stood in for.

The merchant types the instance base URL and the instance password; Tryton sends
``Authorization: Bearer secret-token:<password>``, then trades it for a login token.
"""
import datetime
import types

import pytest
import requests

from tests.clients.shop import DEFAULT_PAY_DELAY_S

pytestmark = pytest.mark.e2e


def wizard(module, merchant_url, password):
    wiz = module.setupwizard.TalerMerchantAccountSetup()
    wiz.start = types.SimpleNamespace(name="Corner shop", merchant_url=merchant_url,
                                      password=password)
    wiz.configuration = types.SimpleNamespace()
    wiz.show_expiration = types.SimpleNamespace()
    return wiz


def test_setup_wizard_connects_and_obtains_a_token(tryton_taler, legacy_shop, db):
    wiz = wizard(tryton_taler, legacy_shop.base, legacy_shop.password)
    # HEAD <url>, then GET <url>/private with the instance secret.
    assert wiz.transition_test_connection() == "enforce_kudos_no"
    assert wiz.start.merchant_url == legacy_shop.base.rstrip("/")
    assert wiz.configuration.default_pay_delay == datetime.timedelta(
        seconds=DEFAULT_PAY_DELAY_S)
    assert wiz.transition_enforce_kudos_no() == "configuration"

    # POST <url>/private/token {"scope": "order-mgmt:refreshable"}.
    assert wiz.transition_retrieve_access_token() == "show_expiration"
    token = wiz.configuration.access_token
    assert token and not token.startswith("secret-token:")
    assert wiz.configuration.access_token_refreshable is True
    assert wiz.configuration.access_token_expiration > datetime.datetime.now()
    row = db.execute(
        "SELECT t.scope, t.refreshable, t.description FROM tokens t JOIN instances i "
        "USING (instance_serial) WHERE i.instance_id = %s AND NOT t.legacy",
        (legacy_shop.instance,)).fetchone()
    assert row["scope"].split(":")[0] == "order-mgmt" and row["refreshable"] is True
    assert row["description"] == "Tryton Merchant Account 'Corner shop'"


def account(module, merchant_url, access_token):
    acc = module.payment.TalerMerchantAccount()
    acc.name, acc.merchant_url, acc.access_token = "Corner shop", merchant_url, access_token
    acc.default_pay_delay = acc.default_refund_delay = acc.default_wire_transfer_delay = None
    return acc


@pytest.mark.xfail(strict=True, raises=requests.HTTPError, reason=(
    "GET /instances/$I/private with a token that lacks instances-read answers 403/16 "
    "(doc/api.rst: a valid token without the permission is 403); Tryton falls back to "
    "GET .../private/orders only on 401 or 404, so its Test Connection button fails with "
    "the order-mgmt token its own wizard obtained"))
def test_connection_test_with_the_saved_token(tryton_taler, legacy_shop):
    wiz = wizard(tryton_taler, legacy_shop.base, legacy_shop.password)
    wiz.transition_test_connection()
    wiz.transition_retrieve_access_token()
    # The account's "Test Connection" button, later, with the order-mgmt token only.
    acc = account(tryton_taler, legacy_shop.base, wiz.configuration.access_token)
    acc._test_merchant_connection()
    assert acc.merchant_url == legacy_shop.base.rstrip("/")


def test_wrong_password_and_unknown_instance(tryton_taler, legacy_shop, server):
    wiz = wizard(tryton_taler, legacy_shop.base, "not-the-password")
    with pytest.raises(tryton_taler.UserError, match="Wrong password"):
        wiz.transition_test_connection()
    wiz = wizard(tryton_taler, server.base + "/instances/nosuchshop/", legacy_shop.password)
    with pytest.raises(tryton_taler.UserError, match="Not found"):
        wiz.transition_test_connection()
    resp = requests.head(server.base + "/instances/nosuchshop", timeout=10)
    assert resp.status_code == 404


def _payment(acc):
    """An account.payment as ``Payment._taler_order_parameters`` reads it."""
    return types.SimpleNamespace(
        journal=types.SimpleNamespace(taler_account=types.SimpleNamespace(
            default_pay_delay=datetime.timedelta(hours=1), default_refund_delay=None,
            default_wire_transfer_delay=None, enforced_currency=None)),
        currency=types.SimpleNamespace(code="KUDOS"), amount="3.20",
        description="Invoice 42", taler_fulfillment_url="https://erp.example/thanks",
        taler_fulfillment_message=None, taler_pay_deadline=None, taler_refund_deadline=None,
        taler_wire_transfer_deadline=None)


def test_order_with_the_token(tryton_taler, legacy_shop, db):
    wiz = wizard(tryton_taler, legacy_shop.base, legacy_shop.password)
    wiz.transition_test_connection()
    wiz.transition_retrieve_access_token()
    acc = account(tryton_taler, legacy_shop.base.rstrip("/"), wiz.configuration.access_token)
    request = tryton_taler.payment.Payment._taler_order_parameters(_payment(acc))
    created = acc.create_order(request)
    status = acc.get_order(created["order_id"])
    assert status["order_status"] == "unpaid" and status["taler_pay_uri"]
    assert db.execute("SELECT amount, paid FROM orders WHERE order_id = %s",
                      (created["order_id"],)).fetchone() == {"amount": "KUDOS:3.2",
                                                             "paid": False}
    with pytest.raises(tryton_taler.payment.OrderGone):
        acc.get_order("no-such-order")
