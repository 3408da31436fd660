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


def _models(module, acc):
    """The module's own Payment and Refund models over an in-memory store: the
    framework's persistence (``cls(id)``, ``save``, ``lock``) and workflow
    transitions (``succeed``, ``fail``) stood in for, the module's logic untouched."""
    store = {}

    class Record:
        _next = [0]

        def __new__(cls, id=None, **fields):
            if (cls, id) in store:
                return store[cls, id]
            return super().__new__(cls)

        def __init__(self, id=None, **fields):
            if getattr(self, "_made", False):
                return
            self._made = True
            if id is None:
                Record._next[0] += 1
                id = Record._next[0]
            self.id = id
            self.__dict__.update(fields)
            store[type(self), id] = self

        def lock(self):
            pass

        def save(self):
            pass

        @classmethod
        def succeed(cls, records):
            for r in records:
                r.state = "succeeded"

        @classmethod
        def fail(cls, records):
            for r in records:
                r.state = "failed"

    class Payment(Record, module.payment.Payment):
        pass

    class Refund(Record, module.payment.Refund):
        pass

    journal = types.SimpleNamespace(process_method="taler", taler_account=acc)
    module.payment.Pool.models["account.payment"] = Payment
    return Payment, Refund, journal, store


def test_payment_push_pull_and_refunds(tryton_taler, legacy_shop, db):
    """Tryton's own order and status functions: ``Payment.taler_push`` creates the
    order, ``get_taler_payment_uri`` / ``get_taler_status_uri`` show it,
    ``Payment.taler_pull`` follows it to paid, ``Refund.taler_push`` and
    ``Refund.taler_pull`` refund it and read the refund back."""
    wiz = wizard(tryton_taler, legacy_shop.base, legacy_shop.password)
    wiz.transition_test_connection()
    wiz.transition_retrieve_access_token()
    acc = account(tryton_taler, legacy_shop.base.rstrip("/"), wiz.configuration.access_token)
    acc.default_pay_delay = datetime.timedelta(hours=1)
    acc.default_refund_delay = datetime.timedelta(days=1)
    acc.enforced_currency = None
    Payment, Refund, journal, store = _models(tryton_taler, acc)
    fields = vars(_payment(acc))
    fields["journal"] = journal
    payment = Payment(id=1, state="processing", taler_order_id=None, taler_refunds=[],
                      taler_error_message=None, **fields)

    Payment.taler_push([payment])
    assert payment.state == "processing" and payment.taler_error_message is None
    order_id = payment.taler_order_id
    assert order_id
    row = db.execute("SELECT amount, paid, claim_token FROM orders WHERE order_id = %s",
                     (order_id,)).fetchone()
    assert row == {"amount": "KUDOS:3.2", "paid": False, "claim_token": None}
    assert payment.get_taler_payment_uri(None).startswith("taler+http://pay/")
    status_url = payment.get_taler_status_uri(None)
    assert status_url == f"{legacy_shop.base.rstrip('/')}/orders/{order_id}"
    resp = requests.get(status_url, timeout=10)
    assert resp.status_code == 402 and resp.json()["taler_pay_uri"].startswith("taler+http://")

    # Not paid yet: the payment stays processing.
    Payment.taler_pull([payment])
    assert payment.state == "processing"
    # The payment hook, as the payment side would call it.
    headers = {"Authorization": f"Bearer secret-token:{legacy_shop.password}"}
    resp = requests.post(f"{acc.merchant_url}/private/orders/{order_id}/paid",
                         headers=headers, timeout=10)
    assert resp.status_code == 204, resp.text
    Payment.taler_pull([payment])
    assert payment.state == "succeeded"
    assert payment.get_taler_payment_uri(None) is None  # paid: nothing to pay

    refund = Refund(payment=payment, amount=tryton_taler.payment.Decimal("1.2"),
                    reason="damaged", state="approved", timestamp=None,
                    taler_error_message=None, currency=types.SimpleNamespace(code="KUDOS"))
    payment.taler_refunds.append(refund)
    Refund.taler_push([refund])
    assert refund.state == "processing", refund.taler_error_message
    refunded = db.execute("SELECT refunded_value FROM orders WHERE order_id = %s",
                          (order_id,)).fetchone()["refunded_value"]
    assert refunded == tryton_taler.payment.Decimal("1.2")
    Refund.taler_pull([refund])
    # Refunds stay pending here (the wallet side is not seen): still processing, and
    # matched to the order's refund_details rather than added twice.
    assert refund.state == "processing" and refund.timestamp is not None
    assert [r for r in store.values() if isinstance(r, Refund)] == [refund]
