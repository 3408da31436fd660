"""What every endpoint shares: body and query parsing, authentication, rendering.

A view declares everything about itself in one decorator::

    @bp.post("/private/products/<product_id>/lock")
    @endpoint(permission="products-lock", body=LockRequest, status=204)
    def private_post_products_id_lock(product_id, body): ...

:func:`endpoint` resolves the instance (404/2000 before authentication), checks
the credentials and the permission (401/2015, 403/16), parses the JSON body and the
query string against marshmallow schemas (400 naming the field), and renders the
result with the response schema.  The same metadata feeds ``/openapi.json``.
"""
import functools
import json
import re
import zlib
from dataclasses import dataclass

from flask import current_app, g, request
from marshmallow import ValidationError

from .. import auth, ids
from ..backenddb import instances as instances_db
from ..backenddb.outcome import Status
from ..db import get_db
from ..errors import ErrorCode, TalerError, malformed, parameter_error
from ..exactjson import JsonNumber
from ..timeutil import now_us
from .legacy_credentials import legacy_credentials

ADMIN_INSTANCE = "admin"

#: Every view decorated with :func:`endpoint`, for the OpenAPI document.
REGISTRY = []


def endpoint(*, permission=None, body=None, query=None, response=None, status=200,
             instance=True, summary=None, errors=(), authenticator=None,
             auth_in_operation=False):
    """Declare an endpoint: its permission, request and response schemas.

    ``permission`` None means no authentication (the view may do its own);
    ``instance`` False means the URL is not instance-scoped (``/config``,
    ``/management/...``): a permission there needs a token of the admin instance.
    ``authenticator`` replaces the permission check for the few endpoints with
    credentials of their own (``POST /private/token``); its result is passed to
    the view as ``credentials``.  Authentication comes before the body is parsed.

    ``auth_in_operation`` is for hot endpoints whose single database call checks
    the credentials itself (one round trip instead of two): the view gets
    :class:`Credentials` and maps the call's status with :func:`check_authorized`.
    Should the request be malformed, the credentials are checked the usual way
    first, so the answer is the same as for any other endpoint.
    """
    body_schema = body() if isinstance(body, type) else body
    query_schema = query() if isinstance(query, type) else query
    response_schema = response() if isinstance(response, type) else response

    def decorate(view):
        parse = _parser(query_schema, body_schema)
        if auth_in_operation:
            wrapper = _authorizing_in_operation(
                view, parse, permission=permission, has_body=body_schema is not None,
                response=response_schema, status=status)
        else:
            wrapper = _authenticating_first(
                view, parse, permission=permission, instance=instance,
                authenticator=authenticator, has_body=body_schema is not None,
                response=response_schema, status=status)
        wrapper = functools.wraps(view)(wrapper)
        wrapper.openapi = {
            "permission": permission, "body": body_schema, "query": query_schema,
            "response": response_schema, "status": status,
            "summary": summary or (view.__doc__ or "").strip().split("\n")[0],
            "errors": tuple(errors), "authenticator": authenticator is not None,
        }
        REGISTRY.append(wrapper)
        return wrapper

    return decorate


def _parser(query_schema, body_schema):
    """Load the query string and the body into the view's ``args`` and ``body``."""
    def parse(kwargs):
        if query_schema is not None:
            kwargs["args"] = load(query_schema, request.args.to_dict(), location="query")
        if body_schema is not None:
            kwargs["body"] = load(body_schema, json_body())
    return parse


def _authenticating_first(view, parse, *, permission, instance, authenticator, has_body,
                          response, status):
    """The usual flow: the credentials (or the endpoint's own ``authenticator``), then
    the request, then the view."""
    only_instance = None if instance else ADMIN_INSTANCE

    def wrapper(**kwargs):
        if has_body:
            refuse_deep_nesting()
        if authenticator is not None:
            kwargs["credentials"] = authenticator()
        elif permission is not None:
            authenticate(permission, instance=only_instance)
        parse(kwargs)
        return render(view(**kwargs), response, status)
    return wrapper


