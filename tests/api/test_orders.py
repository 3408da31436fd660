"""The public order endpoints: ``GET [/instances/$I]/orders/$ORDER_ID`` (the claim
token before a claim, the contract hash after it; 402 unpaid, 200 paid; JSON or an
HTML page with the payment link and its QR code) and ``POST .../orders/$ID/claim``
(the nonce in the terms, the instance's EdDSA signature over their hash)."""
import hashlib
import json
import struct

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from taler_inventory import talercrypto

from .. import factories as f
from ..checks import assert_error

IBAN = "payto://iban/DE89370400440532013000?receiver-name=Shop"
NONCE = talercrypto.encode(bytes(range(32)))
OTHER_NONCE = talercrypto.encode(bytes(32))


@pytest.fixture
def shop(client, admin_headers):
    h = f.instance_headers(client, admin_headers, "shop",
                           default_refund_delay={"d_us": 3600_000000})
    assert client.post("/instances/shop/private/accounts", headers=h,
                       json={"payto_uri": IBAN}).status_code == 200
    resp = f.post_order(client, h, instance="shop", order_id="o1", amount="KUDOS:7.25",
                        fulfillment_url="https://shop.example/thanks",
                        extra={"price": 1.10, "note": "Grüße"})
    assert resp.status_code == 200, resp.get_json()
    return h, resp.get_json()["token"]


def claim(client, nonce=NONCE, token=None, order_id="o1"):
    body = {"nonce": nonce}
    if token is not None:
        body["token"] = token
    return client.post(f"/instances/shop/orders/{order_id}/claim", json=body)


