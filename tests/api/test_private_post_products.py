"""POST /private/products: creation, idempotence, conflicts and bad input."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import factories as f

URL = "/private/products"

FULL = {
    "product_id": "coffee",
    "product_name": "Coffee beans",
    "description": "Arabica, 1 kg",
    "description_i18n": {"de": "Arabica, 1 kg", "fr": "Arabica, 1 kg"},
    "unit": "kg",
    "unit_allow_fraction": True,
    "unit_precision_level": 3,
    "unit_price": ["KUDOS:12.5", "EUR:11"],
    "image": "data:image/png;base64,iVBORw0KGgo=",
    "taxes": [{"name": "VAT", "tax": "KUDOS:0.8"}],
    "address": {"country": "CH", "town_location": "Bern"},
    "next_restock": {"t_s": 1900000000},
    "minimum_age": 18,
    "unit_total_stock": "100.125",
    "unit_total_sold": "2.5",
    "unit_total_lost": "0.25",
    "unit_minimum_quantity": "0.5",
    "price_is_net": True,
}


def post(client, headers, body, instance="admin"):
    return client.post(f"{f.prefix(instance)}{URL}", json=body, headers=headers)


def count_products(db):
    return db.execute("SELECT count(*) AS n FROM products").fetchone()["n"]


def test_every_field_round_trips(client, admin_headers, db):
    resp = post(client, admin_headers, FULL)
    assert resp.status_code == 204, resp.get_json()
    assert resp.data == b""
    assert f.product(client, admin_headers, "coffee") == {
        "product_name": "Coffee beans",
        "description": "Arabica, 1 kg",
        "description_i18n": {"de": "Arabica, 1 kg", "fr": "Arabica, 1 kg"},
        "unit": "kg",
        "unit_allow_fraction": True,
        "unit_precision_level": 3,
        "unit_price": ["KUDOS:12.5", "EUR:11"],
        "price": "KUDOS:12.5",
        "image": "data:image/png;base64,iVBORw0KGgo=",
        "taxes": [{"name": "VAT", "tax": "KUDOS:0.8"}],
        "address": {"country": "CH", "town_location": "Bern"},
        "categories": [],
        "price_is_net": True,
        "next_restock": {"t_s": 1900000000},
        "minimum_age": 18,
        "unit_total_stock": "100.125", "total_stock": 100,
        "unit_total_sold": "2.5", "total_sold": 2,
        "unit_total_lost": "0.25", "total_lost": 0,
        "unit_total_locked": "0", "total_locked": 0,
        "unit_total_available": "97.375", "total_available": 97,
        "unit_minimum_quantity": "0.5", "minimum_quantity": 0,
    }


def test_minimal_legacy_product_gets_defaults(client, admin_headers):
    resp = post(client, admin_headers, {"product_id": "tea", "description": "Green tea",
                                        "unit": "box", "price": "KUDOS:3", "total_stock": 4})
    assert resp.status_code == 204, resp.get_json()
    detail = f.product(client, admin_headers, "tea")
    assert detail["product_name"] == "tea"
    assert detail["unit_price"] == ["KUDOS:3"] and detail["price"] == "KUDOS:3"
    assert detail["image"] == "" and detail["address"] == {} and detail["taxes"] == []
    assert detail["description_i18n"] == {} and detail["categories"] == []
    assert detail["unit_allow_fraction"] is False and detail["unit_precision_level"] == 0
    assert (detail["unit_total_stock"], detail["total_stock"]) == ("4", 4)
    assert (detail["unit_total_sold"], detail["total_sold"]) == ("0", 0)
    assert (detail["unit_minimum_quantity"], detail["minimum_quantity"]) == ("0", 0)
    assert "next_restock" not in detail and "minimum_age" not in detail
    assert detail["price_is_net"] is False
    assert "product_group_id" not in detail and "money_pot_id" not in detail


def test_nulls_mean_absent(client, admin_headers):
    body = {"product_id": "p", "description": "d", "unit": "u", "price": "KUDOS:1",
            "total_stock": 1, "unit_price": None, "image": None, "taxes": None,
            "address": None, "next_restock": None, "minimum_age": None,
            "unit_total_stock": None, "unit_allow_fraction": None, "categories": None}
    assert post(client, admin_headers, body).status_code == 204
    assert f.product(client, admin_headers, "p")["image"] == ""


@pytest.mark.parametrize("stock", [{"unit_total_stock": "-1"}, {"total_stock": -1},
                                   {"unit_total_stock": "-1", "total_stock": -1}])
def test_unlimited_stock(client, admin_headers, stock):
    f.create_product(client, admin_headers, "u", **dict({"total_stock": None}, **stock))
    detail = f.product(client, admin_headers, "u")
    assert (detail["unit_total_stock"], detail["total_stock"]) == ("-1", -1)
    assert (detail["unit_total_available"], detail["total_available"]) == ("-1", -1)


def test_precision_defaults_to_six_with_fractions(client, admin_headers):
    f.create_product(client, admin_headers, "p", unit_allow_fraction=True,
                     unit_total_stock="0.000001")
    detail = f.product(client, admin_headers, "p")
    assert detail["unit_precision_level"] == 6
    assert detail["unit_total_stock"] == "0.000001" and detail["total_stock"] == 0


def test_precision_forced_to_zero_without_fractions(client, admin_headers):
    f.create_product(client, admin_headers, "p", unit_precision_level=4)
    assert f.product(client, admin_headers, "p")["unit_precision_level"] == 0


def test_canonical_quantities_in_answers(client, admin_headers):
    f.create_product(client, admin_headers, "p", unit_allow_fraction=True,
                     unit_total_stock="2.500000", total_stock=2)
    assert f.product(client, admin_headers, "p")["unit_total_stock"] == "2.5"


def test_identical_repost_is_204_and_changes_nothing(client, admin_headers, db):
    assert post(client, admin_headers, FULL).status_code == 204
    before = f.product(client, admin_headers, "coffee")
    assert post(client, admin_headers, FULL).status_code == 204
    # The same product said with legacy twins and a non-canonical quantity.
    same = dict(FULL, unit_total_stock="100.125000", price="KUDOS:12.50", total_sold=2)
    assert post(client, admin_headers, same).status_code == 204
    assert f.product(client, admin_headers, "coffee") == before
    assert count_products(db) == 1


def test_repost_after_sales_is_still_identical(client, admin_headers, db):
    body = f.create_product(client, admin_headers, "p")
    db.execute("UPDATE products SET total_sold = 3 WHERE product_id = 'p'")
    assert post(client, admin_headers, body).status_code == 204
    assert f.product(client, admin_headers, "p")["total_sold"] == 3


@pytest.mark.parametrize("change", [
    {"description": "other"}, {"unit": "kg"}, {"unit_price": ["KUDOS:2"]},
    {"total_stock": 11}, {"unit_total_stock": "-1", "total_stock": None},
    {"image": "data:,x"}, {"minimum_age": 12}, {"taxes": [{"name": "VAT", "tax": "KUDOS:0"}]},
    {"address": {"country": "DE"}}, {"description_i18n": {"en": "x"}},
    {"unit_minimum_quantity": "1"}, {"product_name": "Other"}, {"next_restock": {"t_s": 5}},
    {"unit_total_lost": "1"},
])
def test_same_id_other_details_is_409(client, admin_headers, db, change):
    body = f.create_product(client, admin_headers, "p")
    before = f.product(client, admin_headers, "p")
    resp = post(client, admin_headers, {k: v for k, v in dict(body, **change).items()
                                        if v is not None})
    assert resp.status_code == 409
    assert resp.get_json()["code"] == 2650
    assert f.product(client, admin_headers, "p") == before


def test_other_categories_is_409(client, admin_headers):
    cat = client.post("/private/categories", json={"name": "Drinks"},
                      headers=admin_headers).get_json()["category_id"]
    body = f.create_product(client, admin_headers, "p", categories=[cat])
    assert post(client, admin_headers, body).status_code == 204
    resp = post(client, admin_headers, dict(body, categories=[]))
    assert (resp.status_code, resp.get_json()["code"]) == (409, 2650)


def test_same_id_in_two_instances_is_two_products(client, admin_headers, db):
    shop = f.instance_headers(client, admin_headers, "shop1")
    f.create_product(client, admin_headers, "p", total_stock=1)
    f.create_product(client, shop, "p", instance="shop1", total_stock=2)
    assert f.product(client, admin_headers, "p")["total_stock"] == 1
    assert f.product(client, shop, "p", instance="shop1")["total_stock"] == 2
    assert count_products(db) == 2


def test_categories_are_attached(client, admin_headers):
    ids = [client.post("/private/categories", json={"name": n}, headers=admin_headers)
           .get_json()["category_id"] for n in ("a", "b")]
    f.create_product(client, admin_headers, "p", categories=[ids[1], ids[0], ids[1]])
    assert f.product(client, admin_headers, "p")["categories"] == sorted(ids)


def test_unknown_category_is_404(client, admin_headers, db):
    shop = f.instance_headers(client, admin_headers, "shop1")
    other = client.post("/instances/shop1/private/categories", json={"name": "x"},
                        headers=shop).get_json()["category_id"]
    for cats in ([999], [other]):
        resp = post(client, admin_headers, {"product_id": "p", "description": "d", "unit": "u",
                                            "price": "KUDOS:1", "total_stock": 1,
                                            "categories": cats})
        assert (resp.status_code, resp.get_json()["code"]) == (404, 2003)
        # The field is named, as in a PATCH.
        assert resp.get_json()["detail"] == resp.get_json()["parameter"] == "categories"
    assert count_products(db) == 0


def test_lost_beyond_stock_minus_sold_is_400(client, admin_headers, db):
    resp = post(client, admin_headers, {"product_id": "p", "description": "d", "unit": "u",
                                        "price": "KUDOS:1", "total_stock": 5,
                                        "total_sold": 3, "total_lost": 3})
    assert (resp.status_code, resp.get_json()["code"]) == (400, 2661)
    # A 400 names the field in detail and parameter (doc/errors.rst).
    assert resp.get_json()["detail"] == resp.get_json()["parameter"] == "unit_total_lost"
    assert count_products(db) == 0


BASE = {"product_id": "p", "description": "d", "unit": "u", "unit_price": ["KUDOS:1"],
        "unit_total_stock": "10"}


@pytest.mark.parametrize("missing", ["product_id", "description", "unit"])
def test_missing_required_field_is_400_25(client, admin_headers, db, missing):
    body = {k: v for k, v in BASE.items() if k != missing}
    resp = post(client, admin_headers, body)
    assert (resp.status_code, resp.get_json()["code"]) == (400, 25)
    assert resp.get_json()["parameter"] == missing
    assert count_products(db) == 0


def test_missing_nested_field_is_400_25(client, admin_headers):
    resp = post(client, admin_headers, dict(BASE, taxes=[{"name": "VAT"}]))
    assert (resp.status_code, resp.get_json()["code"]) == (400, 25)
    assert resp.get_json()["parameter"] == "taxes[0].tax"


@pytest.mark.parametrize("missing, named", [("unit_price", "unit_price"),
                                            ("unit_total_stock", "unit_total_stock")])
def test_missing_price_or_stock_is_400_25(client, admin_headers, missing, named):
    resp = post(client, admin_headers, {k: v for k, v in BASE.items() if k != missing})
    assert (resp.status_code, resp.get_json()["code"]) == (400, 25)
    assert resp.get_json()["parameter"] == named


BAD = [
    # (field sent, value, field named)
    ("product_id", "", "product_id"),
    ("product_id", "a/b", "product_id"),
    ("product_id", "x" * 129, "product_id"),
    ("product_id", 5, "product_id"),
    ("product_id", "nul\x00", "product_id"),
    ("description", 5, "description"),
    ("description", ["d"], "description"),
    ("description", "\ud800", "description"),
    ("description", "x" * 70000, "description"),
    ("description_i18n", "de", "description_i18n"),
    ("description_i18n", {"de": 5}, "description_i18n"),
    ("description_i18n", {"de": "a\x00"}, "description_i18n"),
    ("unit", True, "unit"),
    ("product_name", "", "product_name"),
    ("unit_allow_fraction", "true", "unit_allow_fraction"),
    ("unit_allow_fraction", 1, "unit_allow_fraction"),
    ("unit_precision_level", 7, "unit_precision_level"),
    ("unit_precision_level", -1, "unit_precision_level"),
    ("unit_precision_level", True, "unit_precision_level"),
    ("unit_precision_level", "2", "unit_precision_level"),
    ("unit_price", "KUDOS:1", "unit_price"),
    ("unit_price", [], "unit_price"),
    ("unit_price", ["KUDOS:1", "KUDOS:2"], "unit_price"),
    ("unit_price", ["KUDOS"], "unit_price"),
    ("unit_price", ["kudos:1"], "unit_price"),
    ("unit_price", ["KUDOS:1.123456789"], "unit_price"),
    ("unit_price", [f"KUDOS:{2**53}"], "unit_price"),
    ("unit_price", [1], "unit_price"),
    ("price", "KUDOS:2", "unit_price"),          # disagrees with unit_price[0]
    ("image", 7, "image"),
    ("taxes", {"name": "VAT"}, "taxes"),
    ("taxes", [{"name": "VAT", "tax": "1"}], "taxes"),
    ("address", "Bern", "address"),
    ("address", {"street": "\x00"}, "address"),
    ("categories", [1.5], "categories"),
    ("categories", ["1"], "categories"),
    ("categories", [True], "categories"),
    ("categories", [-1], "categories"),
    ("categories", 1, "categories"),
    ("next_restock", 5, "next_restock"),
    ("next_restock", {"t_s": -1}, "next_restock"),
    ("next_restock", {"t_s": "soon"}, "next_restock"),
    ("next_restock", {"t_s": 1.5}, "next_restock"),
    ("minimum_age", -1, "minimum_age"),
    ("minimum_age", "18", "minimum_age"),
    ("minimum_age", 2**40, "minimum_age"),
    ("minimum_age", False, "minimum_age"),
    ("unit_total_stock", 10, "unit_total_stock"),
    ("unit_total_stock", "1e3", "unit_total_stock"),
    ("unit_total_stock", "1.", "unit_total_stock"),
    ("unit_total_stock", ".5", "unit_total_stock"),
    ("unit_total_stock", "+1", "unit_total_stock"),
    ("unit_total_stock", " 1", "unit_total_stock"),
    ("unit_total_stock", "NaN", "unit_total_stock"),
    ("unit_total_stock", "-2", "unit_total_stock"),
    ("unit_total_stock", "0.1234567", "unit_total_stock"),
    ("unit_total_stock", str(2**52), "unit_total_stock"),
    ("unit_total_stock", "1.5", "unit_total_stock"),       # fractions not allowed
    ("total_stock", 9, "unit_total_stock"),                 # disagrees with "10"
    ("total_stock", -1, "unit_total_stock"),                # disagrees with "10"
    ("total_stock", "10", "total_stock"),
    ("total_stock", 10.0, "total_stock"),
    ("total_stock", True, "total_stock"),
    ("total_stock", -2, "total_stock"),
    ("total_stock", 2**52, "total_stock"),
    ("unit_total_sold", "-1", "unit_total_sold"),
    ("total_sold", -1, "total_sold"),
    ("unit_total_lost", "0.5", "unit_total_lost"),
    ("unit_minimum_quantity", "-1", "unit_minimum_quantity"),
    ("unit_minimum_quantity", "0.5", "unit_minimum_quantity"),
    ("minimum_quantity", "1", "minimum_quantity"),
]


@pytest.mark.parametrize("field, value, named", BAD)
def test_bad_input_is_400_naming_the_field(client, admin_headers, db, field, value, named):
    resp = post(client, admin_headers, dict(BASE, **{field: value}))
    assert resp.status_code == 400, resp.get_json()
    body = resp.get_json()
    assert body["code"] == 26, body
    assert body["parameter"].startswith(named), body
    assert count_products(db) == 0


@pytest.mark.parametrize("precision, text, ok", [
    (2, "1.25", True), (2, "1.125", False), (0, "1.5", False), (6, "0.000001", True),
])
def test_quantities_within_the_product_precision(client, admin_headers, db, precision, text,
                                                 ok):
    body = dict(BASE, unit_allow_fraction=True, unit_precision_level=precision,
                unit_minimum_quantity=text)
    resp = post(client, admin_headers, body)
    if ok:
        assert resp.status_code == 204
    else:
        assert (resp.status_code, resp.get_json()["code"]) == (400, 26)
        assert resp.get_json()["parameter"] == "unit_minimum_quantity"
        assert count_products(db) == 0


def test_twins_that_agree_are_accepted(client, admin_headers):
    body = dict(BASE, unit_allow_fraction=True, unit_total_stock="7.75", total_stock=7,
                unit_total_sold="1", total_sold=1, price="KUDOS:1")
    assert post(client, admin_headers, body).status_code == 204
    assert f.product(client, admin_headers, "p")["unit_total_stock"] == "7.75"


def test_body_not_json(client, admin_headers, db):
    resp = client.post(URL, data=b"{", headers=dict(admin_headers,
                                                   **{"Content-Type": "application/json"}))
    assert (resp.status_code, resp.get_json()["code"]) == (400, 22)
    resp = client.post(URL, json=[BASE], headers=admin_headers)
    assert (resp.status_code, resp.get_json()["code"]) == (400, 22)
    assert count_products(db) == 0


def test_permissions(client, admin_headers, db):
    readonly = f.auth_headers(f.token(client, "admin", f.ADMIN_PASSWORD, "readonly"))
    resp = post(client, readonly, BASE)
    assert (resp.status_code, resp.get_json()["code"]) == (403, 16)
    resp = post(client, {}, BASE)
    assert (resp.status_code, resp.get_json()["code"]) == (401, 2015)
    resp = post(client, admin_headers, BASE, instance="nowhere")
    assert (resp.status_code, resp.get_json()["code"]) == (404, 2000)
    shop = f.instance_headers(client, admin_headers, "shop1")
    resp = post(client, shop, BASE)  # a token of shop1 on the admin instance
    assert (resp.status_code, resp.get_json()["code"]) == (401, 2015)
    assert count_products(db) == 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
    | st.sampled_from(["\ud800", "a\x00", "-1", "1.5", "KUDOS:1", "0", "", "1e3"]),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6)

FIELDS = sorted({field for field, _, _ in BAD} | {"product_name", "categories"})


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.dictionaries(st.sampled_from(FIELDS), json_values, min_size=1, max_size=3))
def test_any_value_never_fails_the_server(client, admin_headers, changes):
    """Bad input of any shape is a 4xx ErrorDetail, never a 5xx (SPEC §8.4)."""
    resp = post(client, admin_headers, dict(BASE, **changes))
    assert resp.status_code in (204, 400, 404, 409), resp.get_json()
    if resp.status_code != 204:
        assert isinstance(resp.get_json()["code"], int)
    resp = client.patch("/private/products/p", json=changes, headers=admin_headers)
    assert resp.status_code in (204, 400, 404, 409, 410), resp.get_json()