def _authorizing_in_operation(view, parse, *, permission, has_body, response, status):
    """The hot flow: the request, then the view, whose one database call checks the
    credentials (:class:`Credentials`); a malformed request has its credentials checked
    the usual way first."""
    def wrapper(**kwargs):
        if has_body:
            refuse_deep_nesting()
        try:
            parse(kwargs)
        except TalerError:
            authenticate(permission)
            raise
        kwargs["credentials"] = credentials(permission)
        try:
            return render(view(**kwargs), response, status)
        except TalerError as err:
            # A refused authorization changed nothing: with the legacy credential
            # now adopted, the operation runs once more.
            if err.code is not ErrorCode.MERCHANT_GENERIC_UNAUTHORIZED \
                    or not adopt_legacy_credential():
                raise
        kwargs["credentials"] = credentials(permission)
        return render(view(**kwargs), response, status)
    return wrapper


def empty_response(status: int, headers=None):
    """An answer without a body and without ``Content-Type`` (a 204, a redirect).

    Flask would label even an empty body ``text/html``; a 204 has no content to label.
    """
    response = current_app.response_class(status=status, headers=headers)
    del response.headers["Content-Type"]
    return response


def render(result, schema, status):
    if status == 204 or result is None:
        return empty_response(204)
    if isinstance(result, current_app.response_class):
        return result
    payload = schema.dump(result) if schema is not None else result
    return current_app.response_class(
        json.dumps(payload, separators=(",", ":")), status=status, mimetype="application/json")


# -- instances and credentials ------------------------------------------------

def instance_id() -> str:
    return g.get("instance_id", ADMIN_INSTANCE)


