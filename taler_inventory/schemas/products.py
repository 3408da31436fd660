"""Schemas of products: creation, patch, details, listings and the POS catalogue.

Requests load into plain dicts of exact values: quantities are Decimals (None is
unlimited stock), prices :class:`~taler_inventory.amount.Amount` lists, times
microseconds.  Each ``unit_X`` field is merged with its legacy twin ``X`` into the
key ``X``.  Responses are built by :func:`product_detail` from a database row and
always carry both twins.
"""
from decimal import Decimal

from marshmallow import ValidationError, fields, post_load, validate

from .. import ids
from .. import quantity as q
from .. import stock
from ..amount import Amount
from ..stock import QUANTITIES
from .common import (PRECISION_LEVEL, ROW_SERIAL, SERIAL, AmountField, BaseSchema, DecimalQuantity,
                     IdShape, JsonObject, LegacyQuantity, PageQuerySchema, QueryInteger,
                     StrictBoolean, StrictInteger, Text, Timestamp, list_answer, merge_quantity)

PRODUCT_ID = IdShape(ids.PRODUCT_ID, "must be 1 to 128 characters, without '/'")

class TaxSchema(BaseSchema):
    name = Text(required=True, validate=validate.Length(max=1024))
    tax = AmountField(required=True)


class ProductFieldsSchema(BaseSchema):
    """Every field a product can be created or patched with."""

    product_name = Text(validate=validate.Length(min=1, max=1024))
    description = Text(validate=validate.Length(max=64 * 1024))
    description_i18n = JsonObject(keys=Text(validate=validate.Length(max=64)),
                                  values=Text(validate=validate.Length(max=64 * 1024)))
    unit = Text(validate=validate.Length(max=128))
    unit_allow_fraction = StrictBoolean()
    unit_precision_level = StrictInteger(validate=PRECISION_LEVEL)
    unit_price = fields.List(AmountField(), validate=validate.Length(max=32))
    price = AmountField()
    image = Text()
    taxes = fields.List(fields.Nested(TaxSchema), validate=validate.Length(max=64))
    address = JsonObject()
    categories = fields.List(StrictInteger(validate=ROW_SERIAL),
                             validate=validate.Length(max=1024))
    next_restock = Timestamp()
    minimum_age = StrictInteger(validate=validate.Range(min=0, max=2**31 - 1))
    # 0 means "none" (JSON null means "not sent"), so a patch can clear them.
    product_group_id = StrictInteger(validate=SERIAL)
    money_pot_id = StrictInteger(validate=SERIAL)
    price_is_net = StrictBoolean()
    unit_total_stock = DecimalQuantity(allow_unlimited=True)
    total_stock = LegacyQuantity(allow_unlimited=True)
    unit_total_sold = DecimalQuantity()
    total_sold = LegacyQuantity()
    unit_total_lost = DecimalQuantity()
    total_lost = LegacyQuantity()
    unit_minimum_quantity = DecimalQuantity()
    minimum_quantity = LegacyQuantity()

    @post_load
    def _load(self, data, **kwargs):
        return self.complete(self.normalize(data))

    def complete(self, data: dict) -> dict:
        """Apply the defaults of the request kind (none for a patch)."""
        return data

    @staticmethod
    def normalize(data: dict) -> dict:
        for legacy, unlimited in QUANTITIES.items():
            sent = "unit_" + legacy in data or legacy in data
            value = merge_quantity(data, "unit_" + legacy, legacy, allow_unlimited=unlimited)
            if sent:
                data[legacy] = value
        if "unit_price" in data:
            data["unit_price"] = _merge_prices(data["unit_price"], data.pop("price", None))
        elif "price" in data:
            data["base_price"] = data.pop("price")
        if "categories" in data:
            data["categories"] = sorted(set(data["categories"]))
        if "taxes" in data:
            data["taxes"] = [{"name": t["name"], "tax": str(t["tax"])} for t in data["taxes"]]
        for key in ("product_group_id", "money_pot_id"):
            if data.get(key) == 0:
                data[key] = None
        return data


def _merge_prices(unit_price: list, price: Amount | None) -> list[Amount]:
    """The price list ``unit_price``; the legacy ``price``, if sent too, must be its first."""
    if not unit_price:
        raise ValidationError("must list at least the base price", "unit_price")
    if len({a.currency for a in unit_price}) != len(unit_price):
        raise ValidationError("must not list a currency twice", "unit_price")
    if price is not None and price != unit_price[0]:
        raise ValidationError("unit_price and price disagree (price is the first unit_price)",
                              "unit_price")
    return unit_price


class ProductAddDetailSchema(ProductFieldsSchema):
    """``POST /private/products``: description, unit, a price and the stock are required."""

    product_id = Text(required=True, validate=PRODUCT_ID)
    description = Text(required=True, validate=validate.Length(max=64 * 1024))
    unit = Text(required=True, validate=validate.Length(max=128))

    def complete(self, data: dict) -> dict:
        if "base_price" in data:
            data["unit_price"] = [data.pop("base_price")]
        if "unit_price" not in data:
            raise ValidationError("Missing data for required field.", "unit_price")
        if "total_stock" not in data:
            raise ValidationError("Missing data for required field.", "unit_total_stock")
        data.setdefault("product_name", data["product_id"])
        data.setdefault("description_i18n", {})
        data.setdefault("image", "")
        data.setdefault("taxes", [])
        data.setdefault("address", {})
        data.setdefault("categories", [])
        data.setdefault("next_restock", None)
        data.setdefault("minimum_age", None)
        data.setdefault("minimum_quantity", Decimal(0))
        data.setdefault("product_group_id", None)
        data.setdefault("money_pot_id", None)
        data.setdefault("price_is_net", False)
        # Fractions and precision default to the unit's (resolve_precision), which
        # the database knows.
        return data


