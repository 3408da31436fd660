"""Schemas of bank accounts (``AccountAddDetails``, ``AccountPatchDetails``, ...)."""
import re

from marshmallow import ValidationError, fields, validate, validates_schema

from .common import BaseSchema, Text, list_answer

#: ``payto://<target type>/<target>[?<parameters>]`` (RFC 8905), with nothing a URI
#: cannot hold (no space, no control character).
PAYTO = re.compile(r"^payto://([A-Za-z][A-Za-z0-9+.-]*)/([^?#\s]+)(\?[^#\s]*)?$")
_IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")
EXTRA_SUBJECT = r"^[a-zA-Z0-9.:-]{1,40}$"


class PaytoError(ValueError):
    """A payto:// URI that is malformed (Taler code 24)."""


def check_payto(uri: str) -> str:
    """Check a payto URI as Taler would; IBAN targets must pass their check digits."""
    match = PAYTO.match(uri) if isinstance(uri, str) and uri.isascii() else None
    if match is None or len(uri) > 2048:
        raise PaytoError("expected payto://<target type>/<target>[?<parameters>]")
    if match.group(1).lower() == "iban":
        iban = match.group(2).rsplit("/", 1)[-1]
        if not _IBAN.match(iban) or int("".join(
                str(int(c, 36)) for c in iban[4:] + iban[:4])) % 97 != 1:
            raise PaytoError(f"{iban[:40]!r} is not a valid IBAN")
    return uri


class FacadeCredentialsSchema(BaseSchema):
    """``FacadeCredentials``: ``none``, ``basic`` (username, password) or ``bearer``."""

    type = fields.String(required=True, validate=validate.OneOf(["none", "basic", "bearer"]))
    username = Text(validate=validate.Length(max=1024))
    password = Text(validate=validate.Length(max=1024))
    token = Text(validate=validate.Length(max=4096))

    @validates_schema
    def _complete(self, data, **kwargs):
        needed = {"basic": ("username", "password"), "bearer": ("token",)}.get(
            data.get("type"), ())
        for name in needed:
            if name not in data:
                raise ValidationError("Missing data for required field.", name)


class _FacadeFields(BaseSchema):
    credit_facade_url = Text(validate=[validate.URL(schemes={"http", "https"},
                                                    require_tld=False),
                                       validate.Length(max=2048)])
    credit_facade_credentials = fields.Nested(FacadeCredentialsSchema)
    extra_wire_subject_metadata = fields.String(validate=validate.Regexp(EXTRA_SUBJECT))


class AccountAddDetailsSchema(_FacadeFields):
    """``POST .../private/accounts``."""

    payto_uri = Text(required=True)


class AccountPatchDetailsSchema(_FacadeFields):
    """``PATCH .../private/accounts/$H_WIRE``: absent fields stay."""


class AccountAddResponseSchema(BaseSchema):
    h_wire = fields.String()
    salt = fields.String()


class BankAccountEntrySchema(BaseSchema):
    payto_uri = fields.String()
    h_wire = fields.String()
    active = fields.Boolean()


AccountsSummarySchema = list_answer("AccountsSummarySchema", "accounts", BankAccountEntrySchema)


class BankAccountDetailSchema(BaseSchema):
    payto_uri = fields.String()
    h_wire = fields.String()
    salt = fields.String()
    credit_facade_url = fields.String()
    active = fields.Boolean()
    extra_wire_subject_metadata = fields.String()