def bearer_token() -> str | None:
    """The access token of the request, with or without the ``Bearer`` word."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        header = header[7:].strip()
    if header.startswith(auth.TOKEN_PREFIX):
        return header
    return None


def authenticate(permission: str, *, instance: str | None = None):
    """Resolve the instance and check the credentials; store both on ``g``.

    The instance is resolved first (unknown: 404/2000).  An ``external`` instance
    checks nothing (a gateway in front does).  Otherwise the access token must
    belong to the instance, be unexpired and carry ``permission``; the instance
    password presented as ``Bearer secret-token:<password>`` (the legacy form) is a
    credential with every permission.
    """
    inst_id = instance or instance_id()
    token = bearer_token()
    now = now_us()
    row = lookup_credentials(inst_id, token, now)
    if row is None:
        raise TalerError(ErrorCode.MERCHANT_GENERIC_INSTANCE_UNKNOWN, inst_id)
    if row["auth_method"] == "external":
        perms = auth.ALL_PERMISSIONS
    else:
        if token is not None and row["token_serial"] is None:
            adopted = legacy_credentials().adopt(row, token, now)
            if adopted is not None:
                row = get_db().run(instances_db.lookup_instance_auth, inst_id, adopted)
        if not _token_valid(row, now):
            g.instance = row
            raise TalerError(ErrorCode.MERCHANT_GENERIC_UNAUTHORIZED)
        perms = auth.permissions(row["scope"])
    g.instance = row
    g.token_serial = row["token_serial"]
    g.permissions = perms
    if permission not in perms:
        raise TalerError(ErrorCode.GENERIC_TOKEN_PERMISSION_INSUFFICIENT, permission)
    return row


def lookup_credentials(inst_id: str, token: str | None, now: int):
    """The instance and the token row of ``token`` (or of its adopted legacy form)."""
    token_hash = None
    if token is not None:
        token_hash = legacy_credentials().cached(inst_id, token, now) or auth.hash_token(token)
    return get_db().run(instances_db.lookup_instance_auth, inst_id, token_hash)


def _token_valid(row, now: int) -> bool:
    return row["token_hash"] is not None and row["token_expiration"] > now


def adopt_legacy_credential() -> bool:
    """For an operation that authorized in SQL and was refused: is the presented
    token the instance password (now adopted)?"""
    token = bearer_token()
    if token is None:
        return False
    row = get_db().run(instances_db.lookup_instance_auth, instance_id(), auth.hash_token(token))
    if row is None or row["token_serial"] is not None:
        return False
    return legacy_credentials().adopt(row, token, now_us()) is not None


@dataclass(frozen=True)
class Credentials:
    """What an operation needs to authorize a request in its own round trip."""

    instance_id: str
    token_hash: bytes | None
    scopes: tuple[str, ...]  # the stored scopes that grant the permission
    permission: str


def credentials(permission: str) -> Credentials:
    token = bearer_token()
    token_hash = None
    if token is not None:
        token_hash = (legacy_credentials().cached(instance_id(), token, now_us())
                      or auth.hash_token(token))
    return Credentials(instance_id(), token_hash, auth.scopes_granting(permission), permission)


def check_authorized(status: Status, creds: Credentials):
    """Raise the error of a failed in-operation authorization (see ``authorize``)."""
    if status is Status.UNKNOWN_INSTANCE:
        raise TalerError(ErrorCode.MERCHANT_GENERIC_INSTANCE_UNKNOWN, creds.instance_id)
    if status is Status.UNAUTHORIZED:
        raise TalerError(ErrorCode.MERCHANT_GENERIC_UNAUTHORIZED)
    if status is Status.FORBIDDEN:
        raise TalerError(ErrorCode.GENERIC_TOKEN_PERMISSION_INSUFFICIENT, creds.permission)


def require_instance():
    """Resolve the instance of the URL without authentication (404/2000)."""
    row = get_db().run(instances_db.lookup_instance_auth, instance_id(), None)
    if row is None:
        raise TalerError(ErrorCode.MERCHANT_GENERIC_INSTANCE_UNKNOWN, instance_id())
    g.instance = row
    return row


def path_serial(text: str, name: str) -> int:
    """A numeric id of the URL (category, group, pot): digits, else 400/26 naming ``name``."""
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise malformed(name)
    return int(text)


def known_id(text: str, shape, unknown: ErrorCode) -> str:
    """An id of the URL without the shape of :mod:`..ids` names nothing: ``unknown``.

    Such an id never reaches SQL; the error's detail is its first 128 characters.
    """
    if not ids.can_exist(shape, text):
        raise TalerError(unknown, text[:128])
    return text


# -- request bodies ---------------------------------------------------------------

def raw_body() -> bytes:
    """The request body, inflated if compressed, within the size limit (413/32).

    Read once per request: a second call answers what the first one did.
    """
    ctx = g._get_current_object()
    data = getattr(ctx, "raw_body", None)
    if data is None:
        try:
            data = _read_raw_body()
        except TalerError as err:
            data = err
        ctx.raw_body = data
    if isinstance(data, TalerError):
        raise data
    return data


def refuse_deep_nesting():
    """400/22 for a body nested deeper than ``MAX_JSON_DEPTH``, before authentication.

    Whoever sends it, with or without credentials, gets the same answer, and nothing
    (authentication included) has looked at the body before.  Every other fault of
    the body keeps its place after authentication.
    """
    try:
        data = raw_body()
    except TalerError:
        return
    check_nesting(data, current_app.config["INVENTORY"]["MAX_JSON_DEPTH"])


def _read_raw_body() -> bytes:
    limit = current_app.config["INVENTORY"]["MAX_BODY_SIZE"]
    req = request._get_current_object()
    length = req.content_length
    encoding = req.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity", "gzip", "deflate"):
        raise TalerError(ErrorCode.INVENTORY_UNSUPPORTED_MEDIA_TYPE,
                         f"Content-Encoding {encoding[:40]} is not supported")
    # A compressed body never needs more room than its inflated text (plus headers),
    # so the limit applies to what is read from the wire too.
    wire_limit = limit if encoding in ("", "identity") else limit + 1024
    if length is not None and length > wire_limit:
        raise _too_large(limit)
    # Under ``serve`` the whole body is in memory already (read by
    # ``server.WsgiBridge`` within BODY_TIMEOUT); other WSGI servers may stream it.
    try:
        data = req.stream.read(wire_limit + 1)
    except OSError as exc:
        # The body's framing is broken or the connection closed early: the
        # client's fault, never a 500.
        raise malformed("body", f"The request body could not be read: {str(exc)[:200]}") \
            from None
    if len(data) > wire_limit:
        raise _too_large(limit)
    if encoding == "gzip":
        return _inflate(data, 16 + zlib.MAX_WBITS, limit)
    if encoding == "deflate":
        try:
            return _inflate(data, zlib.MAX_WBITS, limit)
        except TalerError as err:
            if err.code is not ErrorCode.GENERIC_COMPRESSION_INVALID:
                raise
            # Some clients send raw deflate, without the zlib header.
            return _inflate(data, -zlib.MAX_WBITS, limit)
    return data


def _too_large(limit):
    return TalerError(ErrorCode.GENERIC_UPLOAD_EXCEEDS_LIMIT, f"limit is {limit} bytes")


def _inflate(compressed: bytes, wbits: int, limit: int) -> bytes:
    """Inflate one complete stream, never producing more than ``limit + 1`` bytes."""
    inflater = zlib.decompressobj(wbits)
    try:
        data = inflater.decompress(compressed, limit + 1)
    except zlib.error as exc:
        raise TalerError(ErrorCode.GENERIC_COMPRESSION_INVALID, str(exc)[:200]) from None
    if len(data) > limit or inflater.unconsumed_tail:
        raise _too_large(limit)
    if not inflater.eof or inflater.unused_data:
        raise TalerError(ErrorCode.GENERIC_COMPRESSION_INVALID,
                         "truncated stream" if not inflater.eof else "data after the stream")
    return data


def json_body():
    """Parse the request body as a JSON object (415 / 400/22 otherwise)."""
    ctype = request.mimetype
    if ctype and ctype != "application/json" and not ctype.endswith("+json"):
        raise TalerError(ErrorCode.INVENTORY_UNSUPPORTED_MEDIA_TYPE, ctype)
    data = raw_body()
    check_nesting(data, current_app.config["INVENTORY"]["MAX_JSON_DEPTH"])
    try:
        value = json.loads(data, parse_float=_exact_float, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise TalerError(ErrorCode.GENERIC_JSON_INVALID, str(exc)[:200]) from None
    if not isinstance(value, dict):
        raise TalerError(ErrorCode.GENERIC_JSON_INVALID, "the body must be a JSON object")
    return value


#: A JSON string (escapes included) or one bracket: what the nesting check looks at.
_STRUCTURE = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


def check_nesting(data: bytes, limit: int):
    """Refuse JSON nested deeper than ``limit`` (400/22) without recursing over it.

    Runs before the parser and everything else that walks the value recursively
    (``drop_nulls``, the schemas), so their depth is bounded by ``limit``.  Brackets
    inside strings do not count.  A body with fewer brackets than the limit is
    accepted without a scan, which is every ordinary request.
    """
    if data.count(b"[") + data.count(b"{") <= limit:
        return
    depth = 0
    for match in _STRUCTURE.finditer(data):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                raise TalerError(ErrorCode.GENERIC_JSON_INVALID,
                                 f"nested deeper than {limit} levels")
        elif token in (b"]", b"}"):
            depth -= 1


def _exact_float(text):
    return JsonNumber(text)


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


def drop_nulls(value):
    """Optional fields sent as JSON null mean the same as fields left out."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


def load(schema, data, *, location="body"):
    """Load ``data`` with ``schema``; a ValidationError becomes 400/25 or 400/26."""
    if location == "body":
        data = drop_nulls(data)
    try:
        return schema.load(data)
    except ValidationError as err:
        path, message = first_error(err.messages)
        code = (ErrorCode.GENERIC_PARAMETER_MISSING
                if message == "Missing data for required field."
                else ErrorCode.GENERIC_PARAMETER_MALFORMED)
        raise parameter_error(code, path, message) from None


def first_error(messages, prefix=""):
    """Return (field path, message) of the first error in marshmallow's messages."""
    if isinstance(messages, dict):
        for key in sorted(messages, key=lambda k: (str(k) == "_schema", str(k))):
            sub = messages[key]
            if key == "_schema":
                name = prefix or "body"
            elif isinstance(key, int):
                name = f"{prefix}[{key}]"
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            return first_error(sub, name)
    if isinstance(messages, list) and messages:
        if isinstance(messages[0], (dict, list)):
            return first_error(messages[0], prefix)
        return prefix or "body", str(messages[0])
    return prefix or "body", str(messages)
