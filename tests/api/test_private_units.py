"""Units: GET|POST /private/units, GET|PATCH|DELETE /private/units/$UNIT, and the
fractions and precision a product takes from its unit."""
import pytest

from tests import factories as f
from tests.checks import assert_error

URL = "/private/units"

KG = {"unit_serial": 3, "unit": "kg", "unit_name_long": "kilogram", "unit_name_short": "kg",
      "unit_name_long_i18n": {}, "unit_name_short_i18n": {}, "unit_allow_fraction": True,
      "unit_precision_level": 3, "unit_active": True, "unit_builtin": True}

CRATE = {"unit": "crate", "unit_name_long": "crate of 12", "unit_name_short": "cr",
         "unit_name_long_i18n": {"de": "Kiste zu 12"}, "unit_name_short_i18n": {"de": "Ki"},
         "unit_allow_fraction": True, "unit_precision_level": 1}


def units(client, headers, instance="admin"):
    resp = client.get(f"{f.prefix(instance)}{URL}", headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return {u["unit"]: u for u in resp.get_json()["units"]}


def unit(client, headers, name, instance="admin"):
    return client.get(f"{f.prefix(instance)}{URL}/{name}", headers=headers)


def post(client, headers, body, instance="admin"):
    return client.post(f"{f.prefix(instance)}{URL}", json=body, headers=headers)


def patch(client, headers, name, body, instance="admin"):
    return client.patch(f"{f.prefix(instance)}{URL}/{name}", json=body, headers=headers)


def delete(client, headers, name, instance="admin"):
    return client.delete(f"{f.prefix(instance)}{URL}/{name}", headers=headers)


def test_builtin_units_with_their_defaults(client, admin_headers):
    listed = units(client, admin_headers)
    assert listed["kg"] == KG
    assert (listed["piece"]["unit_allow_fraction"], listed["piece"]["unit_precision_level"]) \
        == (False, 0)
    assert (listed["l"]["unit_allow_fraction"], listed["l"]["unit_precision_level"]) == (True, 3)
    assert all(u["unit_builtin"] and u["unit_active"] for u in listed.values())
    serials = [u["unit_serial"] for u in listed.values()]
    assert serials == sorted(serials) and len(set(serials)) == len(serials)
    resp = unit(client, admin_headers, "kg")
    assert resp.status_code == 200 and resp.get_json() == KG


def test_create_show_list_custom_unit(client, admin_headers, db):
    resp = post(client, admin_headers, CRATE)
    assert resp.status_code == 204 and resp.data == b""
    shown = unit(client, admin_headers, "crate").get_json()
    assert shown == dict(CRATE, unit_serial=shown["unit_serial"], unit_active=True,
                         unit_builtin=False)
    assert shown["unit_serial"] > max(u["unit_serial"] for u in units(
        client, admin_headers).values() if u["unit_builtin"])
    assert units(client, admin_headers)["crate"] == shown
    assert db.execute("SELECT count(*) AS n FROM units").fetchone()["n"] == 1


def test_defaults_of_a_new_unit(client, admin_headers):
    body = {"unit": "bag", "unit_name_long": "bag", "unit_name_short": "bg"}
    assert post(client, admin_headers, body).status_code == 204
    shown = unit(client, admin_headers, "bag").get_json()
    assert (shown["unit_allow_fraction"], shown["unit_precision_level"], shown["unit_active"],
            shown["unit_name_long_i18n"]) == (False, 0, True, {})
    # A precision without fractions is ignored (0); fractions alone get six digits.
    post(client, admin_headers, dict(body, unit="bag2", unit_precision_level=2))
    assert unit(client, admin_headers, "bag2").get_json()["unit_precision_level"] == 0
    post(client, admin_headers, dict(body, unit="bag3", unit_allow_fraction=True))
    assert unit(client, admin_headers, "bag3").get_json()["unit_precision_level"] == 6


def test_post_of_a_builtin_name_is_409(client, admin_headers, db):
    body = assert_error(post(client, admin_headers, dict(CRATE, unit="kg")), 409, 2038)
    assert body["parameter"] == "unit"
    assert unit(client, admin_headers, "kg").get_json() == KG
    assert db.execute("SELECT count(*) AS n FROM units").fetchone()["n"] == 0


def test_post_again_redefines_and_reactivates(client, admin_headers):
    post(client, admin_headers, CRATE)
    serial = unit(client, admin_headers, "crate").get_json()["unit_serial"]
    assert patch(client, admin_headers, "crate", {"unit_active": False}).status_code == 204
    assert unit(client, admin_headers, "crate").get_json()["unit_active"] is False
    assert post(client, admin_headers, dict(CRATE, unit_name_long="crate")).status_code == 204
    shown = unit(client, admin_headers, "crate").get_json()
    assert (shown["unit_serial"], shown["unit_name_long"], shown["unit_active"]) \
        == (serial, "crate", True)


def test_patch_custom_unit(client, admin_headers):
    post(client, admin_headers, CRATE)
    before = unit(client, admin_headers, "crate").get_json()
    assert patch(client, admin_headers, "crate", {}).status_code == 204
    assert unit(client, admin_headers, "crate").get_json() == before
    change = {"unit_name_long": "box", "unit_name_short": "bx",
              "unit_name_long_i18n": {"fr": "boîte"}, "unit_precision_level": 4}
    assert patch(client, admin_headers, "crate", change).status_code == 204
    assert unit(client, admin_headers, "crate").get_json() == dict(before, **change)
    # Disabling fractions forces the precision to 0; enabling them again without a
    # precision gives the default.
    patch(client, admin_headers, "crate", {"unit_allow_fraction": False})
    shown = unit(client, admin_headers, "crate").get_json()
    assert (shown["unit_allow_fraction"], shown["unit_precision_level"]) == (False, 0)
    patch(client, admin_headers, "crate", {"unit_allow_fraction": True})
    assert unit(client, admin_headers, "crate").get_json()["unit_precision_level"] == 6


def test_patch_builtin_unit_settings(client, admin_headers):
    change = {"unit_precision_level": 1, "unit_active": False}
    assert patch(client, admin_headers, "kg", change).status_code == 204
    assert unit(client, admin_headers, "kg").get_json() == dict(KG, **change)
    assert units(client, admin_headers)["kg"] == dict(KG, **change)
    patch(client, admin_headers, "piece", {"unit_allow_fraction": True,
                                           "unit_precision_level": 2})
    shown = unit(client, admin_headers, "piece").get_json()
    assert (shown["unit_allow_fraction"], shown["unit_precision_level"],
            shown["unit_builtin"], shown["unit_name_short"]) == (True, 2, True, "pc")


@pytest.mark.parametrize("field, value", [
    ("unit_name_long", "kilo"), ("unit_name_short", "k"), ("unit_name_long_i18n", {"de": "x"}),
    ("unit_name_short_i18n", {"de": "x"}),
])
def test_names_of_builtin_units_are_fixed(client, admin_headers, db, field, value):
    body = assert_error(patch(client, admin_headers, "kg",
                              {field: value, "unit_precision_level": 1}), 409, 2038)
    assert body["parameter"] == field
    assert unit(client, admin_headers, "kg").get_json() == KG
    assert db.execute("SELECT count(*) AS n FROM units").fetchone()["n"] == 0


def test_delete(client, admin_headers):
    post(client, admin_headers, CRATE)
    f.create_product(client, admin_headers, "apples", unit="crate", total_stock=3)
    assert delete(client, admin_headers, "crate").status_code == 204
    assert_error(unit(client, admin_headers, "crate"), 404, 2037)
    assert "crate" not in units(client, admin_headers)
    assert_error(delete(client, admin_headers, "crate"), 404, 2037)
    # Its products keep their unit and what they took from it.
    detail = f.product(client, admin_headers, "apples")
    assert (detail["unit"], detail["unit_allow_fraction"], detail["unit_precision_level"]) \
        == ("crate", True, 1)


def test_builtin_units_cannot_be_deleted(client, admin_headers):
    patch(client, admin_headers, "kg", {"unit_precision_level": 2})
    assert_error(delete(client, admin_headers, "kg"), 409, 2038)
    assert unit(client, admin_headers, "kg").get_json()["unit_precision_level"] == 2


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
@pytest.mark.parametrize("name", ["nope", "KG", "a%00b", "x" * 300])
def test_unknown_unit_is_404(client, admin_headers, db, method, name):
    kwargs = {"json": {"unit_active": False}} if method == "patch" else {}
    resp = getattr(client, method)(f"{URL}/{name}", headers=admin_headers, **kwargs)
    assert_error(resp, 404, 2037)
    assert db.execute("SELECT count(*) AS n FROM units").fetchone()["n"] == 0


@pytest.mark.parametrize("body, named", [
    ({}, "unit"),
    ({"unit": ""}, "unit"),
    ({"unit": "a/b"}, "unit"),
    ({"unit": 7}, "unit"),
    ({"unit_name_long": ""}, "unit_name_long"),
    ({"unit_name_short": 1}, "unit_name_short"),
    ({"unit_name_long_i18n": {"de": 1}}, "unit_name_long_i18n.de.value"),
    ({"unit_allow_fraction": "yes"}, "unit_allow_fraction"),
    ({"unit_precision_level": 7}, "unit_precision_level"),
    ({"unit_precision_level": 1.5}, "unit_precision_level"),
    ({"unit_active": 1}, "unit_active"),
])
def test_bad_input_is_400_and_changes_nothing(client, admin_headers, db, body, named):
    post(client, admin_headers, CRATE)
    before = units(client, admin_headers)
    full = {**CRATE, "unit": "new", **body}
    if body == {}:
        full.pop("unit")
    resp = assert_error(post(client, admin_headers, full), 400,
                        25 if body == {} else 26)
    assert resp["parameter"].startswith(named.split(".")[0])
    if named != "unit":
        resp = assert_error(patch(client, admin_headers, "crate", body), 400, 26)
        assert resp["parameter"].startswith(named.split(".")[0])
    assert units(client, admin_headers) == before


def test_instances_are_isolated(client, admin_headers, db):
    shop = f.instance_headers(client, admin_headers, "shop1")
    assert post(client, shop, CRATE, instance="shop1").status_code == 204
    assert patch(client, shop, "kg", {"unit_active": False}, instance="shop1").status_code == 204
    assert "crate" not in units(client, admin_headers)
    assert units(client, admin_headers)["kg"] == KG
    for resp in (unit(client, admin_headers, "crate"),
                 patch(client, admin_headers, "crate", {"unit_active": False}),
                 delete(client, admin_headers, "crate")):
        assert_error(resp, 404, 2037)
    assert units(client, shop, "shop1")["crate"]["unit_active"] is True
    assert units(client, shop, "shop1")["kg"]["unit_active"] is False
    # The admin instance may have a unit of the same name.
    assert post(client, admin_headers, dict(CRATE, unit_name_long="other")).status_code == 204
    assert unit(client, shop, "crate", "shop1").get_json()["unit_name_long"] == "crate of 12"


# -- what a product takes from its unit ---------------------------------------------

def test_product_takes_fractions_from_its_unit(client, admin_headers):
    # The example of the issue: "kg" with a stock of 2.5 (refused before units).
    f.create_product(client, admin_headers, "flour", unit="kg", unit_total_stock="2.5")
    detail = f.product(client, admin_headers, "flour")
    assert (detail["unit_allow_fraction"], detail["unit_precision_level"],
            detail["unit_total_stock"]) == (True, 3, "2.5")


def test_product_of_a_unit_without_fractions(client, admin_headers, db):
    resp = client.post("/private/products", headers=admin_headers, json={
        "product_id": "cup", "description": "a cup", "unit": "piece", "price": "KUDOS:1",
        "unit_total_stock": "2.5"})
    assert assert_error(resp, 400, 26)["parameter"] == "unit_total_stock"
    assert db.execute("SELECT count(*) AS n FROM products").fetchone()["n"] == 0


def test_precision_of_the_unit_bounds_the_product(client, admin_headers):
    resp = client.post("/private/products", headers=admin_headers, json={
        "product_id": "flour", "description": "flour", "unit": "kg", "price": "KUDOS:1",
        "unit_total_stock": "2.0005"})
    assert assert_error(resp, 400, 26)["parameter"] == "unit_total_stock"


def test_explicit_values_win_over_the_unit(client, admin_headers):
    f.create_product(client, admin_headers, "a", unit="kg", unit_allow_fraction=False)
    f.create_product(client, admin_headers, "b", unit="kg", unit_precision_level=5)
    f.create_product(client, admin_headers, "c", unit="piece", unit_allow_fraction=True)
    f.create_product(client, admin_headers, "d", unit="piece", unit_precision_level=2)
    shown = {p: (d["unit_allow_fraction"], d["unit_precision_level"]) for p, d in
             ((p, f.product(client, admin_headers, p)) for p in "abcd")}
    # A precision counts only with fractions (SPEC: default 6, forced to 0 without).
    assert shown == {"a": (False, 0), "b": (True, 5), "c": (True, 6), "d": (False, 0)}


def test_product_takes_the_instances_settings_of_its_unit(client, admin_headers):
    post(client, admin_headers, CRATE)
    patch(client, admin_headers, "kg", {"unit_precision_level": 1})
    f.create_product(client, admin_headers, "apples", unit="crate")
    f.create_product(client, admin_headers, "flour", unit="kg")
    assert f.product(client, admin_headers, "apples")["unit_precision_level"] == 1
    assert f.product(client, admin_headers, "flour")["unit_precision_level"] == 1
    # Another instance's settings do not count.
    shop = f.instance_headers(client, admin_headers, "shop1")
    f.create_product(client, shop, "apples", instance="shop1", unit="crate")
    f.create_product(client, shop, "flour", instance="shop1", unit="kg")
    apples = f.product(client, shop, "apples", instance="shop1")
    assert (apples["unit_allow_fraction"], apples["unit_precision_level"]) == (False, 0)
    assert f.product(client, shop, "flour", instance="shop1")["unit_precision_level"] == 3


def test_product_of_an_inactive_unit_still_takes_it(client, admin_headers):
    patch(client, admin_headers, "kg", {"unit_active": False})
    f.create_product(client, admin_headers, "flour", unit="kg", unit_total_stock="1.5")
    assert f.product(client, admin_headers, "flour")["unit_precision_level"] == 3


def test_product_of_an_unknown_unit_counts_whole_units(client, admin_headers):
    f.create_product(client, admin_headers, "tea", unit="Packung")
    detail = f.product(client, admin_headers, "tea")
    assert (detail["unit"], detail["unit_allow_fraction"], detail["unit_precision_level"]) \
        == ("Packung", False, 0)


def test_same_product_again_is_idempotent_with_unit_defaults(client, admin_headers):
    body = f.create_product(client, admin_headers, "flour", unit="kg", unit_total_stock="2.5")
    assert client.post("/private/products", json=body, headers=admin_headers).status_code == 204
    # The unit's settings changed since: what the request left to the unit does not
    # make the same request a conflict, and the product keeps what it took.
    patch(client, admin_headers, "kg", {"unit_precision_level": 2})
    assert client.post("/private/products", json=body, headers=admin_headers).status_code == 204
    assert f.product(client, admin_headers, "flour")["unit_precision_level"] == 3
    explicit = dict(body, unit_precision_level=2)
    assert_error(client.post("/private/products", json=explicit, headers=admin_headers),
                 409, 2650)