def independent_hash(terms: dict) -> bytes:
    """Taler's h_contract_terms: SHA-512 of the canonical JSON (sorted keys, no
    whitespace, UTF-8), computed here without the server's code."""
    text = json.dumps(terms, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha512(text.encode("utf-8")).digest()


def test_claim_signs_the_terms_with_the_nonce(client, shop, db):
    h, token = shop
    resp = claim(client, token=token)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    terms = body["contract_terms"]
    assert terms["nonce"] == NONCE and terms["order_id"] == "o1"
    merchant_pub = client.get("/instances/shop/private", headers=h).get_json()["merchant_pub"]
    assert terms["merchant_pub"] == merchant_pub
    # TALER_SIGNATURE_MERCHANT_CONTRACT (1101): size and purpose, big-endian, then the hash.
    h_contract = independent_hash(terms)
    purpose = struct.pack(">II", 72, 1101) + h_contract
    key = Ed25519PublicKey.from_public_bytes(talercrypto.decode(merchant_pub, 32))
    key.verify(talercrypto.decode(body["sig"], 64), purpose)
    with pytest.raises(InvalidSignature):
        key.verify(talercrypto.decode(body["sig"], 64), purpose[:-1] + b"\0")
    # The same nonce again: the same answer.
    again = claim(client, token=token)
    assert again.status_code == 200 and again.get_json() == body
    status = client.get("/instances/shop/private/orders/o1", headers=h).get_json()
    assert status["order_status"] == "claimed" and "taler_pay_uri" not in status
    assert db.execute("SELECT claim_nonce FROM orders WHERE order_id = 'o1'").fetchone() == \
        {"claim_nonce": NONCE}


def test_another_nonce_is_409(client, shop):
    h, token = shop
    assert claim(client, token=token).status_code == 200
    assert_error(claim(client, nonce=OTHER_NONCE, token=token), 409, 2301)
    terms = client.get("/instances/shop/private/orders/o1", headers=h).get_json()["contract_terms"]
    assert terms["nonce"] == NONCE


@pytest.mark.parametrize("token", [None, "WRONG"])
def test_claim_needs_the_claim_token(client, shop, token):
    h, _ = shop
    assert_error(claim(client, token=token), 404, 2300)
    status = client.get("/instances/shop/private/orders/o1", headers=h).get_json()
    assert status["order_status"] == "unpaid"


def test_claim_unknown_order_is_404(client, shop):
    assert_error(claim(client, order_id="nope"), 404, 2300)
    assert_error(claim(client, order_id="no%20pe"), 404, 2300)
    assert_error(client.post("/instances/ghost/orders/o1/claim", json={"nonce": NONCE}),
                 404, 2000)


@pytest.mark.parametrize("body,field", [
    ({}, "nonce"), ({"nonce": "short"}, "nonce"), ({"nonce": 5}, "nonce"),
    ({"nonce": NONCE, "token": 5}, "token")])
def test_claim_bad_body_is_400(client, shop, body, field):
    h, _ = shop
    resp = client.post("/instances/shop/orders/o1/claim", json=body)
    assert resp.status_code == 400 and resp.get_json()["parameter"] == field
    status = client.get("/instances/shop/private/orders/o1", headers=h).get_json()
    assert status["order_status"] == "unpaid"


def test_status_unpaid_with_token_is_402(client, shop):
    h, token = shop
    resp = client.get(f"/instances/shop/orders/o1?token={token}")
    assert resp.status_code == 402
    body = resp.get_json()
    assert body["taler_pay_uri"] == f"taler+http://pay/localhost/instances/shop/o1/?c={token}"
    assert body["fulfillment_url"] == "https://shop.example/thanks"
    assert_error(client.get("/instances/shop/orders/o1"), 403, 2105)
    assert_error(client.get("/instances/shop/orders/o1?token=x"), 403, 2105)
    assert_error(client.get("/instances/shop/orders/nope?token=x"), 404, 2005)


def test_status_after_claim_needs_the_hash(client, shop):
    h, token = shop
    terms = claim(client, token=token).get_json()["contract_terms"]
    h_contract = talercrypto.encode(independent_hash(terms))
    assert_error(client.get(f"/instances/shop/orders/o1?token={token}"), 403, 2106)
    resp = client.get(f"/instances/shop/orders/o1?h_contract={h_contract}")
    assert resp.status_code == 402
    assert client.post("/instances/shop/private/orders/o1/paid", headers=h).status_code == 204
    resp = client.get(f"/instances/shop/orders/o1?h_contract={h_contract}")
    assert resp.status_code == 200
    assert resp.get_json() == {"refunded": False, "refund_pending": False,
                               "refund_amount": "KUDOS:0", "refund_taken": "KUDOS:0"}


def test_refunded_paid_status(client, shop):
    h, token = shop
    assert client.post("/instances/shop/private/orders/o1/paid", headers=h).status_code == 204
    assert client.post("/instances/shop/private/orders/o1/refund", headers=h,
                       json={"refund": "KUDOS:1", "reason": "late"}).status_code == 200
    terms = client.get("/instances/shop/private/orders/o1", headers=h).get_json()["contract_terms"]
    h_contract = talercrypto.encode(independent_hash(terms))
    body = client.get(f"/instances/shop/orders/o1?h_contract={h_contract}").get_json()
    assert (body["refunded"], body["refund_amount"]) == (True, "KUDOS:1")


def test_html_page_with_link_and_qr_code(client, shop):
    h, token = shop
    resp = client.get(f"/instances/shop/orders/o1?token={token}",
                      headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert resp.status_code == 402
    assert resp.mimetype == "text/html"
    page = resp.get_data(as_text=True)
    uri = f"taler+http://pay/localhost/instances/shop/o1/?c={token}"
    assert f'href="{uri}"' in page
    assert "<svg" in page and "KUDOS:7.25" in page
    # JSON stays the default for API clients.
    assert client.get(f"/instances/shop/orders/o1?token={token}",
                      headers={"Accept": "*/*"}).mimetype == "application/json"


def test_html_page_of_a_paid_order(client, shop):
    h, token = shop
    assert client.post("/instances/shop/private/orders/o1/paid", headers=h).status_code == 204
    terms = client.get("/instances/shop/private/orders/o1", headers=h).get_json()["contract_terms"]
    h_contract = talercrypto.encode(independent_hash(terms))
    resp = client.get(f"/instances/shop/orders/o1?h_contract={h_contract}",
                      headers={"Accept": "text/html"})
    assert resp.status_code == 200 and "is paid" in resp.get_data(as_text=True)
    assert "<svg" not in resp.get_data(as_text=True)


def test_admin_instance_at_the_root(client, admin_headers):
    resp = f.post_order(client, admin_headers, order_id="a1", amount="KUDOS:1")
    token = resp.get_json()["token"]
    assert client.get(f"/orders/a1?token={token}").status_code == 402
    assert client.post("/orders/a1/claim", json={"nonce": NONCE, "token": token}) \
        .status_code == 200
