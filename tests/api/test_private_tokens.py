"""``GET /private/tokens`` and ``DELETE /private/tokens/$SERIAL``."""
import pytest
from freezegun import freeze_time

from tests import factories
from tests.checks import assert_error

ADMIN_PW = factories.ADMIN_PASSWORD
T0 = 1893456000  # 2030-01-01 00:00:00 UTC


def _new(client, scope="readonly", **body):
    return factories.token(client, "admin", ADMIN_PW, scope, **body)


def test_list_shows_tokens_without_secrets(client, db):
    with freeze_time("2030-01-01 00:00:00"):
        secret = _new(client, "order-pos:refreshable", description="till 1",
                      duration={"d_us": 3_600_000_000})
        viewer = _new(client, "readonly")
        resp = client.get("/private/tokens", headers=factories.auth_headers(viewer))
    assert resp.status_code == 200
    tokens = resp.get_json()["tokens"]
    assert len(tokens) == 2
    second, first = tokens  # newest first
    assert first == {"serial": first["serial"], "scope": "order-pos:refreshable",
                     "refreshable": True, "creation_time": {"t_s": T0},
                     "expiration": {"t_s": T0 + 3600}, "description": "till 1"}
    assert "description" not in second  # absent, not null
    assert second["scope"] == "readonly" and second["refreshable"] is False
    text = resp.get_data(as_text=True)
    assert secret.split(":", 1)[1] not in text and viewer.split(":", 1)[1] not in text
    assert "hash" not in text
    serials = {r["token_serial"] for r in db.execute("SELECT token_serial FROM tokens")}
    assert {t["serial"] for t in tokens} == serials


def test_list_hides_expired_tokens(client):
    with freeze_time("2030-01-01 00:00:00") as clock:
        _new(client, duration={"d_us": 10_000_000})
        viewer = factories.auth_headers(_new(client))
        clock.tick(10)
        tokens = client.get("/private/tokens", headers=viewer).get_json()["tokens"]
    assert len(tokens) == 1


def test_list_pagination(client):
    viewer = factories.auth_headers(_new(client))
    for _ in range(4):
        _new(client)
    all_serials = [t["serial"] for t in
                   client.get("/private/tokens", headers=viewer).get_json()["tokens"]]
    # Without a limit: the newest 20, newest first (limit -20, as documented).
    assert all_serials == sorted(all_serials, reverse=True) and len(all_serials) == 5
    all_serials.reverse()
    page = client.get(f"/private/tokens?limit=2&offset={all_serials[1]}", headers=viewer)
    assert [t["serial"] for t in page.get_json()["tokens"]] == all_serials[2:4]
    page = client.get("/private/tokens?limit=-2", headers=viewer)
    assert [t["serial"] for t in page.get_json()["tokens"]] == all_serials[::-1][:2]
    page = client.get(f"/private/tokens?limit=-10&offset={all_serials[2]}", headers=viewer)
    assert [t["serial"] for t in page.get_json()["tokens"]] == all_serials[1::-1]


@pytest.mark.parametrize("query, field", [("limit=abc", "limit"), ("limit=1.5", "limit"),
                                          ("offset=-1", "offset"), ("limit=", "limit")])
def test_list_malformed_query_is_400(client, query, field):
    viewer = factories.auth_headers(_new(client))
    err = assert_error(client.get(f"/private/tokens?{query}", headers=viewer), 400, 26)
    assert err["detail"] == field


def test_list_is_per_instance(client, admin_headers):
    shop1 = factories.instance_headers(client, admin_headers, "shop1")
    tokens = client.get("/instances/shop1/private/tokens", headers=shop1).get_json()["tokens"]
    assert len(tokens) == 1
    admin_tokens = client.get("/private/tokens", headers=admin_headers).get_json()["tokens"]
    assert {t["serial"] for t in tokens}.isdisjoint(t["serial"] for t in admin_tokens)


def test_delete_by_serial_revokes_that_token(client, db):
    manager = factories.auth_headers(_new(client, "all"))
    victim = factories.auth_headers(_new(client, "readonly"))
    serial = max(r["token_serial"] for r in db.execute("SELECT token_serial FROM tokens"))
    resp = client.delete(f"/private/tokens/{serial}", headers=manager)
    assert resp.status_code == 204
    assert_error(client.get("/private", headers=victim), 401, 2015)
    assert client.get("/private", headers=manager).status_code == 200
    assert db.execute("SELECT count(*) AS n FROM tokens WHERE token_serial = %s",
                      (serial,)).fetchone()["n"] == 0
    assert_error(client.delete(f"/private/tokens/{serial}", headers=manager), 404, 10104)


def test_delete_by_serial_of_another_instance_is_404(client, admin_headers, db):
    factories.instance_headers(client, admin_headers, "shop1")
    shop_serial = db.execute(
        "SELECT token_serial FROM tokens JOIN instances USING (instance_serial)"
        " WHERE instance_id = 'shop1'").fetchone()["token_serial"]
    assert_error(client.delete(f"/private/tokens/{shop_serial}", headers=admin_headers),
                 404, 10104)
    assert db.execute("SELECT count(*) AS n FROM tokens WHERE token_serial = %s",
                      (shop_serial,)).fetchone()["n"] == 1


def test_delete_by_serial_needs_instances_write(client, db):
    readonly = factories.auth_headers(_new(client, "readonly"))
    serial = db.execute("SELECT token_serial FROM tokens").fetchone()["token_serial"]
    assert_error(client.delete(f"/private/tokens/{serial}", headers=readonly), 403, 16)
    assert_error(client.delete(f"/private/tokens/{serial}"), 401, 2015)
    assert db.execute("SELECT count(*) AS n FROM tokens").fetchone()["n"] == 1


def test_delete_by_malformed_serial_is_404(client, admin_headers):
    assert_error(client.delete("/private/tokens/abc", headers=admin_headers), 404, 21)
