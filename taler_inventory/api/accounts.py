"""Bank accounts: ``GET|POST /private/accounts``, ``GET|PATCH|DELETE
/private/accounts/$H_WIRE``."""
from flask import Blueprint, g

from .. import talercrypto
from ..backenddb import accounts as accounts_db
from ..backenddb.outcome import Status
from ..db import get_db
from ..errors import ErrorCode, TalerError, parameter_error
from ..schemas.accounts import (AccountAddDetailsSchema, AccountAddResponseSchema,
                                AccountPatchDetailsSchema, AccountsSummarySchema,
                                BankAccountDetailSchema, PaytoError, check_payto)
from .common import endpoint

bp = Blueprint("accounts", __name__)

E = ErrorCode

#: How an account operation's status maps onto an error.
_ERRORS = {Status.UNKNOWN: E.MERCHANT_GENERIC_ACCOUNT_UNKNOWN,
           Status.CONFLICT: E.MERCHANT_PRIVATE_ACCOUNT_EXISTS}
#: Deleting an unknown account has a code of its own.
_DELETE_ERRORS = {**_ERRORS, Status.UNKNOWN: E.MERCHANT_PRIVATE_ACCOUNT_DELETE_UNKNOWN_ACCOUNT}


def fail(status: Status, detail: str, field: str | None = None, errors=_ERRORS):
    """Raise the Taler error of a failed account operation; ``field`` names the culprit."""
    if field is not None:
        raise parameter_error(errors[status], field)
    raise TalerError(errors[status], detail)


def _h_wire(text: str) -> bytes:
    """``$H_WIRE`` of the URL: Crockford base32 of 64 bytes (400/2023 otherwise)."""
    try:
        return talercrypto.decode(text, talercrypto.HASH_BYTES)
    except talercrypto.EncodingError as exc:
        raise TalerError(ErrorCode.MERCHANT_GENERIC_H_WIRE_MALFORMED, text[:120],
                         hint=f"{ErrorCode.MERCHANT_GENERIC_H_WIRE_MALFORMED.hint} {exc}.",
                         parameter="h_wire") from None


@bp.post("/private/accounts")
@endpoint(permission="accounts-write", body=AccountAddDetailsSchema,
          response=AccountAddResponseSchema,
          errors=(ErrorCode.GENERIC_PAYTO_URI_MALFORMED, ErrorCode.MERCHANT_PRIVATE_ACCOUNT_EXISTS))
def private_post_accounts(body):
    """Add a bank account; the server picks the salt and computes ``h_wire``."""
    payto_uri = body["payto_uri"]
    try:
        check_payto(payto_uri)
    except PaytoError as exc:
        raise parameter_error(ErrorCode.GENERIC_PAYTO_URI_MALFORMED, "payto_uri",
                              f"{exc}.") from None
    salt = talercrypto.new_wire_salt()
    outcome = get_db().run(
        accounts_db.insert_account, g.instance["instance_serial"], payto_uri=payto_uri,
        salt=salt, h_wire=talercrypto.h_wire(payto_uri, salt), details=body)
    if not outcome.ok:
        fail(outcome.status, payto_uri, "payto_uri")
    return {"h_wire": talercrypto.encode(outcome.h_wire),
            "salt": talercrypto.encode(outcome.salt)}


@bp.get("/private/accounts")
@endpoint(permission="accounts-read", response=AccountsSummarySchema)
def private_get_accounts():
    """Every bank account of the instance, deleted ones (``active: false``) too."""
    rows = get_db().run(accounts_db.list_accounts, g.instance["instance_serial"])
    return {"accounts": [{"payto_uri": r["payto_uri"], "h_wire": talercrypto.encode(r["h_wire"]),
                          "active": r["active"]} for r in rows]}


@bp.get("/private/accounts/<h_wire>")
@endpoint(permission="accounts-read", response=BankAccountDetailSchema,
          errors=(ErrorCode.MERCHANT_GENERIC_H_WIRE_MALFORMED,
                  ErrorCode.MERCHANT_GENERIC_ACCOUNT_UNKNOWN))
def private_get_accounts_h_wire(h_wire):
    """One bank account; never its credit-facade credentials."""
    row = get_db().run(accounts_db.lookup_account, g.instance["instance_serial"], _h_wire(h_wire))
    if row is None:
        fail(Status.UNKNOWN, h_wire)
    out = {"payto_uri": row["payto_uri"], "h_wire": talercrypto.encode(row["h_wire"]),
           "salt": talercrypto.encode(row["salt"]), "active": row["active"]}
    out.update({k: row[k] for k in ("credit_facade_url", "extra_wire_subject_metadata")
                if row[k] is not None})
    return out


@bp.patch("/private/accounts/<h_wire>")
@endpoint(permission="accounts-write", body=AccountPatchDetailsSchema, status=204,
          errors=(ErrorCode.MERCHANT_GENERIC_H_WIRE_MALFORMED,
                  ErrorCode.MERCHANT_GENERIC_ACCOUNT_UNKNOWN))
def private_patch_accounts_h_wire(h_wire, body):
    """Change an account's credit facade or wire-subject metadata; absent fields stay."""
    outcome = get_db().run(accounts_db.update_account, g.instance["instance_serial"],
                           _h_wire(h_wire), body)
    if not outcome.ok:
        fail(outcome.status, h_wire)


@bp.delete("/private/accounts/<h_wire>")
@endpoint(permission="accounts-write", status=204,
          errors=(ErrorCode.MERCHANT_GENERIC_H_WIRE_MALFORMED,
                  ErrorCode.MERCHANT_PRIVATE_ACCOUNT_DELETE_UNKNOWN_ACCOUNT))
def private_delete_accounts_h_wire(h_wire):
    """Delete an account: no new contract names it (it stays, inactive, for old ones)."""
    outcome = get_db().run(accounts_db.delete_account, g.instance["instance_serial"],
                           _h_wire(h_wire))
    if not outcome.ok:
        fail(outcome.status, h_wire, errors=_DELETE_ERRORS)
