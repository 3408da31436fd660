"""Schemas of instances: creation, reconfiguration, authentication, details, listings."""
from marshmallow import ValidationError, fields, post_load, validate, validates, validates_schema

from .. import ids
from ..timeutil import FOREVER
from .common import (BaseSchema, IdShape, JsonObject, RelativeTime, StrictBoolean, StrictInteger,
                     Text, list_answer)

TOKEN_PREFIX = "secret-token:"
ROUNDING_INTERVALS = ("NONE", "SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH", "QUARTER",
                      "YEAR")

#: Other Taler instance fields: accepted, stored as sent and returned.
EXTRA_FIELDS = ("address", "jurisdiction", "use_stefan", "email", "phone_number", "website",
                "logo")


class FiniteRelativeTime(RelativeTime):
    """A RelativeTime that may not be ``"forever"`` (the documentation's rule for the
    refund and wire-transfer defaults)."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if value >= FOREVER:
            raise ValidationError('"forever" is not allowed here')
        return value


class AuthSchema(BaseSchema):
    """``InstanceAuthConfigurationMessage``: ``{"method": "token", "password"}``, the
    legacy ``{"method": "token", "token": "secret-token:..."}``, or ``{"method":
    "external"}``.  Loads as ``{"method", "password"}`` (password None for external)."""

    method = fields.String(required=True, validate=validate.OneOf(["token", "external"]))
    password = Text(validate=validate.Length(min=1, max=1024))
    token = Text(validate=validate.Length(min=len(TOKEN_PREFIX) + 1,
                                          max=len(TOKEN_PREFIX) + 1024))

    @validates("token")
    def _prefixed(self, value, **kwargs):
        if not value.startswith(TOKEN_PREFIX):
            raise ValidationError(f'must begin with "{TOKEN_PREFIX}"')

    @validates_schema
    def _credentials(self, data, **kwargs):
        if data.get("method") == "token" and "password" not in data and "token" not in data:
            raise ValidationError("Missing data for required field.", "password")

    @post_load
    def _as_password(self, data, **kwargs):
        if data["method"] == "external":
            return {"method": "external", "password": None}
        # The legacy form's secret is the password that clients then present as
        # "Bearer secret-token:<password>" (and Basic accepts it too).
        password = data.get("password") or data["token"][len(TOKEN_PREFIX):]
        return {"method": "token", "password": password}


class InstanceSettingsSchema(BaseSchema):
    """Fields an instance can be created or reconfigured with."""

    name = Text(validate=validate.Length(min=1, max=1024))
    default_pay_delay = RelativeTime()
    default_refund_delay = FiniteRelativeTime()
    default_wire_transfer_delay = FiniteRelativeTime()
    default_wire_transfer_rounding_interval = fields.String(
        validate=validate.OneOf(ROUNDING_INTERVALS))
    max_lock_duration = RelativeTime()
    max_active_locks = StrictInteger(validate=validate.Range(min=0, max=2**62))
    address = JsonObject()
    jurisdiction = JsonObject()
    use_stefan = StrictBoolean()
    email = Text(validate=validate.Length(max=1024))
    phone_number = Text(validate=validate.Length(max=128))
    website = Text(validate=validate.Length(max=1024))
    logo = Text(validate=validate.Length(max=1024 * 1024))


class InstanceConfigurationSchema(InstanceSettingsSchema):
    """``POST /management/instances``."""

    id = fields.String(required=True, validate=IdShape(
        ids.INSTANCE_ID, "is 2 to 128 of A-Za-z0-9_.@- and starts with a letter or digit"))
    name = Text(required=True, validate=validate.Length(min=1, max=1024))
    auth = fields.Nested(AuthSchema, required=True)


class InstanceReconfigurationSchema(InstanceSettingsSchema):
    """``PATCH /management/instances/$ID`` and ``PATCH /private``: absent fields stay."""

    # A new cap, or -1 to lift it (null, like every null, means "unchanged").
    max_active_locks = StrictInteger(validate=validate.Range(min=-1, max=2**62))

    @post_load
    def _lift_cap(self, data, **kwargs):
        if data.get("max_active_locks") == -1:
            data["max_active_locks"] = None
        return data


class InstanceDetailsSchema(BaseSchema):
    """``QueryInstancesResponse``, with the lock extensions."""

    name = fields.String()
    id = fields.String()
    merchant_pub = fields.String()
    auth = fields.Dict()
    email = fields.String()
    email_validated = fields.Boolean()
    phone_number = fields.String()
    phone_validated = fields.Boolean()
    website = fields.String()
    logo = fields.String()
    address = fields.Dict()
    jurisdiction = fields.Dict()
    use_stefan = fields.Boolean()
    default_pay_delay = RelativeTime()
    default_refund_delay = RelativeTime()
    default_wire_transfer_delay = RelativeTime()
    default_wire_transfer_rounding_interval = fields.String()
    max_lock_duration = RelativeTime()
    max_active_locks = fields.Integer(allow_none=True)


class InstanceListEntrySchema(BaseSchema):
    id = fields.String()
    name = fields.String()
    merchant_pub = fields.String()
    deleted = fields.Boolean()
    payment_targets = fields.List(fields.String())
    website = fields.String()
    logo = fields.String()


InstanceListSchema = list_answer("InstanceListSchema", "instances", InstanceListEntrySchema)
