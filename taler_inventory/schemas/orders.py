"""Schemas of orders: the Taler order request, status, listing and their answers.

The ``order`` object is the start of the contract terms: its known fields are
checked, every other field is kept as sent.  An inventory line's ``unit_quantity``
and legacy ``quantity`` merge into the key ``quantity`` (a Decimal; default 1).
"""
from decimal import Decimal

from marshmallow import (INCLUDE, ValidationError, fields, post_load, validate,
                         validates_schema)

from .. import ids, talercrypto
from ..timeutil import FOREVER, US_PER_S
from .common import (PAGE_ROWS, SERIAL, AmountField, BaseSchema, DecimalQuantity, IdShape,
                     JsonObject, LegacyQuantity, QueryInteger, RelativeTime, StrictBoolean,
                     StrictInteger, Text, Timestamp, check_json, list_answer, merge_quantity)
from .locks import LOCK_UUID
from .products import PRODUCT_ID

ORDER_ID = IdShape(ids.ORDER_ID, "order_id is 1 to 128 of A-Z a-z 0-9 . : _ -")
MAX_LINES = 1000
MAX_LOCK_UUIDS = 1000


MAX_CHOICES = 64


class OrderChoiceSchema(BaseSchema):
    """A choice of a version 1 order: what the customer pays for it (the token
    ``inputs`` and ``outputs`` are kept as sent)."""

    class Meta:
        unknown = INCLUDE

    amount = AmountField(required=True)
    max_fee = AmountField()
    description = Text()
    description_i18n = fields.Dict(keys=Text(), values=Text())
    inputs = fields.List(JsonObject(), validate=validate.Length(max=MAX_CHOICES))
    outputs = fields.List(JsonObject(), validate=validate.Length(max=MAX_CHOICES))


class OrderSchema(BaseSchema):
    """The ``order`` of a request: the known Taler fields, checked; others kept.

    Version 0 (the default) has one ``amount``; version 1 has ``choices``, each
    with its own ``amount`` and ``max_fee``, and none at the top."""

    class Meta:
        unknown = INCLUDE

    order_id = fields.String(validate=ORDER_ID)
    summary = Text(required=True)
    summary_i18n = fields.Dict(keys=Text(), values=Text())
    amount = AmountField()
    max_fee = AmountField()
    pay_deadline = Timestamp()
    refund_deadline = Timestamp()
    wire_transfer_deadline = Timestamp()
    timestamp = Timestamp()
    delivery_date = Timestamp()
    auto_refund = RelativeTime()
    products = fields.List(JsonObject())
    fulfillment_url = Text()
    fulfillment_message = Text()
    public_reorder_url = Text()
    minimum_age = StrictInteger(validate=validate.Range(min=0, max=2**31 - 1))
    extra = JsonObject()
    version = StrictInteger(validate=validate.OneOf((0, 1), error="must be 0 or 1"))
    choices = fields.List(fields.Nested(OrderChoiceSchema),
                          validate=validate.Length(min=1, max=MAX_CHOICES))
    token_families = JsonObject()

    @validates_schema
    def _version(self, data, **kwargs):
        if data.get("version", 0) == 1:
            if "choices" not in data:
                raise ValidationError("Missing data for required field.", "choices")
            for field in ("amount", "max_fee"):
                if field in data:
                    raise ValidationError("a version 1 order has it in each choice",
                                          field)
        else:
            for field in ("choices", "token_families"):
                if field in data:
                    raise ValidationError("only a version 1 order has it", field)

    @validates_schema(pass_original=True)
    def _storable(self, data, original, **kwargs):
        for key, value in original.items():
            try:
                check_json(key)
                check_json(value)
            except ValidationError as err:
                raise ValidationError(err.messages, str(key)) from None


