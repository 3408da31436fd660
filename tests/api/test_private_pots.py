"""Money pots: GET|POST /private/pots, GET|PATCH|DELETE /private/pots/$POT_ID, and
``money_pot_id`` on products."""
import functools

import pytest

from tests import factories as f
from tests.checks import assert_error

URL = "/private/pots"
create = functools.partial(f.create_named, "pot")


def show(client, headers, pot, instance="admin"):
    return client.get(f"{f.prefix(instance)}{URL}/{pot}", headers=headers)


def patch(client, headers, pot, body, instance="admin"):
    return client.patch(f"{f.prefix(instance)}{URL}/{pot}", json=body, headers=headers)


def count(db, table="money_pots"):
    return db.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"]


def test_create_show_list(client, admin_headers):
    tips = create(client, admin_headers, "Tips", "for the staff")
    bar = create(client, admin_headers, "Bar")
    resp = show(client, admin_headers, tips)
    assert resp.status_code == 200
    assert resp.get_json() == {"pot_name": "Tips", "description": "for the staff",
                               "pot_totals": []}
    resp = client.get(URL, headers=admin_headers)
    assert resp.get_json() == {"pots": [
        {"pot_serial": bar, "pot_name": "Bar", "pot_totals": []},
        {"pot_serial": tips, "pot_name": "Tips", "pot_totals": []}]}
    resp = client.get(f"{URL}?limit=1&offset={tips}", headers=admin_headers)
    assert [p["pot_serial"] for p in resp.get_json()["pots"]] == [bar]


def test_same_name_is_409(client, admin_headers, db):
    create(client, admin_headers, "Tips")
    resp = client.post(URL, json={"pot_name": "Tips", "description": ""}, headers=admin_headers)
    assert_error(resp, 409, 2795)
    assert count(db) == 1


def test_patch_names_and_totals(client, admin_headers):
    tips = create(client, admin_headers, "Tips")
    create(client, admin_headers, "Bar")
    body = {"pot_name": "Tip jar", "description": "staff",
            "new_pot_totals": ["KUDOS:10.50", "EUR:3"]}
    assert patch(client, admin_headers, tips, body).status_code == 204
    assert show(client, admin_headers, tips).get_json() == {
        "pot_name": "Tip jar", "description": "staff", "pot_totals": ["KUDOS:10.5", "EUR:3"]}
    # Without new totals the totals stay, whatever is expected.
    body = {"pot_name": "Tip jar", "description": "", "expected_pot_totals": ["KUDOS:1"]}
    assert patch(client, admin_headers, tips, body).status_code == 204
    assert show(client, admin_headers, tips).get_json()["pot_totals"] == ["KUDOS:10.5", "EUR:3"]
    # Expected totals must match (order and zero entries aside) for a reset.
    body = {"pot_name": "Tip jar", "description": "", "new_pot_totals": [],
            "expected_pot_totals": ["EUR:3", "KUDOS:10.5", "CHF:0"]}
    assert patch(client, admin_headers, tips, body).status_code == 204
    assert show(client, admin_headers, tips).get_json()["pot_totals"] == []


def test_reset_with_other_totals_than_expected_is_409(client, admin_headers):
    tips = create(client, admin_headers, "Tips")
    patch(client, admin_headers, tips, {"pot_name": "Tips", "description": "",
                                        "new_pot_totals": ["KUDOS:5"]})
    body = {"pot_name": "Renamed", "description": "x", "new_pot_totals": [],
            "expected_pot_totals": ["KUDOS:4"]}
    assert_error(patch(client, admin_headers, tips, body), 409, 2796)
    assert show(client, admin_headers, tips).get_json() == {
        "pot_name": "Tips", "description": "", "pot_totals": ["KUDOS:5"]}


def test_rename_to_a_taken_name_is_409(client, admin_headers):
    tips = create(client, admin_headers, "Tips")
    create(client, admin_headers, "Bar")
    assert_error(patch(client, admin_headers, tips, {"pot_name": "Bar", "description": ""}),
                 409, 2795)
    assert show(client, admin_headers, tips).get_json()["pot_name"] == "Tips"


def test_delete_leaves_products_without_pot(client, admin_headers):
    tips = create(client, admin_headers, "Tips")
    f.create_product(client, admin_headers, "coffee", money_pot_id=tips)
    assert f.product(client, admin_headers, "coffee")["money_pot_id"] == tips
    assert client.delete(f"{URL}/{tips}", headers=admin_headers).status_code == 204
    assert_error(show(client, admin_headers, tips), 404, 2035)
    assert "money_pot_id" not in f.product(client, admin_headers, "coffee")
    assert_error(client.delete(f"{URL}/{tips}", headers=admin_headers), 404, 2035)


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_unknown_pot_is_404(client, admin_headers, method):
    shop = f.instance_headers(client, admin_headers, "shop1")
    theirs = create(client, shop, "Theirs", instance="shop1")
    for pot in (424242, theirs):
        kwargs = {"json": {"pot_name": "x", "description": ""}} if method == "patch" else {}
        assert_error(getattr(client, method)(f"{URL}/{pot}", headers=admin_headers, **kwargs),
                     404, 2035)
    assert show(client, shop, theirs, instance="shop1").get_json()["pot_name"] == "Theirs"


