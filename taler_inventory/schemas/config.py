"""Schema of ``GET /config`` (Taler's ``MerchantVersionResponse``)."""
from marshmallow import fields

from .common import BaseSchema, RelativeTime


class CurrencySpecificationSchema(BaseSchema):
    name = fields.String()
    currency = fields.String()
    num_fractional_input_digits = fields.Integer()
    num_fractional_normal_digits = fields.Integer()
    num_fractional_trailing_zero_digits = fields.Integer()
    alt_unit_names = fields.Dict(keys=fields.String(), values=fields.String())
    common_amounts = fields.List(fields.String())


class ConfigSchema(BaseSchema):
    name = fields.String()
    version = fields.String()
    implementation = fields.String()
    currency = fields.String()
    default_persona = fields.String()
    currencies = fields.Dict(keys=fields.String(),
                             values=fields.Nested(CurrencySpecificationSchema))
    report_generators = fields.Dict(keys=fields.String(), values=fields.String())
    exchanges = fields.List(fields.Dict())
    have_self_provisioning = fields.Boolean()
    have_donau = fields.Boolean()
    mandatory_tan_channels = fields.List(fields.String())
    payment_target_types = fields.String()
    default_pay_delay = RelativeTime()
    default_refund_delay = RelativeTime()
    default_wire_transfer_delay = RelativeTime()
    default_wire_transfer_rounding_interval = fields.String()