class InventoryProductSchema(BaseSchema):
    """A line ``{"product_id", "quantity"?, "unit_quantity"?}``; no quantity means 1."""

    product_id = Text(required=True, validate=PRODUCT_ID)
    quantity = LegacyQuantity()
    unit_quantity = DecimalQuantity()

    @post_load
    def _quantity(self, data, **kwargs):
        try:
            quantity = merge_quantity(data, "unit_quantity", "quantity", default=Decimal(1))
        except ValidationError as err:
            raise ValidationError(err.messages, "unit_quantity") from None
        if quantity <= 0:
            raise ValidationError("an order line needs a positive quantity", "unit_quantity")
        data["quantity"] = quantity
        return data


class PostOrderRequestSchema(BaseSchema):
    """``POST /private/orders``."""

    order = fields.Nested(OrderSchema, required=True)
    inventory_products = fields.List(fields.Nested(InventoryProductSchema), load_default=list,
                                     validate=validate.Length(max=MAX_LINES))
    lock_uuids = fields.List(fields.String(validate=LOCK_UUID), load_default=list,
                             validate=validate.Length(max=MAX_LOCK_UUIDS))
    create_token = StrictBoolean(load_default=True)
    refund_delay = RelativeTime()
    session_id = Text(validate=validate.Length(min=1, max=256))

    @post_load(pass_original=True)
    def _keep_order(self, data, original, **kwargs):
        # The contract terms start from the order exactly as sent.
        data["order_raw"] = original["order"]
        return data


class PostOrderResponseSchema(BaseSchema):
    order_id = fields.String()
    token = fields.String()


class InventoryLineSchema(BaseSchema):
    """An inventory line of an order, both quantity twins."""

    product_id = fields.String()
    quantity = fields.Integer()
    unit_quantity = fields.String()


class OrderStatusSchema(BaseSchema):
    """``GET /private/orders/$ID``: Taler's unpaid / paid status, plus the inventory."""

    order_status = fields.String()
    order_id = fields.String()
    creation_time = Timestamp()
    pay_deadline = Timestamp()
    summary = fields.String()
    total_amount = fields.String()
    contract_terms = fields.Dict()
    inventory_products = fields.List(fields.Nested(InventoryLineSchema))
    taler_pay_uri = fields.String()
    order_status_url = fields.String()
    # paid only
    last_payment = Timestamp()
    deposit_total = fields.String()
    refunded = fields.Boolean()
    refund_pending = fields.Boolean()
    refund_amount = fields.String()
    wired = fields.Boolean()
    exchange_code = fields.Integer()
    exchange_http_status = fields.Integer()
    wire_details = fields.List(fields.Dict())
    wire_reports = fields.List(fields.Dict())
    refund_details = fields.List(fields.Dict())
    # unpaid and claimed
    already_paid_order_id = fields.String()
    already_paid_fulfillment_url = fields.String()


class YesNoAll(fields.String):
    """A listing filter ``yes`` / ``no`` / ``all`` (any case); loads True / False / None."""

    _VALUES = {"yes": True, "no": False, "all": None}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).lower()
        if text not in self._VALUES:
            raise ValidationError('must be "yes", "no" or "all"')
        return self._VALUES[text]