@pytest.mark.parametrize("pot_id", ["abc", "-1", "0x1", "9" * 30])
def test_malformed_id_is_400(client, admin_headers, pot_id):
    assert assert_error(show(client, admin_headers, pot_id), 400, 26)["parameter"] == "pot_id"


@pytest.mark.parametrize("body, code, named", [
    ({"description": ""}, 25, "pot_name"),
    ({"pot_name": "x"}, 25, "description"),
    ({"pot_name": "", "description": ""}, 26, "pot_name"),
    ({"pot_name": "x", "description": "", "new_pot_totals": ["KUDOS"]}, 26, "new_pot_totals"),
    ({"pot_name": "x", "description": "", "new_pot_totals": "KUDOS:1"}, 26, "new_pot_totals"),
    ({"pot_name": "x", "description": "", "new_pot_totals": ["EUR:1", "EUR:2"]}, 26,
     "new_pot_totals"),
    ({"pot_name": "x", "description": "", "new_pot_totals": [],
      "expected_pot_totals": [1]}, 26, "expected_pot_totals"),
])
def test_bad_input_is_400_and_changes_nothing(client, admin_headers, body, code, named):
    tips = create(client, admin_headers, "Tips", "as is")
    before = show(client, admin_headers, tips).get_json()
    resp = patch(client, admin_headers, tips, body)
    assert assert_error(resp, 400, code)["parameter"].startswith(named)
    if "new_pot_totals" not in body and "expected_pot_totals" not in body:
        resp = client.post(URL, json=body, headers=admin_headers)
        assert assert_error(resp, 400, code)["parameter"] == named
    assert show(client, admin_headers, tips).get_json() == before
    assert len(client.get(URL, headers=admin_headers).get_json()["pots"]) == 1


def test_instances_are_isolated(client, admin_headers):
    shop = f.instance_headers(client, admin_headers, "shop1")
    create(client, shop, "Tips", instance="shop1")
    assert client.get(URL, headers=admin_headers).get_json() == {"pots": []}
    create(client, admin_headers, "Tips")


# -- money_pot_id and price_is_net on products -------------------------------------------

def test_product_pot_is_stored_returned_and_changed(client, admin_headers):
    tips = create(client, admin_headers, "Tips")
    bar = create(client, admin_headers, "Bar")
    f.create_product(client, admin_headers, "coffee", money_pot_id=tips, price_is_net=True)
    detail = f.product(client, admin_headers, "coffee")
    assert (detail["money_pot_id"], detail["price_is_net"]) == (tips, True)
    body = {"money_pot_id": bar, "price_is_net": False}
    assert client.patch("/private/products/coffee", json=body,
                        headers=admin_headers).status_code == 204
    detail = f.product(client, admin_headers, "coffee")
    assert (detail["money_pot_id"], detail["price_is_net"]) == (bar, False)
    pos = client.get("/private/pos", headers=admin_headers).get_json()["products"][0]
    assert (pos["money_pot_id"], pos["price_is_net"]) == (bar, False)


def test_product_with_unknown_pot_is_404(client, admin_headers, db):
    shop = f.instance_headers(client, admin_headers, "shop1")
    theirs = create(client, shop, "Theirs", instance="shop1")
    body = {"product_id": "tea", "description": "tea", "unit": "piece", "price": "KUDOS:1",
            "total_stock": 1, "money_pot_id": theirs}
    resp = client.post("/private/products", json=body, headers=admin_headers)
    assert assert_error(resp, 404, 2035)["parameter"] == "money_pot_id"
    assert count(db, "products") == 0


@pytest.mark.parametrize("field, value", [("money_pot_id", "1"), ("price_is_net", "yes"),
                                          ("price_is_net", 1)])
def test_malformed_product_fields_are_400(client, admin_headers, field, value):
    f.create_product(client, admin_headers, "cup")
    before = f.product(client, admin_headers, "cup")
    resp = client.patch("/private/products/cup", json={field: value}, headers=admin_headers)
    assert assert_error(resp, 400, 26)["parameter"] == field
    assert f.product(client, admin_headers, "cup") == before


def test_purging_an_instance_removes_its_units_groups_and_pots(client, admin_headers, db):
    shop = f.instance_headers(client, admin_headers, "shop1")
    pot = create(client, shop, "Tips", instance="shop1")
    group = client.post("/instances/shop1/private/groups", headers=shop,
                        json={"group_name": "Bar", "description": ""}).get_json()["group_serial_id"]
    client.post("/instances/shop1/private/units", headers=shop,
                json={"unit": "crate", "unit_name_long": "crate", "unit_name_short": "cr"})
    f.create_product(client, shop, "tea", instance="shop1", unit="crate",
                     money_pot_id=pot, product_group_id=group)
    create(client, admin_headers, "Kept")
    resp = client.delete("/management/instances/shop1?purge=YES", headers=admin_headers)
    assert resp.status_code == 204
    for table in ("money_pots", "product_groups", "units", "products"):
        rows = db.execute(f"SELECT instance_serial FROM {table}").fetchall()
        assert all(r["instance_serial"] == 1 for r in rows), table
    assert count(db) == 1
