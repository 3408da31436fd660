"""The OpenAPI 3 document, built from the marshmallow schemas of every endpoint."""
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from . import PROTOCOL_VERSION, __version__
from .errors import ErrorCode

_CONVERTER = re.compile(r"<(?:[a-z_]+:)?([a-zA-Z_]+)>")


def _path(rule: str) -> str:
    return _CONVERTER.sub(lambda m: "{" + m.group(1).rstrip("_") + "}", rule)


def _schema_name(schema):
    return type(schema).__name__.removesuffix("Schema")


def build(app) -> dict:
    spec = APISpec(title="taler-inventory", version=__version__, openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
                   info={"description": "Taler merchant inventory API, protocol "
                                        + PROTOCOL_VERSION})
    spec.components.schema("ErrorDetail", {
        "type": "object", "required": ["code", "hint"],
        "properties": {"code": {"type": "integer"}, "hint": {"type": "string"},
                       "detail": {"type": "string"}},
        # Taler's own codes are TALER_EC_...; these are the extensions of this server.
        "x-taler-inventory-codes": {
            str(code.number): {"name": code.name, "http_status": code.http_status,
                               "hint": code.hint}
            for code in ErrorCode if code.name.startswith("INVENTORY_")}})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.security_scheme("basic", {"type": "http", "scheme": "basic"})
    paths = {}
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        meta = getattr(view, "openapi", None)
        if meta is None or rule.rule.startswith("/instances/"):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(_path(rule.rule), {})[method.lower()] = _operation(
                rule, view, meta)
    for path, operations in sorted(paths.items()):
        spec.path(path=path, operations=operations)
    doc = spec.to_dict()
    doc["info"]["x-instance-prefix"] = ("Every /private path is also served under "
                                       "/instances/{instance}/ for the other instances.")
    return doc


def _operation(rule, view, meta) -> dict:
    op = {"operationId": view.__name__, "summary": meta["summary"], "responses": {}}
    params = [{"in": "path", "name": arg.rstrip("_"), "required": True,
               "schema": {"type": "string"}} for arg in sorted(rule.arguments)]
    if meta["query"] is not None:
        params.append({"in": "query", "schema": meta["query"]})
    if params:
        op["parameters"] = params
    if meta["permission"]:
        op["security"] = [{"bearer": []}]
        op["x-permission"] = meta["permission"]
    elif meta.get("authenticator"):
        # POST /private/token: the instance password, or a refreshable token.
        op["security"] = [{"basic": []}, {"bearer": []}]
    if meta["body"] is not None:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": meta["body"]}}}
    status = str(meta["status"])
    if meta["status"] == 204:
        op["responses"][status] = {"description": "No content"}
    elif 300 <= meta["status"] < 400:
        op["responses"][status] = {"description": "Redirect (see Location)"}
    else:
        response = {"description": "OK"}
        if meta["response"] is not None:
            response["content"] = {"application/json": {"schema": meta["response"]}}
        op["responses"][status] = response
    error = {"description": "Error", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/ErrorDetail"}}}}
    statuses = {"400"} if meta["body"] is not None or meta["query"] is not None else set()
    if meta["permission"]:
        statuses |= {"401", "403", "404"}
    for code in meta["errors"]:
        statuses.add(str(code.http_status if isinstance(code, ErrorCode) else code))
    for code in sorted(statuses):
        op["responses"][code] = error
    # Any endpoint may also answer 405, 413, 415, 5xx...: always an ErrorDetail.
    op["responses"]["default"] = error
    return op