class QueryRelativeTime(fields.String):
    """A relative time in a query string: microseconds, or ``forever``."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if text == "forever":
            return FOREVER
        if not text.isascii() or not text.isdigit() or len(text) > 18:
            raise ValidationError('must be microseconds (digits) or "forever"')
        return int(text)




class OrderListQuerySchema(BaseSchema):
    """``GET /private/orders``: Taler's filters, paging (``limit``/``offset`` and the
    legacy ``delta``/``start``) and long polling (``timeout_ms``)."""

    paid = YesNoAll(load_default=None)
    refunded = YesNoAll(load_default=None)
    wired = YesNoAll(load_default=None)
    limit = QueryInteger(validate=PAGE_ROWS)
    delta = QueryInteger(validate=PAGE_ROWS)
    offset = QueryInteger(validate=SERIAL)
    start = QueryInteger(validate=SERIAL)
    date_s = QueryInteger(validate=validate.Range(min=0, max=FOREVER // US_PER_S))
    max_age = QueryRelativeTime()
    timeout_ms = QueryInteger(validate=validate.Range(min=0, max=2**53))
    session_id = Text(validate=validate.Length(min=1, max=256))
    fulfillment_url = Text(validate=validate.Length(min=1, max=8192))
    summary_filter = Text(validate=validate.Length(min=1, max=256))

    @post_load
    def _paging(self, data, **kwargs):
        # limit (v12+) wins over the legacy delta; without either, the newest 20.
        limit = data.pop("limit", None)
        delta = data.pop("delta", None)
        data["limit"] = limit if limit is not None else delta if delta is not None else -20
        offset = data.pop("offset", None)
        start = data.pop("start", None)
        data["offset"] = offset if offset is not None else start
        return data


class RefundRequestSchema(BaseSchema):
    """``POST /private/orders/$ID/refund``: the new refunded total and why."""

    refund = AmountField(required=True)
    reason = Text(required=True, validate=validate.Length(max=4096))


class RefundResponseSchema(BaseSchema):
    taler_refund_uri = fields.String()
    h_contract = fields.String()


class ForgetRequestSchema(BaseSchema):
    """``PATCH /private/orders/$ID/forget``: JSON paths of forgettable fields."""

    fields_ = fields.List(Text(validate=validate.Length(max=1024)), required=True,
                          data_key="fields", validate=validate.Length(max=1000))


class Base32Key(Text):
    """A 32-byte key (an EdDSA public key, a wallet's nonce) in Crockford base32."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            talercrypto.decode(text, 32)
        except talercrypto.EncodingError as err:
            raise ValidationError(str(err)) from None
        return text.upper()


class ClaimRequestSchema(BaseSchema):
    """``POST /orders/$ID/claim``: the wallet's nonce and the order's claim token."""

    nonce = Base32Key(required=True)
    token = Text(validate=validate.Length(max=256))


class ClaimResponseSchema(BaseSchema):
    contract_terms = fields.Dict()
    sig = fields.String()


class YesNo(fields.String):
    """A flag ``yes`` / ``no`` (any case) in a query string."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).lower()
        if text not in ("yes", "no"):
            raise ValidationError('must be "yes" or "no"')
        return text == "yes"


class PrivateOrderQuerySchema(BaseSchema):
    """``GET /private/orders/$ID``: long polling (``timeout_ms``, ``lp_not_etag``)."""

    session_id = Text(validate=validate.Length(min=1, max=256))
    timeout_ms = QueryInteger(validate=validate.Range(min=0, max=2**53))
    lp_not_etag = Text(validate=validate.Length(min=1, max=128))
    allow_refunded_for_repurchase = YesNo(load_default=False)
    transfer = YesNo(load_default=False)


class PublicOrderQuerySchema(BaseSchema):
    """``GET /orders/$ID``: the customer's credentials and long-polling wish."""

    token = Text(validate=validate.Length(max=256))
    h_contract = Text(validate=validate.Length(max=128))
    session_id = Text(validate=validate.Length(min=1, max=256))
    timeout_ms = QueryInteger(validate=validate.Range(min=0, max=2**53))
    refund = AmountField()
    await_refund_obtained = YesNo(load_default=False)
    allow_refunded_for_repurchase = YesNo(load_default=False)


class OrderListEntrySchema(BaseSchema):
    order_id = fields.String()
    row_id = fields.Integer()
    timestamp = Timestamp()
    amount = fields.String()
    summary = fields.String()
    refundable = fields.Boolean()
    paid = fields.Boolean()
    refund_amount = fields.String()
    pending_refund_amount = fields.String()


OrderListSchema = list_answer("OrderListSchema", "orders", OrderListEntrySchema)
