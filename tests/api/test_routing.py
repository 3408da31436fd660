"""Instance routing: the admin instance at the root, others under /instances/$ID/."""
import pytest

from tests import factories
from tests.checks import assert_error


@pytest.mark.parametrize("alias", ["admin", "default"])
@pytest.mark.parametrize("path, query", [
    ("/private", ""),
    ("/private/tokens", "?limit=5&offset=2"),
    ("/private/token", ""),
    ("/private/products/p1", "?x=%20y"),
    ("/private/nosuch/deeper", ""),
])
def test_admin_aliases_redirect_308_to_the_root(client, alias, path, query):
    for method in ("get", "post", "patch", "delete"):
        resp = getattr(client, method)(f"/instances/{alias}{path}{query}")
        assert resp.status_code == 308, (method, resp.status_code, resp.get_json())
        assert resp.headers["Location"] == path + query
        assert resp.mimetype != "text/html" or not resp.data


@pytest.mark.parametrize("alias", ["admin", "default"])
def test_alias_root_redirects_to_root(client, alias):
    resp = client.get(f"/instances/{alias}")
    assert resp.status_code == 308 and resp.headers["Location"] == "/"
    resp = client.get(f"/instances/{alias}/")
    assert resp.status_code == 308 and resp.headers["Location"] == "/"


def test_redirect_is_followed_with_the_same_method_and_body(client, db):
    resp = client.post("/instances/admin/private/token", json={"scope": "readonly"},
                       headers=factories.basic("admin", factories.ADMIN_PASSWORD),
                       follow_redirects=True)
    assert resp.status_code == 200, resp.get_json()
    assert db.execute("SELECT count(*) AS n FROM tokens").fetchone()["n"] == 1


def test_other_instances_are_served_under_their_prefix(client, admin_headers):
    headers = factories.instance_headers(client, admin_headers, "shop1")
    assert client.get("/instances/shop1/private", headers=headers).get_json()["id"] == "shop1"
    assert client.get("/private", headers=admin_headers).get_json()["id"] == "admin"


@pytest.mark.parametrize("instance", ["nosuch", "x", "-bad", "a.b", "Admin", "%C3%A9t%C3%A9"])
def test_unknown_instance_is_404_2000_before_authentication(client, admin_headers, instance):
    assert_error(client.get(f"/instances/{instance}/private"), 404, 2000)
    assert_error(client.get(f"/instances/{instance}/private", headers=admin_headers), 404, 2000)
    assert_error(client.post(f"/instances/{instance}/private/token", json={"scope": "all"}),
                 404, 2000)


def test_instance_ids_are_case_sensitive(client, admin_headers):
    factories.create_instance(client, admin_headers, "Shop")
    assert_error(client.get("/instances/shop/private"), 404, 2000)
    assert_error(client.get("/instances/Shop/private"), 401, 2015)


def test_config_is_served_under_every_instance_base_url(client, admin_headers):
    factories.create_instance(client, admin_headers, "shop1")
    root = client.get("/config")
    shop = client.get("/instances/shop1/config")
    assert root.status_code == shop.status_code == 200
    assert shop.get_json() == root.get_json()


@pytest.mark.parametrize("instance", ["nosuch", "Shop1", "x"])
def test_config_of_an_unknown_instance_is_404_2000(client, admin_headers, instance):
    factories.create_instance(client, admin_headers, "shop1")
    assert_error(client.get(f"/instances/{instance}/config"), 404, 2000)


def test_config_of_a_deleted_instance_is_404_2000(client, admin_headers, db):
    factories.create_instance(client, admin_headers, "shop1")
    assert client.delete("/management/instances/shop1", headers=admin_headers).status_code == 204
    assert_error(client.get("/instances/shop1/config"), 404, 2000)
    assert db.execute("SELECT deleted FROM instances WHERE instance_id = 'shop1'"
                      ).fetchone()["deleted"] is True


def test_management_is_not_instance_scoped(client, admin_headers):
    factories.create_instance(client, admin_headers, "shop1")
    assert_error(client.get("/instances/shop1/management/instances"), 404, 21)
    assert_error(client.get("/instances/shop1/openapi.json"), 404, 21)


def test_a_204_has_neither_body_nor_content_type(client, admin_headers):
    resp = client.patch("/private", json={"name": "Renamed"}, headers=admin_headers)
    assert resp.status_code == 204
    assert resp.data == b"" and "Content-Type" not in resp.headers
    assert client.get("/private", headers=admin_headers).get_json()["name"] == "Renamed"
    resp = client.delete("/private/token", headers=admin_headers)
    assert resp.status_code == 204 and "Content-Type" not in resp.headers


@pytest.mark.parametrize("alias", ["admin", "default"])
def test_alias_redirect_has_no_content_type(client, alias):
    resp = client.get(f"/instances/{alias}/private")
    assert resp.status_code == 308 and resp.data == b""
    assert "Content-Type" not in resp.headers
