"""``GET /openapi.json``: every endpoint, its schemas, permission and errors."""
import re

import pytest
from openapi_spec_validator import validate


@pytest.fixture(scope="module")
def openapi(app):
    return app.test_client().get("/openapi.json").get_json()


def test_openapi_is_valid_openapi_3(openapi):
    assert openapi["openapi"].startswith("3.")
    validate(openapi)


def test_every_operation_declares_the_error_body(openapi):
    for path, operations in openapi["paths"].items():
        for method, op in operations.items():
            assert op["responses"]["default"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorDetail"}, (path, method)


def _documented_routes(app):
    routes = set()
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        if getattr(view, "openapi", None) is None or rule.rule.startswith("/instances/"):
            continue
        path = re.sub(r"<(?:[a-z_]+:)?([a-zA-Z_]+)>", lambda m: "{" + m.group(1).rstrip("_") + "}",
                      rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((path, method.lower()))
    return routes


def test_openapi_lists_every_endpoint(app, openapi):
    listed = {(path, method) for path, ops in openapi["paths"].items() for method in ops}
    assert _documented_routes(app) == listed
    for path, method in [("/config", "get"), ("/openapi.json", "get"),
                         ("/management/instances", "post"), ("/management/instances", "get"),
                         ("/management/instances/{instance_id}", "get"),
                         ("/management/instances/{instance_id}", "patch"),
                         ("/management/instances/{instance_id}", "delete"),
                         ("/private", "get"), ("/private", "patch"), ("/private/auth", "post"),
                         ("/private/token", "post"), ("/private/token", "delete"),
                         ("/private/tokens", "get"), ("/private/tokens/{serial}", "delete"),
                         ("/", "get")]:
        assert (path, method) in listed


def test_every_instance_endpoint_is_under_an_endpoint_decorator(app):
    """An instance route without ``@endpoint`` would escape the OpenAPI document."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith("webui.webui_file") \
                or rule.endpoint.endswith("webui.webui_redirect"):
            continue  # the back-office's static files, not API
        assert getattr(app.view_functions[rule.endpoint], "openapi", None) is not None, rule


def test_openapi_operations_carry_schemas_and_permissions(openapi):
    post_token = openapi["paths"]["/private/token"]["post"]
    body = post_token["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/TokenRequest"}
    schema = openapi["components"]["schemas"]["TokenRequest"]
    assert "scope" in schema["required"]
    assert "200" in post_token["responses"]
    patch = openapi["paths"]["/private"]["patch"]
    assert patch["x-permission"] == "instances-write"
    assert patch["security"] == [{"bearer": []}]
    assert {"204", "400", "401", "403", "404"} <= set(patch["responses"])
    management = openapi["paths"]["/management/instances"]["post"]
    assert management["x-permission"] == "instances-write"
    assert "409" in management["responses"]
    assert "security" not in openapi["paths"]["/config"]["get"]
    tokens = openapi["paths"]["/private/tokens"]["get"]
    assert {p["name"] for p in tokens["parameters"] if p["in"] == "query"} == {"limit", "offset"}
