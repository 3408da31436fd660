"""Schemas of cart locks: the Taler lock request, the 410 body, the lock listing."""
from decimal import Decimal

from marshmallow import ValidationError, fields, post_load, validate

from .common import (BaseSchema, DecimalQuantity, LegacyQuantity, PageQuerySchema, RelativeTime,
                     Timestamp, list_answer, merge_quantity)


def _no_nul(value: str):
    if "\x00" in value:
        raise ValidationError("must not contain NUL characters")


LOCK_UUID = validate.Regexp(r"^[\x21-\x7e]{1,128}$",
                            error="lock_uuid is 1 to 128 visible ASCII characters")


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


class OutOfStockSchema(BaseSchema):
    """The 410 body (code 2670) of a lock or order line that does not fit."""

    code = fields.Integer()
    hint = fields.String()
    product_id = fields.String()
    requested_quantity = fields.Integer()
    unit_requested_quantity = fields.String()
    available_quantity = fields.Integer()
    unit_available_quantity = fields.String()
    restock_expected = Timestamp()
    next_lock_expiration = Timestamp()


class LockListQuerySchema(PageQuerySchema):
    lock_uuid = fields.String(validate=LOCK_UUID)
    product_id = fields.String(validate=[validate.Length(min=1, max=128), _no_nul])


class LockSchema(BaseSchema):
    lock_uuid = fields.String()
    product_id = fields.String()
    unit_quantity = fields.String()
    quantity = fields.Integer()
    expiration = Timestamp()
    remaining = RelativeTime()
    lock_serial = fields.Integer()


LockListSchema = list_answer("LockListSchema", "locks", LockSchema)
