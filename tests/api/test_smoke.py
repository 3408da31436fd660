"""A first walk through the foundation: config, token, instance creation."""


def test_config_is_public(client):
    resp = client.get("/config")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["name"] == "taler-merchant"
    assert body["currency"] in body["currencies"]


def test_admin_token_creates_instance(client, admin_headers, db):
    resp = client.post("/management/instances", headers=admin_headers, json={
        "id": "shop1", "name": "Shop 1", "auth": {"method": "token", "password": "pw"}})
    assert resp.status_code == 204, resp.get_json()
    row = db.execute("SELECT name FROM instances WHERE instance_id = 'shop1'").fetchone()
    assert row["name"] == "Shop 1"
