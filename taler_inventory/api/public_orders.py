"""The public order endpoints a wallet and a customer's browser use:
``GET [/instances/$I]/orders/$ORDER_ID`` (the status, or a page with the
``taler://pay`` link and its QR code) and ``POST .../orders/$ORDER_ID/claim``."""
import hmac
import io

import segno
from flask import Blueprint, current_app, g, jsonify, render_template_string, request

from .. import contract, ids, talercrypto
from ..backenddb import orders as orders_db
from ..backenddb.outcome import Status
from ..db import get_db
from ..errors import ErrorCode, TalerError
from ..longpoll import LongPoll
from ..orders import amount_text, currency_of, paid_for_session
from ..schemas.orders import ClaimRequestSchema, ClaimResponseSchema, PublicOrderQuerySchema
from ..timeutil import now_us
from .common import empty_response, endpoint, known_id, require_instance
from .orders import pay_uri, wait_for_order

bp = Blueprint("public_orders", __name__)


@bp.get("/orders/<order_id>")
@endpoint(query=PublicOrderQuerySchema,
          errors=(ErrorCode.MERCHANT_GENERIC_ORDER_UNKNOWN,
                  ErrorCode.MERCHANT_GET_ORDERS_ID_INVALID_TOKEN,
                  ErrorCode.MERCHANT_GET_ORDERS_ID_INVALID_CONTRACT_HASH))
def get_orders_id(order_id, args):
    """An order's status for its customer: 402 with ``taler_pay_uri`` unpaid, 200 paid."""
    require_instance()
    known_id(order_id, ids.ORDER_ID, ErrorCode.MERCHANT_GENERIC_ORDER_UNKNOWN)
    instance_serial = g.instance["instance_serial"]
    html = _wants_html()
    # A page for a browser never waits (the docs: timeout_ms treated as zero).
    poll = LongPoll(None if html else args.get("timeout_ms"))
    row = wait_for_order(order_id, poll,
                         lambda row: not _authorize(row, args) and _negative(row, args))
    goto = _authorize(row, args)
    if goto:
        # The docs: 302 for a browser, otherwise 202 with a StatusGotoResponse.
        if html:
            return empty_response(302, {"Location": goto})
        response = jsonify({"public_reorder_url": goto})
        response.status_code = 202
        return response
    currency = currency_of(row)
    if paid_for_session(row, args.get("session_id")):
        body = {"refunded": row["refunded_value"] > 0,
                "refund_pending": row["refunded_value"] > 0,
                "refund_amount": amount_text(currency, row["refunded_value"]),
                "refund_taken": amount_text(currency, 0)}
        status = 200
    else:
        body = {"taler_pay_uri": pay_uri(row["order_id"], row["claim_token"])}
        url = row["contract_terms"].get("fulfillment_url")
        if url:
            body["fulfillment_url"] = url
        if url and "session_id" in args:
            # Repurchase detection: the same article already bought in this session.
            other = get_db().run(orders_db.paid_in_session, instance_serial=instance_serial,
                                 fulfillment_url=url, session_id=args["session_id"],
                                 allow_refunded=args["allow_refunded_for_repurchase"])
            if other is not None and other["order_id"] != row["order_id"]:
                body["already_paid_order_id"] = other["order_id"]
                body["already_paid_fulfillment_url"] = other["fulfillment_url"]
        status = 402
    if _wants_html():
        return _page(row, body, status)
    response = jsonify(body)
    response.status_code = status
    return response


def _negative(row, args) -> bool:
    """Whether a long poll keeps waiting: for the payment of an unpaid order, for
    a refund of at least ``refund``, or (``await_refund_obtained``) while a refund
    is pending; this module never sees a wallet obtain a refund, so a refunded
    order waits for the timeout then."""
    if not paid_for_session(row, args.get("session_id")):
        return True
    refund = args.get("refund")
    if refund is not None and refund.currency != currency_of(row):
        raise TalerError(ErrorCode.GENERIC_PARAMETER_MALFORMED, "refund",
                         hint="refund is not in the currency of the order.",
                         parameter="refund")
    if refund is not None and row["refunded_value"] < refund.value:
        return True
    return bool(args["await_refund_obtained"] and row["refunded_value"] > 0)


