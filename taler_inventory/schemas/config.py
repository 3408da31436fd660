"""Schema of ``GET /config``."""
from marshmallow import fields

from .common import BaseSchema


class CurrencySpecificationSchema(BaseSchema):
    name = fields.String()
    currency = fields.String()
    num_fractional_input_digits = fields.Integer()
    num_fractional_normal_digits = fields.Integer()
    num_fractional_trailing_zero_digits = fields.Integer()
    alt_unit_names = fields.Dict(keys=fields.String(), values=fields.String())


class ConfigSchema(BaseSchema):
    name = fields.String()
    version = fields.String()
    implementation = fields.String()
    currency = fields.String()
    currencies = fields.Dict(keys=fields.String(), values=fields.Nested(CurrencySpecificationSchema))
    exchanges = fields.List(fields.Dict())
