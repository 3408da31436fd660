"""``GET /`` (and ``GET /instances/$I/``): the base URL leads to the web interface."""
import pytest

from tests import factories
from tests.checks import assert_error


@pytest.mark.parametrize("method", ["get", "head"])
@pytest.mark.parametrize("path, location", [
    ("/", "/webui/"),
    ("/instances/shop1", "/instances/shop1/webui/"),
    ("/instances/shop1/", "/instances/shop1/webui/"),
])
def test_base_url_redirects_to_the_web_interface(client, admin_headers, method, path,
                                                 location):
    factories.create_instance(client, admin_headers, "shop1")
    resp = getattr(client, method)(path)
    assert resp.status_code == 302, (resp.status_code, resp.data[:200])
    assert resp.headers["Location"] == location
    assert resp.data == b"" and "Content-Type" not in resp.headers


@pytest.mark.parametrize("method", ["get", "head"])
def test_base_url_of_an_unknown_instance_is_404_2000(client, method):
    resp = getattr(client, method)("/instances/nosuch")
    assert resp.status_code == 404 and "Location" not in resp.headers
    if method == "get":
        assert_error(resp, 404, 2000)


def test_base_url_needs_no_credentials_and_changes_nothing(client, admin_headers, db):
    factories.create_instance(client, admin_headers, "shop1")
    before = db.execute("SELECT count(*) AS n FROM tokens").fetchone()["n"]
    resp = client.head("/instances/shop1", headers={"Authorization": "Bearer nonsense"})
    assert resp.status_code == 302
    assert db.execute("SELECT count(*) AS n FROM tokens").fetchone()["n"] == before
