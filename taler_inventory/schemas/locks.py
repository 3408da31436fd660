"""Schemas of cart locks: the Taler lock request and the lock listing."""
from decimal import Decimal

from marshmallow import ValidationError, fields, post_load, validate

from .. import ids
from .common import (BaseSchema, DecimalQuantity, IdShape, LegacyQuantity, PageQuerySchema,
                     RelativeTime, Text, Timestamp, list_answer, merge_quantity)

LOCK_UUID = IdShape(ids.LOCK_UUID, "lock_uuid is 1 to 128 visible ASCII characters")


class LockRequestSchema(BaseSchema):
    """``POST /private/products/$ID/lock``; no quantity means 1."""

    lock_uuid = fields.String(required=True, validate=LOCK_UUID)
    duration = RelativeTime(required=True)
    quantity = LegacyQuantity()
    unit_quantity = DecimalQuantity()

    @post_load
    def _quantity(self, data, **kwargs):
        try:
            data["quantity"] = merge_quantity(data, "unit_quantity", "quantity",
                                              default=Decimal(1))
        except ValidationError as err:
            raise ValidationError(err.messages, "unit_quantity") from None
        return data


class LockListQuerySchema(PageQuerySchema):
    lock_uuid = fields.String(validate=LOCK_UUID)
    # A filter: a product id that cannot exist (one with a "/") just matches nothing.
    product_id = Text(validate=validate.Length(min=1, max=128))


class LockSchema(BaseSchema):
    lock_uuid = fields.String()
    product_id = fields.String()
    unit_quantity = fields.String()
    quantity = fields.Integer()
    expiration = Timestamp()
    remaining = RelativeTime()
    lock_serial = fields.Integer()


LockListSchema = list_answer("LockListSchema", "locks", LockSchema)
