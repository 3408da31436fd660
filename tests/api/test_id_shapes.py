"""Ids that cannot exist (``taler_inventory/ids.py``): unknown in a path, before any SQL,
and 400 naming the field in a body."""
import pytest

from .. import factories as f
from ..checks import assert_error


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
@pytest.mark.parametrize("webhook_id", ["a%00b", "x" * 129])
def test_impossible_webhook_id_in_the_path_is_404(client, admin_headers, method, webhook_id):
    kwargs = {"json": {"event_type": "pay", "url": "https://erp.example/hook",
                       "http_method": "POST"}} if method == "patch" else {}
    resp = getattr(client, method)(f"/private/webhooks/{webhook_id}", headers=admin_headers,
                                   **kwargs)
    body = assert_error(resp, 404, 2019)
    assert len(body["detail"]) <= 128


def test_impossible_webhook_id_in_the_deliveries_path_is_404(client, admin_headers):
    assert_error(client.get("/private/webhooks/a%00b/deliveries", headers=admin_headers),
                 404, 2019)


@pytest.mark.parametrize("path", ["/private/products/" + "x" * 129,
                                  "/private/units/" + "x" * 129,
                                  "/instances/" + "x" * 129 + "/private/products",
                                  "/management/instances/" + "x" * 129])
def test_an_unknown_id_shows_its_first_128_characters(client, admin_headers, path):
    body = client.get(path, headers=admin_headers).get_json()
    assert body["code"] in (2000, 2006, 2037) and body["detail"] == "x" * 128


def test_a_lock_uuid_is_visible_ascii_to_the_end(client, admin_headers, db):
    f.create_product(client, admin_headers, "p1")
    body = assert_error(f.lock(client, admin_headers, "p1", "cart\n"), 400, 26)
    assert body["parameter"] == "lock_uuid"
    assert db.execute("SELECT count(*) AS n FROM holds").fetchone()["n"] == 0


def test_an_instance_id_has_its_shape_to_the_end(client, admin_headers, db):
    resp = client.post("/management/instances", headers=admin_headers,
                       json={"id": "shop\n", "name": "x", "auth": {"method": "external"}})
    assert assert_error(resp, 400, 26)["parameter"] == "id"
    assert db.execute("SELECT count(*) AS n FROM instances").fetchone()["n"] == 1
