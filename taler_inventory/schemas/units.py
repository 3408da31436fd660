"""Schemas of measurement units: creation, patch, details and listing."""
from marshmallow import fields, post_load, validate

from .. import ids
from .common import (PRECISION_LEVEL, BaseSchema, IdShape, JsonObject, StrictBoolean,
                     StrictInteger, Text, list_answer)

#: A unit is referred to by its short identifier, also in the URL.
UNIT_ID = IdShape(ids.UNIT_ID, "must be 1 to 128 characters, without '/'")
NAME = validate.Length(min=1, max=1024)
I18N = {"keys": Text(validate=validate.Length(max=64)), "values": Text(validate=NAME)}


class UnitPatchRequestSchema(BaseSchema):
    """``PATCH /private/units/$UNIT``: absent fields stay."""

    unit_name_long = Text(validate=NAME)
    unit_name_short = Text(validate=NAME)
    unit_name_long_i18n = JsonObject(**I18N)
    unit_name_short_i18n = JsonObject(**I18N)
    unit_allow_fraction = StrictBoolean()
    unit_precision_level = StrictInteger(validate=PRECISION_LEVEL)
    unit_active = StrictBoolean()


class UnitAddRequestSchema(UnitPatchRequestSchema):
    """``POST /private/units``: a custom unit, with the defaults of the docs."""

    unit = Text(required=True, validate=UNIT_ID)
    unit_name_long = Text(required=True, validate=NAME)
    unit_name_short = Text(required=True, validate=NAME)

    @post_load
    def _defaults(self, data, **kwargs):
        data.setdefault("unit_name_long_i18n", {})
        data.setdefault("unit_name_short_i18n", {})
        data.setdefault("unit_allow_fraction", False)
        data.setdefault("unit_active", True)
        return data


class MerchantUnitSchema(BaseSchema):
    """A unit as ``GET /private/units[/$UNIT]`` shows it."""

    unit_serial = fields.Integer()
    unit = fields.String()
    unit_name_long = fields.String()
    unit_name_short = fields.String()
    unit_name_long_i18n = fields.Dict()
    unit_name_short_i18n = fields.Dict()
    unit_allow_fraction = fields.Boolean()
    unit_precision_level = fields.Integer()
    unit_active = fields.Boolean()
    unit_builtin = fields.Boolean()


UnitListResponseSchema = list_answer("UnitListResponseSchema", "units", MerchantUnitSchema)
