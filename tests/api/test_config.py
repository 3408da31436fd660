"""``GET /config`` (``GET /openapi.json`` in test_get_openapi.py)."""
import re

import pytest

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


def test_config_defaults_are_what_a_new_instance_gets(client, admin_headers):
    config = client.get("/config").get_json()
    headers = factories.instance_headers(client, admin_headers, "shop1")
    details = client.get("/instances/shop1/private", headers=headers).get_json()
    for key in ("default_pay_delay", "default_refund_delay", "default_wire_transfer_delay",
                "default_wire_transfer_rounding_interval"):
        assert details[key] == config[key], key
