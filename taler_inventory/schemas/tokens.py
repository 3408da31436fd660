"""Schemas of access tokens."""
from marshmallow import fields, validate

from .. import auth
from .common import BaseSchema, RelativeTime, StrictBoolean, Text, Timestamp, list_answer


def _known_scope(value):
    if auth.parse_scope(value) is None:
        raise validate.ValidationError(f"unknown scope {value[:40]!r}")


class TokenRequestSchema(BaseSchema):
    """``POST /private/token``."""

    scope = fields.String(required=True, validate=_known_scope)
    duration = RelativeTime()
    description = Text(validate=validate.Length(max=1024))
    refreshable = StrictBoolean()  # older clients: same as the ":refreshable" suffix


class TokenResponseSchema(BaseSchema):
    token = fields.String()
    access_token = fields.String()
    scope = fields.String()
    expiration = Timestamp()
    refreshable = fields.Boolean()


class TokenInfoSchema(BaseSchema):
    serial = fields.Integer()
    scope = fields.String()
    refreshable = fields.Boolean()
    creation_time = Timestamp()
    expiration = Timestamp()
    description = fields.String()


TokenListSchema = list_answer("TokenListSchema", "tokens", TokenInfoSchema)