def _authorize(row, args) -> str | None:
    """Before a claim the claim token (if the order has one); after it the hash.

    Returns where the customer goes instead (None: answer the status): a claim
    token (even a wrong one) instead of the hash of a paid order goes to its
    ``fulfillment_url``; a request without any credential for an order that needs
    one goes to its ``public_reorder_url`` (a fresh order may be made there).
    """
    terms = row["contract_terms"]
    bare = "token" not in args and "h_contract" not in args
    if row["claim_nonce"] is not None:
        given = args.get("h_contract")
        if given is None and "token" in args and row["paid"] and terms.get("fulfillment_url"):
            return terms["fulfillment_url"]
        expected = talercrypto.encode(contract.contract_hash(terms))
        if given is None or not hmac.compare_digest(given.upper(), expected):
            if bare and terms.get("public_reorder_url"):
                return terms["public_reorder_url"]
            raise TalerError(ErrorCode.MERCHANT_GET_ORDERS_ID_INVALID_CONTRACT_HASH,
                             "h_contract", parameter="h_contract")
    elif row["claim_token"] is not None:
        given = args.get("token") or ""
        if not hmac.compare_digest(given.encode(), row["claim_token"].encode()):
            if bare and terms.get("public_reorder_url"):
                return terms["public_reorder_url"]
            raise TalerError(ErrorCode.MERCHANT_GET_ORDERS_ID_INVALID_TOKEN, "token",
                             parameter="token")
    return None


def _wants_html() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html" and request.accept_mimetypes["text/html"] > \
        request.accept_mimetypes["application/json"]


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ summary }}</title>
<style>body{font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}
.qr svg{width:16rem;height:16rem}</style></head>
<body><main>
<h1>{{ summary }}</h1>
<p>Amount: <strong>{{ amount }}</strong></p>
{% if paid %}
<p role="status">This order is paid{% if refunded %};
  {{ refund_amount }} was refunded{% endif %}.</p>
{% if fulfillment_url %}<p><a href="{{ fulfillment_url }}">Continue</a></p>{% endif %}
{% else %}
<p>Pay with your GNU Taler wallet: scan the code, or open the link on this device.</p>
<div class="qr" role="img" aria-label="QR code of the payment link">{{ qr | safe }}</div>
<p><a href="{{ pay_uri }}">{{ pay_uri }}</a></p>
{% endif %}
</main></body></html>
"""


def _page(row, body, status):
    paid = status == 200
    qr = ""
    if not paid:
        out = io.BytesIO()
        # The SVG is made here from the link alone: no external service sees it.
        segno.make(body["taler_pay_uri"], error="m").save(
            out, kind="svg", scale=4, border=2, xmldecl=False, svgns=True)
        qr = out.getvalue().decode("utf-8")
    html = render_template_string(
        _PAGE, summary=row["summary"], amount=row["amount"], paid=paid, qr=qr,
        pay_uri=body.get("taler_pay_uri"), refunded=body.get("refunded"),
        refund_amount=body.get("refund_amount"),
        fulfillment_url=row["contract_terms"].get("fulfillment_url"))
    return current_app.response_class(html, status=status, mimetype="text/html")


@bp.post("/orders/<order_id>/claim")
@endpoint(body=ClaimRequestSchema, response=ClaimResponseSchema,
          errors=(ErrorCode.MERCHANT_POST_ORDERS_ID_CLAIM_NOT_FOUND,
                  ErrorCode.MERCHANT_POST_ORDERS_ID_CLAIM_ALREADY_CLAIMED))
def post_orders_id_claim(order_id, body):
    """A wallet claims the order: the terms with its nonce, signed by the instance."""
    require_instance()
    known_id(order_id, ids.ORDER_ID, ErrorCode.MERCHANT_POST_ORDERS_ID_CLAIM_NOT_FOUND)
    outcome = get_db().run(orders_db.claim_order, instance_serial=g.instance["instance_serial"],
                           order_id=order_id, nonce=body["nonce"], token=body.get("token"),
                           now=now_us())
    if outcome.status == Status.UNKNOWN:
        raise TalerError(ErrorCode.MERCHANT_POST_ORDERS_ID_CLAIM_NOT_FOUND, order_id)
    if outcome.status == Status.CLAIMED:
        raise TalerError(ErrorCode.MERCHANT_POST_ORDERS_ID_CLAIM_ALREADY_CLAIMED, order_id)
    return {"contract_terms": outcome.contract_terms,
            "sig": contract.sign(outcome.private_key, outcome.contract_terms)}

