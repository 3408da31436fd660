"""Schemas of instances: creation, reconfiguration, details and listings."""
from marshmallow import fields, post_load, validate, validates

from .common import (BaseSchema, JsonObject, RelativeTime, StrictBoolean, StrictInteger,
                     Text, check_json)

INSTANCE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@-]+$"

#: Other Taler instance fields: accepted, stored as sent and returned.
EXTRA_FIELDS = ("address", "jurisdiction", "use_stefan", "default_wire_transfer_delay",
                "email", "phone_number", "website", "logo")


class AuthSchema(BaseSchema):
    method = fields.String(required=True, validate=validate.OneOf(["token"]))
    password = Text(required=True, validate=validate.Length(min=1, max=1024))


class InstanceSettingsSchema(BaseSchema):
    """Fields an instance can be created or reconfigured with."""

    name = Text(validate=validate.Length(min=1, max=1024))
    default_pay_delay = RelativeTime()
    max_lock_duration = RelativeTime()
    max_active_locks = StrictInteger(validate=validate.Range(min=0, max=2**62))
    address = JsonObject()
    jurisdiction = JsonObject()
    use_stefan = StrictBoolean()
    default_wire_transfer_delay = fields.Raw()
    email = Text(validate=validate.Length(max=1024))
    phone_number = Text(validate=validate.Length(max=128))
    website = Text(validate=validate.Length(max=1024))
    logo = Text(validate=validate.Length(max=1024 * 1024))

    @validates("default_wire_transfer_delay")
    def _relative(self, value, **kwargs):
        RelativeTime().deserialize(value)
        check_json(value)  # stored as sent: every string must be storable


class InstanceConfigurationSchema(InstanceSettingsSchema):
    """``POST /management/instances``."""

    id = fields.String(required=True, validate=[validate.Regexp(INSTANCE_ID_PATTERN),
                                                validate.Length(max=128)])
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


class AuthChangeSchema(BaseSchema):
    """``POST /private/auth``."""

    method = fields.String(required=True, validate=validate.OneOf(["token"]))
    password = Text(required=True, validate=validate.Length(min=1, max=1024))


class InstanceDetailsSchema(BaseSchema):
    name = fields.String()
    id = fields.String()
    auth = fields.Dict()
    default_pay_delay = RelativeTime()
    max_lock_duration = RelativeTime()
    max_active_locks = fields.Integer(allow_none=True)
    address = fields.Dict()
    jurisdiction = fields.Dict()
    use_stefan = fields.Boolean()
    default_wire_transfer_delay = fields.Raw()
    email = fields.String()
    phone_number = fields.String()
    website = fields.String()
    logo = fields.String()


class InstanceListEntrySchema(BaseSchema):
    id = fields.String()
    name = fields.String()
    deleted = fields.Boolean()
    payment_targets = fields.List(fields.String())
    website = fields.String()
    logo = fields.String()


class InstanceListSchema(BaseSchema):
    instances = fields.List(fields.Nested(InstanceListEntrySchema))
