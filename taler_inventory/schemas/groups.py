"""Schemas of product groups."""
from marshmallow import fields, validate

from .common import BaseSchema, Text, list_answer

NAME = validate.Length(min=1, max=1024)
DESCRIPTION = validate.Length(max=64 * 1024)


class GroupAddRequestSchema(BaseSchema):
    """``POST /private/groups``."""

    group_name = Text(required=True, validate=NAME)
    description = Text(required=True, validate=DESCRIPTION)


class GroupPatchRequestSchema(GroupAddRequestSchema):
    """``PATCH /private/groups/$GROUP_ID``: like Taler's, both fields are required."""


class GroupAddedResponseSchema(BaseSchema):
    group_serial_id = fields.Integer()


class GroupEntrySchema(BaseSchema):
    group_serial = fields.Integer()
    group_name = fields.String()
    description = fields.String()


GroupsSummaryResponseSchema = list_answer("GroupsSummaryResponseSchema", "groups", GroupEntrySchema)
