"""Webhooks: ``[/instances/$I]/private/webhooks[/$WEBHOOK_ID]``, and the record of
a webhook's deliveries (``.../deliveries``, an extension)."""
from flask import Blueprint, g

from .. import ids
from ..backenddb import webhooks as webhooks_db
from ..backenddb.outcome import Status
from ..db import get_db
from ..errors import ErrorCode, TalerError
from ..schemas.webhooks import (DeliveryListSchema, DeliveryQuerySchema, WebhookAddSchema,
                                WebhookDetailsSchema, WebhookPatchSchema,
                                WebhookSummarySchema)
from .common import endpoint, known_id

bp = Blueprint("webhooks", __name__)

E = ErrorCode


#: How a webhook operation's status maps onto an error.
_ERRORS = {Status.UNKNOWN: E.MERCHANT_GENERIC_WEBHOOK_UNKNOWN,
           Status.CONFLICT: E.MERCHANT_PRIVATE_POST_WEBHOOKS_CONFLICT_WEBHOOK_EXISTS}


def fail(status: Status, webhook_id: str):
    """Raise the Taler error of a failed webhook operation."""
    raise TalerError(_ERRORS[status], webhook_id)


def known_webhook_id(webhook_id: str) -> str:
    return known_id(webhook_id, ids.WEBHOOK_ID, E.MERCHANT_GENERIC_WEBHOOK_UNKNOWN)


@bp.get("/private/webhooks")
@endpoint(permission="webhooks-read", response=WebhookSummarySchema)
def private_get_webhooks():
    """List the instance's webhooks: id and event type."""
    return {"webhooks": get_db().run(webhooks_db.list_webhooks,
                                     g.instance["instance_serial"])}


@bp.post("/private/webhooks")
@endpoint(permission="webhooks-write", body=WebhookAddSchema, status=204,
          errors=(E.MERCHANT_PRIVATE_POST_WEBHOOKS_CONFLICT_WEBHOOK_EXISTS,))
def private_post_webhooks(body):
    """Create a webhook; the same id with the same details again changes nothing."""
    outcome = get_db().run(webhooks_db.insert_webhook, g.instance["instance_serial"], body)
    if not outcome.ok:
        fail(outcome.status, body["webhook_id"])


@bp.get("/private/webhooks/<webhook_id>")
@endpoint(permission="webhooks-read", response=WebhookDetailsSchema,
          errors=(E.MERCHANT_GENERIC_WEBHOOK_UNKNOWN,))
def private_get_webhooks_id(webhook_id):
    """Show a webhook."""
    known_webhook_id(webhook_id)
    row = get_db().run(webhooks_db.lookup_webhook, g.instance["instance_serial"], webhook_id)
    if row is None:
        fail(Status.UNKNOWN, webhook_id)
    return {k: v for k, v in row.items() if v is not None and k != "webhook_serial"}


@bp.patch("/private/webhooks/<webhook_id>")
@endpoint(permission="webhooks-write", body=WebhookPatchSchema, status=204,
          errors=(E.MERCHANT_GENERIC_WEBHOOK_UNKNOWN,))
def private_patch_webhooks_id(webhook_id, body):
    """Replace a webhook's details (templates not sent are removed)."""
    known_webhook_id(webhook_id)
    outcome = get_db().run(webhooks_db.update_webhook, g.instance["instance_serial"],
                           webhook_id, body)
    if not outcome.ok:
        fail(outcome.status, webhook_id)


@bp.delete("/private/webhooks/<webhook_id>")
@endpoint(permission="webhooks-write", status=204,
          errors=(E.MERCHANT_GENERIC_WEBHOOK_UNKNOWN,))
def private_delete_webhooks_id(webhook_id):
    """Delete a webhook; its events not delivered yet are dropped."""
    known_webhook_id(webhook_id)
    outcome = get_db().run(webhooks_db.delete_webhook, g.instance["instance_serial"],
                           webhook_id)
    if not outcome.ok:
        fail(outcome.status, webhook_id)


@bp.get("/private/webhooks/<webhook_id>/deliveries")
@endpoint(permission="webhooks-read", query=DeliveryQuerySchema, response=DeliveryListSchema,
          errors=(E.MERCHANT_GENERIC_WEBHOOK_UNKNOWN,))
def private_get_webhooks_id_deliveries(webhook_id, args):
    """The webhook's deliveries, newest first, each with every attempt's outcome."""
    known_webhook_id(webhook_id)
    rows = get_db().run(webhooks_db.list_deliveries, g.instance["instance_serial"],
                        webhook_id, args["limit"], args.get("offset"))
    if rows is None:
        fail(Status.UNKNOWN, webhook_id)
    return {"deliveries": [_present(dict(row, attempts=[_present(a) for a in row["attempts"]]))
                           for row in rows]}


def _present(row: dict) -> dict:
    """Without the fields that do not apply (a time not reached, a status not got)."""
    return {k: v for k, v in row.items() if v is not None}
