"""pretix-taler's refund against the real server: ``Taler.execute_refund`` of the
real plugin after a sale, and its poller reading the refund back from the status."""
import types

import pytest
import requests

from tests.clients.shop import login
from tests.e2e.test_client_pretix import new_payment, provider

pytestmark = pytest.mark.e2e


class Refunds:
    """``payment.refunds`` as the poller filters it: the refunds pretix started."""

    def __init__(self, *refunds):
        self.items = list(refunds)

    def filter(self, state=None, source=None):
        return [r for r in self.items
                if (state is None or r.state == state) and (source is None or r.source == source)]


class Refund(types.SimpleNamespace):
    def save(self, update_fields=None):
        self.saved = getattr(self, "saved", 0) + 1

    def done(self):
        self.state = "done"


def test_refund_of_a_paid_order(pretix_taler, password_shop, db):
    key = login(password_shop, "order-full")["access_token"].removeprefix("secret-token:")
    taler = provider(pretix_taler, password_shop.base, key)
    payment = new_payment("RFD01")
    taler.execute_payment(None, payment)
    assert payment.state == "pending", payment.info_data
    assert taler.payment_refund_supported(payment)
    resp = requests.post(password_shop.base + "private/orders/RFD01-P-1/paid", timeout=10,
                         headers={"Authorization": "Bearer secret-token:" + key})
    assert resp.status_code == 204, resp.text
    taler._query_and_process(payment)
    assert payment.state == "confirmed"

    refund = Refund(order=payment.order, payment=payment, amount="2.50", full_id="RFD01-R-1",
                    comment="damaged", state="created", source="admin", info_data=None)
    payment.refunds = Refunds(refund)
    taler.execute_refund(refund)
    assert refund.state == "transit"
    assert refund.info_data["taler_refund_uri"] == \
        f"taler+http://refund/{password_shop.base.split('/')[2]}/instances/shop/RFD01-P-1/"
    assert len(refund.info_data["h_contract"]) == 103

    # The poller reads the refund back; it stays in transit while the wallet has
    # not picked it up (pending), and pretix adds no refund of its own.
    taler._query_and_process(payment)
    assert (payment.state, refund.state) == ("confirmed", "transit")
    row = db.execute("SELECT paid, refunded_value FROM orders WHERE order_id = 'RFD01-P-1'") \
        .fetchone()
    assert row == {"paid": True, "refunded_value": 2.5}
    status = requests.get(password_shop.base + "private/orders/RFD01-P-1", timeout=10,
                          headers={"Authorization": "Bearer secret-token:" + key}).json()
    assert status["refund_details"][0]["reason"] == "RFD01-R-1 damaged"
    assert status["refund_amount"] == "KUDOS:2.5"


def test_refund_of_an_unpaid_order_fails_in_pretix(pretix_taler, password_shop, db):
    from tests.clients.frameworks import PaymentException
    key = login(password_shop, "order-full")["access_token"].removeprefix("secret-token:")
    taler = provider(pretix_taler, password_shop.base, key)
    payment = new_payment("RFD02")
    taler.execute_payment(None, payment)
    refund = Refund(order=payment.order, payment=payment, amount="1", full_id="RFD02-R-1",
                    comment=None, state="created", source="admin", info_data=None)
    with pytest.raises(PaymentException) as failure:
        taler.execute_refund(refund)
    assert "2531" in str(failure.value)
    assert refund.state == "created"
    assert db.execute("SELECT refunded_value FROM orders WHERE order_id = 'RFD02-P-1'") \
        .fetchone() == {"refunded_value": 0}
