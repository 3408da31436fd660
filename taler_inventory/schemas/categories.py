"""Schemas of product categories."""
from marshmallow import fields, validate

from .common import BaseSchema, JsonObject, Text, list_answer

NAME = validate.Length(min=1, max=1024)


class CategoryCreateSchema(BaseSchema):
    """``POST /private/categories``."""

    name = Text(required=True, validate=NAME)
    name_i18n = JsonObject(keys=Text(validate=validate.Length(max=64)),
                           values=Text(validate=NAME))


class CategoryPatchSchema(CategoryCreateSchema):
    """``PATCH /private/categories/$ID``: absent fields stay."""

    name = Text(validate=NAME)


class CategoryCreatedSchema(BaseSchema):
    category_id = fields.Integer()


class CategoryListEntrySchema(BaseSchema):
    category_id = fields.Integer()
    name = fields.String()
    name_i18n = fields.Dict()
    product_count = fields.Integer()


CategoryListSchema = list_answer("CategoryListSchema", "categories", CategoryListEntrySchema)


class CategoryProductSchema(BaseSchema):
    product_id = fields.String()


class CategoryProductListSchema(BaseSchema):
    """``GET /private/categories/$ID``."""

    name = fields.String()
    name_i18n = fields.Dict()
    products = fields.List(fields.Nested(CategoryProductSchema))
