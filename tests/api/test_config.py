"""``GET /config`` and ``GET /openapi.json``."""
import re

import pytest
from openapi_spec_validator import validate

from taler_inventory import PROTOCOL_VERSION
from tests import factories


def libtool_compatible(client_version: str, server_version: str) -> bool:
    """How Taler clients (wallet-core's LibtoolVersion, taler-android's Version) decide
    whether they can talk to a server: the client's range meets the server's."""
    c_cur, _, c_age = (int(x) for x in client_version.split(":"))
    s_cur, _, s_age = (int(x) for x in server_version.split(":"))
    return c_cur - c_age <= s_cur and c_cur >= s_cur - s_age


def test_config_shape(client):
    resp = client.get("/config")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    body = resp.get_json()
    assert set(body) == {
        "name", "version", "implementation", "currency", "default_persona", "currencies",
        "report_generators", "exchanges", "have_self_provisioning", "have_donau",
        "mandatory_tan_channels", "payment_target_types", "default_pay_delay",
        "default_refund_delay", "default_wire_transfer_delay",
        "default_wire_transfer_rounding_interval"}
    assert body["name"] == "taler-merchant"
    assert body["version"] == PROTOCOL_VERSION
    assert re.fullmatch(r"\d+:\d+:\d+", body["version"])
    current, _, age = (int(x) for x in body["version"].split(":"))
    assert age <= current
    assert body["implementation"] == "urn:net:taler:specs:taler-merchant:taler-inventory"
    assert body["currency"] == "KUDOS" and body["exchanges"] == []
    spec = body["currencies"]["KUDOS"]
    assert set(spec) == {"name", "currency", "num_fractional_input_digits",
                         "num_fractional_normal_digits", "num_fractional_trailing_zero_digits",
                         "alt_unit_names", "common_amounts"}
    assert spec["currency"] == "KUDOS" and spec["common_amounts"] == []
    assert all(isinstance(spec[k], int) for k in spec if k.startswith("num_"))
    assert spec["alt_unit_names"]["0"] == "KUDOS"
    # What this server is: no self-provisioning, no Donau, no mandatory TAN channel,
    # no report generators, any payto type, and the defaults a new instance gets.
    assert body["have_self_provisioning"] is False and body["have_donau"] is False
    assert body["mandatory_tan_channels"] == [] and body["report_generators"] == {}
    assert body["payment_target_types"] == "*"
    assert body["default_persona"] == "expert"
    assert body["default_pay_delay"] == {"d_us": 24 * 3600 * 10**6}
    assert body["default_refund_delay"] == {"d_us": 0}
    assert body["default_wire_transfer_delay"] == {"d_us": 0}
    assert body["default_wire_transfer_rounding_interval"] == "NONE"


@pytest.mark.parametrize("client_version", [
    "20:0:0",    # the Android POS app's level
    "20:0:8",
    "24:0:4",
    "32:0:0",    # a client of the newest documented level
    "32:0:12",
])
def test_version_is_accepted_by_clients_from_v20_to_the_newest(client, client_version):
    server = client.get("/config").get_json()["version"]
    assert libtool_compatible(client_version, server), (client_version, server)


@pytest.mark.parametrize("client_version", ["19:0:0", "33:0:0"])
def test_version_is_refused_by_clients_outside_the_range(client, client_version):
    # The age is what it must be, not unbounded: a v19 client (no v20+ features
    # known) and a client needing v33 are told we do not fit.
    assert not libtool_compatible(client_version, client.get("/config").get_json()["version"])


def test_config_follows_the_configured_currency(database_url):
    from taler_inventory import create_app
    from tests.conftest import TEST_SETTINGS
    app = create_app(dict(TEST_SETTINGS, DATABASE_URL=database_url, CURRENCY="CHF"))
    body = app.test_client().get("/config").get_json()
    assert body["currency"] == "CHF" and set(body["currencies"]) == {"CHF"}


def test_config_and_openapi_need_no_credentials_nor_database(client):
    # No Authorization header; a garbage one is ignored too.
    for url in ("/config", "/openapi.json"):
        assert client.get(url).status_code == 200
        assert client.get(url, headers={"Authorization": "Bearer nonsense"}).status_code == 200


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
def test_config_defaults_are_what_a_new_instance_gets(client, admin_headers):
    config = client.get("/config").get_json()
    headers = factories.instance_headers(client, admin_headers, "shop1")
    details = client.get("/instances/shop1/private", headers=headers).get_json()
    for key in ("default_pay_delay", "default_refund_delay", "default_wire_transfer_delay",
                "default_wire_transfer_rounding_interval"):
        assert details[key] == config[key], key


