"""Schemas of webhooks (``[/instances/$I]/private/webhooks``)."""
from urllib.parse import urlsplit

from marshmallow import ValidationError, fields, validate, validates_schema

from .. import ids
from ..webhook_templates import EVENT_TYPES, check_template
from .common import BaseSchema, IdShape, NewestFirstPageQuerySchema, Text, Timestamp, list_answer

WEBHOOK_ID = IdShape(ids.WEBHOOK_ID, "must be 1 to 128 characters, without '/'")
#: The methods a webhook may send with.
HTTP_METHODS = ("POST", "PUT", "PATCH", "GET", "DELETE")
TEMPLATE = validate.Length(max=64 * 1024)


def check_url(value: str):
    """An absolute http or https URL with a host (the only places a webhook goes)."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise ValidationError("is not a URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValidationError("must be an http:// or https:// URL")
    if not parts.hostname or any(c.isspace() or ord(c) < 32 for c in value):
        raise ValidationError("must be an absolute URL with a host and no spaces")


class WebhookPatchSchema(BaseSchema):
    """``PATCH /private/webhooks/$ID``: the webhook's new details, replacing the old."""

    event_type = Text(required=True, validate=validate.OneOf(tuple(EVENT_TYPES)))
    url = Text(required=True, validate=[validate.Length(min=1, max=2048), check_url])
    http_method = Text(required=True, validate=validate.OneOf(HTTP_METHODS))
    header_template = Text(validate=TEMPLATE)
    body_template = Text(validate=TEMPLATE)

    @validates_schema
    def templates_fit_the_event(self, data, **kwargs):
        for name in ("header_template", "body_template"):
            if data.get(name) and data.get("event_type") in EVENT_TYPES:
                problem = check_template(data[name], data["event_type"])
                if problem is not None:
                    raise ValidationError(problem, name)


class WebhookAddSchema(WebhookPatchSchema):
    """``POST /private/webhooks``."""

    webhook_id = Text(required=True, validate=WEBHOOK_ID)


class WebhookEntrySchema(BaseSchema):
    webhook_id = fields.String()
    event_type = fields.String()


WebhookSummarySchema = list_answer("WebhookSummarySchema", "webhooks", WebhookEntrySchema,
                                   "``GET /private/webhooks``.")


class WebhookDetailsSchema(BaseSchema):
    """``GET /private/webhooks/$ID``."""

    event_type = fields.String()
    url = fields.String()
    http_method = fields.String()
    header_template = fields.String()
    body_template = fields.String()


class DeliveryQuerySchema(NewestFirstPageQuerySchema):
    """``GET /private/webhooks/$ID/deliveries`` (extension): newest first by default."""


class AttemptSchema(BaseSchema):
    attempt = fields.Integer()
    time = Timestamp()
    duration_us = fields.Integer()
    http_status = fields.Integer()
    error = fields.String()


class DeliverySchema(BaseSchema):
    delivery_serial = fields.Integer()
    event_type = fields.String()
    event_time = Timestamp()
    delivered = fields.Boolean()
    delivery_time = Timestamp()
    next_attempt = Timestamp()
    attempt_count = fields.Integer()
    attempts = fields.List(fields.Nested(AttemptSchema))


DeliveryListSchema = list_answer("DeliveryListSchema", "deliveries", DeliverySchema)