class ProductPatchDetailSchema(ProductFieldsSchema):
    """``PATCH /private/products/$ID``: absent fields stay as they are.

    A legacy ``price`` without ``unit_price`` (key ``base_price``) replaces the base
    price only: the prices in other currencies stay.  Like Taler's ProductPatchDetail
    it has no ``total_sold``: sales are recorded by orders, so a client that sends
    the counter back (as a sync does) is ignored rather than refused.
    """

    class Meta(ProductFieldsSchema.Meta):
        exclude = ("unit_total_sold", "total_sold")


class ProductDetailSchema(BaseSchema):
    """A product as ``GET /private/products/$ID`` shows it (with both twins)."""

    product_name = fields.String()
    description = fields.String()
    description_i18n = fields.Dict()
    unit = fields.String()
    unit_allow_fraction = fields.Boolean()
    unit_precision_level = fields.Integer()
    unit_price = fields.List(fields.String())
    price = fields.String()
    image = fields.String()
    taxes = fields.List(fields.Dict())
    address = fields.Dict()
    categories = fields.List(fields.Integer())
    next_restock = Timestamp()
    minimum_age = fields.Integer()
    product_group_id = fields.Integer()
    money_pot_id = fields.Integer()
    price_is_net = fields.Boolean()
    unit_total_stock = DecimalQuantity(allow_unlimited=True,
                                       metadata={"description": '"-1": unlimited'})
    total_stock = fields.Integer()
    unit_total_sold = DecimalQuantity()
    total_sold = fields.Integer()
    unit_total_lost = DecimalQuantity()
    total_lost = fields.Integer()
    unit_total_locked = DecimalQuantity(metadata={"description": "extension"})
    total_locked = fields.Integer(metadata={"description": "extension"})
    unit_total_available = DecimalQuantity(allow_unlimited=True, metadata={
        "description": 'extension; "-1" for an unlimited product'})
    total_available = fields.Integer(metadata={"description": "extension"})
    unit_minimum_quantity = DecimalQuantity(metadata={"description": "extension"})
    minimum_quantity = fields.Integer(metadata={"description": "extension"})


class PosProductSchema(ProductDetailSchema):
    product_id = fields.String()
    product_serial = fields.Integer()


def product_detail(row, *, with_id=False) -> dict:
    """The details of a product from its database row (see backenddb.products)."""
    total = row["total_stock"]
    locked = row["locked"]
    available = stock.available(total, row["total_sold"], row["total_lost"], locked)
    prices = row["unit_price"]
    detail = {
        "product_name": row["product_name"],
        "description": row["description"],
        "description_i18n": row["description_i18n"],
        "unit": row["unit"],
        "unit_allow_fraction": row["unit_allow_fraction"],
        "unit_precision_level": row["unit_precision_level"],
        "unit_price": prices,
        "price": prices[0] if prices else None,
        "image": row["image"],
        "taxes": row["taxes"],
        "address": row["address"],
        "categories": row["categories"],
        "price_is_net": row["price_is_net"],
    }
    for key, column in (("product_group_id", "product_group_serial"),
                        ("money_pot_id", "money_pot_serial")):
        if row[column] is not None:
            detail[key] = row[column]
    if row["next_restock"] is not None:
        detail["next_restock"] = row["next_restock"]
    if row["minimum_age"] is not None:
        detail["minimum_age"] = row["minimum_age"]
    for name, value in (("total_stock", total), ("total_sold", row["total_sold"]),
                        ("total_lost", row["total_lost"]), ("total_locked", locked),
                        ("total_available", available),
                        ("minimum_quantity", row["unit_minimum_quantity"])):
        detail["unit_" + name] = value
        detail[name] = q.legacy(value)
    if with_id:
        detail["product_id"] = row["product_id"]
        detail["product_serial"] = row["product_serial"]
    return detail


class ProductListQuerySchema(PageQuerySchema):
    """``GET /private/products``: a page, optionally filtered (all filters must match).

    The text filters match case-insensitively anywhere in the name, the description
    or the name of one of the product's categories.
    """

    category_filter = Text(validate=validate.Length(min=1, max=256))
    name_filter = Text(validate=validate.Length(min=1, max=256))
    description_filter = Text(validate=validate.Length(min=1, max=256))
    product_group_serial = QueryInteger(validate=ROW_SERIAL)


class ProductListEntrySchema(BaseSchema):
    product_id = fields.String()
    product_serial = fields.Integer()


ProductListSchema = list_answer("ProductListSchema", "products", ProductListEntrySchema)


class ProductDeleteQuerySchema(BaseSchema):
    """``?force=yes`` deletes a held product; any other value is the default (refuse)."""

    force = fields.String(load_default="no")


class PosCategorySchema(BaseSchema):
    id = fields.Integer()
    category_id = fields.Integer()
    name = fields.String()
    name_i18n = fields.Dict()


class PosSchema(BaseSchema):
    """``GET /private/pos``: the whole catalogue in one answer."""

    products = fields.List(fields.Nested(PosProductSchema))
    categories = fields.List(fields.Nested(PosCategorySchema))
