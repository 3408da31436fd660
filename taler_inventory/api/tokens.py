"""Access tokens: ``POST|DELETE /private/token``, ``GET /private/tokens``,
``DELETE /private/tokens/$SERIAL``."""
import base64
import binascii

from flask import Blueprint, current_app, g, request
from .. import auth
from ..backenddb import instances as instances_db
from ..backenddb import tokens as tokens_db
from ..backenddb.outcome import Status
from ..db import get_db
from ..errors import ErrorCode, TalerError
from ..schemas.common import NewestFirstPageQuerySchema
from ..schemas.tokens import TokenListSchema, TokenRequestSchema, TokenResponseSchema
from ..timeutil import DAY, add, now_us
from .common import authenticate, bearer_token, endpoint, instance_id, lookup_credentials

bp = Blueprint("tokens", __name__)

DEFAULT_DURATION = DAY

#: How a token operation's status maps onto an error.
_ERRORS = {Status.UNKNOWN: ErrorCode.INVENTORY_TOKEN_UNKNOWN}


def _basic_credentials():
    header = request.headers.get("Authorization", "")
    if header[:6].lower() != "basic ":
        return None
    try:
        user, _, password = base64.b64decode(header[6:].strip(), validate=True) \
            .decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise TalerError(ErrorCode.MERCHANT_GENERIC_UNAUTHORIZED,
                         "malformed Basic credentials") from None
    return user, password


def _authenticate_for_token():
    """Basic auth with the instance password, or a Bearer token with token-refresh.

    Returns the permissions the new token may have at most.
    """
    credentials = _basic_credentials()
    if credentials is None:
        authenticate("token-refresh")
        return g.permissions
    user, password = credentials
    row = get_db().run(instances_db.lookup_instance, instance_id())
    if row is None or row["deleted"]:
        raise TalerError(ErrorCode.MERCHANT_GENERIC_INSTANCE_UNKNOWN, instance_id())
    g.instance = row
    if row["auth_method"] == "external":
        return auth.ALL_PERMISSIONS  # the gateway in front checked the credentials
    if not _password_matches(row, user, password):
        raise TalerError(ErrorCode.MERCHANT_GENERIC_UNAUTHORIZED)
    return auth.ALL_PERMISSIONS


def _password_matches(row, user: str, password: str) -> bool:
    """The password check, throttled per client address and instance (429)."""
    throttle = current_app.extensions["taler_inventory_logins"]
    address = request.remote_addr or ""
    attempt = throttle.attempt(row["instance_id"], address)
    ok = user == row["instance_id"] and current_app.extensions[
        "taler_inventory_passwords"].verify(row["password_hash"], password)
    if ok:
        throttle.succeeded(row["instance_id"], address, attempt)
    return ok


@bp.post("/private/token")
@endpoint(authenticator=_authenticate_for_token, body=TokenRequestSchema,
          response=TokenResponseSchema,
          errors=(ErrorCode.MERCHANT_GENERIC_UNAUTHORIZED,
                  ErrorCode.GENERIC_TOKEN_PERMISSION_INSUFFICIENT,
                  ErrorCode.MERCHANT_GENERIC_INSTANCE_UNKNOWN))
def private_post_token(body, credentials):
    """Obtain an access token (Basic auth with the password, or a refreshable token)."""
    allowed = credentials
    base, refreshable = auth.parse_scope(body["scope"])
    # Older clients ask with a flag instead of the scope suffix: the same thing.
    refreshable = refreshable or body.get("refreshable", False)
    scope = base + auth.REFRESHABLE_SUFFIX if refreshable else base
    wanted = auth.permissions(scope)
    if not wanted <= allowed:
        raise TalerError(ErrorCode.GENERIC_TOKEN_PERMISSION_INSUFFICIENT,
                         "the new token may not have more permissions than the current one")
    now = now_us()
    expiration = add(now, body.get("duration", DEFAULT_DURATION))
    token, token_hash = auth.new_token()
    get_db().run(tokens_db.insert_token, instance_serial=g.instance["instance_serial"],
                 token_hash=token_hash, scope=scope, refreshable=refreshable,
                 creation_time=now, expiration=expiration,
                 description=body.get("description"))
    # "token" is today's name; "access_token" stays for clients of before v19.
    return {"token": token, "access_token": token, "scope": scope, "expiration": expiration,
            "refreshable": refreshable}


@bp.delete("/private/token")
@endpoint(status=204, errors=(ErrorCode.MERCHANT_GENERIC_UNAUTHORIZED,
                              ErrorCode.MERCHANT_GENERIC_INSTANCE_UNKNOWN))
def private_delete_token():
    """Revoke the token this request presents."""
    token = bearer_token()
    # The instance first (404/2000), also when no token was sent.
    row = lookup_credentials(instance_id(), token, now_us())
    if row is None:
        raise TalerError(ErrorCode.MERCHANT_GENERIC_INSTANCE_UNKNOWN, instance_id())
    if row["token_serial"] is None or row["token_expiration"] <= now_us():
        raise TalerError(ErrorCode.MERCHANT_GENERIC_UNAUTHORIZED)
    get_db().run(tokens_db.delete_token, row["instance_serial"], row["token_serial"])


@bp.get("/private/tokens")
@endpoint(permission="tokens-read", query=NewestFirstPageQuerySchema, response=TokenListSchema)
def private_get_tokens(args):
    """List the unexpired access tokens of the instance (no secrets); 204 if none."""
    rows = get_db().run(tokens_db.list_tokens, g.instance["instance_serial"], now_us(),
                        limit=args["limit"], offset=args.get("offset"))
    if not rows:
        return None
    # An absent description is left out, not sent as null.
    return {"tokens": [{k: v for k, v in row.items() if v is not None} for row in rows]}


@bp.delete("/private/tokens/<int:serial>")
@endpoint(permission="tokens-write", status=204, errors=(ErrorCode.INVENTORY_TOKEN_UNKNOWN,))
def private_delete_tokens_serial(serial):
    """Revoke one access token of the instance by its serial."""
    outcome = get_db().run(tokens_db.delete_token, g.instance["instance_serial"], serial,
                           listed_only=True)
    if not outcome.ok:
        raise TalerError(_ERRORS[outcome.status], str(serial))
