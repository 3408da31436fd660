"""PATCH /private/products/$ID: absent fields stay, counters never decrease."""
import threading

import pytest

from taler_inventory.timeutil import US_PER_S, now_us
from tests import factories as f


def patch(client, headers, product_id, body, instance="admin"):
    return client.patch(f"{f.prefix(instance)}/private/products/{product_id}", json=body,
                        headers=headers)


def assert_error(resp, status, code):
    assert resp.status_code == status, resp.get_json()
    assert resp.get_json()["code"] == code, resp.get_json()


@pytest.fixture
def base(client, admin_headers):
    f.create_product(client, admin_headers, "p", unit_allow_fraction=True,
                     unit_precision_level=2, unit_total_stock="10", unit_total_sold="2",
                     unit_total_lost="1", description_i18n={"de": "Ding"}, minimum_age=16,
                     image="data:,a", address={"country": "CH"})
    return f.product(client, admin_headers, "p")


def test_empty_patch_changes_nothing(client, admin_headers, base):
    assert patch(client, admin_headers, "p", {}).status_code == 204
    assert f.product(client, admin_headers, "p") == base


@pytest.mark.parametrize("change, shown", [
    ({"product_name": "New"}, {"product_name": "New"}),
    ({"description": "New"}, {"description": "New"}),
    ({"description_i18n": {"fr": "Chose"}}, {"description_i18n": {"fr": "Chose"}}),
    ({"unit": "box"}, {"unit": "box"}),
    ({"unit_price": ["KUDOS:2", "EUR:3"]}, {"unit_price": ["KUDOS:2", "EUR:3"],
                                            "price": "KUDOS:2"}),
    ({"price": "KUDOS:4.5"}, {"unit_price": ["KUDOS:4.5"], "price": "KUDOS:4.5"}),
    ({"image": ""}, {"image": ""}),
    ({"taxes": [{"name": "VAT", "tax": "KUDOS:0.1"}]},
     {"taxes": [{"name": "VAT", "tax": "KUDOS:0.1"}]}),
    ({"address": {}}, {"address": {}}),
    ({"next_restock": {"t_s": "never"}}, {"next_restock": {"t_s": "never"}}),
    ({"minimum_age": 0}, {"minimum_age": 0}),
    ({"unit_total_stock": "12.5"}, {"unit_total_stock": "12.5", "total_stock": 12,
                                    "unit_total_available": "9.5", "total_available": 9}),
    ({"total_stock": 11}, {"unit_total_stock": "11", "total_stock": 11,
                           "unit_total_available": "8", "total_available": 8}),
    ({"unit_total_stock": "-1"}, {"unit_total_stock": "-1", "total_stock": -1,
                                  "unit_total_available": "-1", "total_available": -1}),
    ({"total_lost": 3}, {"unit_total_lost": "3", "total_lost": 3,
                         "unit_total_available": "5", "total_available": 5}),
    ({"unit_minimum_quantity": "0.25"}, {"unit_minimum_quantity": "0.25"}),
    ({"unit_precision_level": 4}, {"unit_precision_level": 4}),
    ({"unit_allow_fraction": True}, {}),  # keeps its precision of 2
])
def test_each_field_changes_alone(client, admin_headers, base, change, shown):
    resp = patch(client, admin_headers, "p", change)
    assert resp.status_code == 204, resp.get_json()
    assert f.product(client, admin_headers, "p") == dict(base, **shown)


def test_legacy_price_replaces_only_the_base_price(client, admin_headers, base):
    body = {"unit_price": ["KUDOS:1", "EUR:2", "CHF:3"]}
    assert patch(client, admin_headers, "p", body).status_code == 204
    assert patch(client, admin_headers, "p", {"price": "KUDOS:1.5"}).status_code == 204
    detail = f.product(client, admin_headers, "p")
    assert detail["unit_price"] == ["KUDOS:1.5", "EUR:2", "CHF:3"]
    assert detail["price"] == "KUDOS:1.5"
    assert patch(client, admin_headers, "p", {"price": "EUR:5"}).status_code == 204
    assert f.product(client, admin_headers, "p")["unit_price"] == ["EUR:5", "CHF:3"]


def test_categories_are_replaced_and_cleared(client, admin_headers, base):
    ids = [client.post("/private/categories", json={"name": n}, headers=admin_headers)
           .get_json()["category_id"] for n in ("a", "b")]
    assert patch(client, admin_headers, "p", {"categories": ids}).status_code == 204
    assert f.product(client, admin_headers, "p")["categories"] == ids
    assert patch(client, admin_headers, "p", {"categories": [ids[1]]}).status_code == 204
    assert f.product(client, admin_headers, "p")["categories"] == [ids[1]]
    assert patch(client, admin_headers, "p", {"description": "x"}).status_code == 204
    assert f.product(client, admin_headers, "p")["categories"] == [ids[1]]
    assert patch(client, admin_headers, "p", {"categories": []}).status_code == 204
    assert f.product(client, admin_headers, "p")["categories"] == []


def test_unknown_category_is_404_and_nothing_changes(client, admin_headers, base):
    resp = patch(client, admin_headers, "p", {"categories": [42], "description": "x"})
    assert_error(resp, 404, 2003)
    assert f.product(client, admin_headers, "p") == base


def test_unknown_product_is_404(client, admin_headers, base):
    assert_error(patch(client, admin_headers, "nope", {"description": "x"}), 404, 2006)
    assert_error(patch(client, admin_headers, "a%00b", {"description": "x"}), 404, 2006)
    shop = f.instance_headers(client, admin_headers, "shop1")
    assert_error(patch(client, shop, "p", {"description": "x"}, instance="shop1"), 404, 2006)
    assert f.product(client, admin_headers, "p") == base


@pytest.mark.parametrize("change, status, code", [
    ({"unit_total_stock": "9.99"}, 409, 2662),
    ({"total_stock": 9}, 409, 2662),
    ({"unit_total_lost": "0.5"}, 409, 2660),
    ({"total_lost": 0}, 409, 2660),
    ({"unit_total_lost": "8.01"}, 400, 2661),
    ({"unit_total_lost": "9", "unit_total_stock": "10.99"}, 400, 2661),
])
def test_counters_never_decrease(client, admin_headers, base, change, status, code):
    assert_error(patch(client, admin_headers, "p", change), status, code)
    assert f.product(client, admin_headers, "p") == base


def test_lost_up_to_stock_minus_sold(client, admin_headers, base):
    assert patch(client, admin_headers, "p", {"unit_total_lost": "8"}).status_code == 204
    detail = f.product(client, admin_headers, "p")
    assert detail["unit_total_available"] == "0"
    body = {"unit_total_stock": "20", "unit_total_lost": "18"}
    assert patch(client, admin_headers, "p", body).status_code == 204


def test_unlimited_is_more_than_any_stock(client, admin_headers, base):
    assert patch(client, admin_headers, "p", {"total_stock": -1}).status_code == 204
    assert_error(patch(client, admin_headers, "p", {"unit_total_stock": "999999"}), 409, 2662)
    # Unlimited stock takes any loss.
    assert patch(client, admin_headers, "p", {"unit_total_lost": "1000"}).status_code == 204
    assert patch(client, admin_headers, "p", {"unit_total_stock": "-1"}).status_code == 204


def test_loss_may_oversubscribe_holds(client, admin_headers, base, db):
    f.insert_hold(db, "p", "5", now_us() + 3600 * US_PER_S)
    assert patch(client, admin_headers, "p", {"unit_total_lost": "8"}).status_code == 204
    detail = f.product(client, admin_headers, "p")
    assert detail["unit_total_locked"] == "5" and detail["unit_total_available"] == "0"
    row = db.execute("SELECT reserved FROM products").fetchone()
    assert row["reserved"] == 5  # products code never writes reserved


def test_oversubscribing_loss_then_payment_leaves_the_product_editable(client,
                                                                      admin_headers, base):
    # 10 stocked, 2 sold, 1 lost: an order holds 7, a loss of 3 oversubscribes it, and
    # the payment makes sold + lost exceed the stock (SPEC §8.1 allows the loss).
    order_id = f.create_order(client, admin_headers, [("p", "7")])
    assert patch(client, admin_headers, "p", {"unit_total_lost": "4"}).status_code == 204
    resp = client.post(f"/private/orders/{order_id}/paid", headers=admin_headers)
    assert resp.status_code == 204
    detail = f.product(client, admin_headers, "p")
    assert (detail["unit_total_sold"], detail["unit_total_lost"]) == ("9", "4")
    # Other fields, the same counters as sent by Taler clients, and a partial restock.
    body = {"description": "edited", "unit_total_stock": "10", "unit_total_lost": "4"}
    assert patch(client, admin_headers, "p", body).status_code == 204
    assert patch(client, admin_headers, "p", {"unit_total_stock": "12"}).status_code == 204
    detail = f.product(client, admin_headers, "p")
    assert (detail["description"], detail["unit_total_stock"]) == ("edited", "12")
    # Recording more lost units still needs room for them.
    assert_error(patch(client, admin_headers, "p", {"unit_total_lost": "5"}), 400, 2661)
    assert f.product(client, admin_headers, "p") == detail


@pytest.mark.parametrize("sold", [{"total_sold": 0}, {"unit_total_sold": "0"},
                                  {"unit_total_sold": "9", "total_sold": 9},
                                  {"total_sold": "not even a number"}])
def test_total_sold_is_not_a_patch_field(client, admin_headers, base, sold):
    # Taler's ProductPatchDetail has no total_sold: a sync that sends the counter
    # back after a sale (talerbarr sends 0) is answered 204 and changes nothing.
    body = {"description": "synced", "unit_total_stock": "10", **sold}
    assert patch(client, admin_headers, "p", body).status_code == 204
    detail = f.product(client, admin_headers, "p")
    assert (detail["unit_total_sold"], detail["description"]) == ("2", "synced")
    assert detail == dict(base, description="synced")


@pytest.mark.parametrize("change, named", [
    ({"unit_total_stock": "11.125"}, "unit_total_stock"),
    ({"unit_total_lost": "1.001"}, "unit_total_lost"),
    ({"unit_precision_level": 4, "unit_total_stock": "11.12345"}, "unit_total_stock"),
    ({"unit_allow_fraction": False, "unit_total_stock": "11.5"}, "unit_total_stock"),
])
def test_precision_of_quantities(client, admin_headers, base, change, named):
    resp = patch(client, admin_headers, "p", change)
    assert_error(resp, 400, 26)
    assert resp.get_json()["parameter"] == named
    assert f.product(client, admin_headers, "p") == base


def test_fractions_forbidden_once_quantities_are_whole(client, admin_headers, base):
    resp = patch(client, admin_headers, "p", {"unit_allow_fraction": False})
    assert resp.status_code == 204
    detail = f.product(client, admin_headers, "p")
    assert detail["unit_allow_fraction"] is False and detail["unit_precision_level"] == 0
    assert_error(patch(client, admin_headers, "p", {"unit_total_stock": "10.5"}), 400, 26)
    # Allowing fractions again restores the default precision.
    assert patch(client, admin_headers, "p", {"unit_allow_fraction": True}).status_code == 204
    assert f.product(client, admin_headers, "p")["unit_precision_level"] == 6


def test_existing_fractions_block_dropping_them(client, admin_headers, base):
    assert patch(client, admin_headers, "p", {"unit_total_stock": "10.5"}).status_code == 204
    resp = patch(client, admin_headers, "p", {"unit_allow_fraction": False})
    assert_error(resp, 400, 26)
    assert resp.get_json()["parameter"] == "unit_allow_fraction"
    resp = patch(client, admin_headers, "p", {"unit_precision_level": 0})
    assert_error(resp, 400, 26)
    assert resp.get_json()["parameter"] == "unit_precision_level"
    assert patch(client, admin_headers, "p", {"unit_precision_level": 1}).status_code == 204


@pytest.mark.parametrize("body, named", [
    ({"description": 5}, "description"),
    ({"unit_total_stock": "1e3"}, "unit_total_stock"),
    ({"unit_total_stock": "11", "total_stock": 12}, "unit_total_stock"),
    ({"total_stock": True}, "total_stock"),
    ({"unit_price": []}, "unit_price"),
    ({"unit_price": ["EUR:1", "EUR:2"]}, "unit_price"),
    ({"unit_price": ["EUR:1"], "price": "KUDOS:1"}, "unit_price"),
    ({"categories": "1"}, "categories"),
    ({"minimum_age": -5}, "minimum_age"),
    ({"unit_precision_level": 9}, "unit_precision_level"),
    ({"image": "\x00"}, "image"),
    ({"address": {"\ud800": 1}}, "address"),
])
def test_bad_input_is_400_and_changes_nothing(client, admin_headers, base, body, named):
    resp = patch(client, admin_headers, "p", dict(body, product_name="changed"))
    assert_error(resp, 400, 26)
    assert resp.get_json()["parameter"].startswith(named)
    assert f.product(client, admin_headers, "p") == base


def test_nulls_mean_absent(client, admin_headers, base):
    body = {"description": None, "unit_total_stock": None, "total_stock": None,
            "categories": None, "image": None, "next_restock": None}
    assert patch(client, admin_headers, "p", body).status_code == 204
    assert f.product(client, admin_headers, "p") == base


def test_permissions(client, admin_headers, base):
    readonly = f.auth_headers(f.token(client, "admin", f.ADMIN_PASSWORD, "readonly"))
    assert_error(patch(client, readonly, "p", {"description": "x"}), 403, 16)
    assert_error(patch(client, {}, "p", {"description": "x"}), 401, 2015)
    assert f.product(client, admin_headers, "p") == base


def test_concurrent_stock_raises_keep_the_largest(app, admin_headers, base):
    """Concurrent PATCHes of the stock: each is checked against the latest row."""
    results = []

    def raise_to(value):
        client = app.test_client()
        resp = patch(client, admin_headers, "p", {"unit_total_stock": str(value)})
        results.append((value, resp.status_code, (resp.get_json() or {}).get("code")))

    threads = [threading.Thread(target=raise_to, args=(11 + i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(status == 204 or (status, code) == (409, 2662)
               for _, status, code in results), results
    assert (18, 204, None) in results
    detail = f.product(app.test_client(), admin_headers, "p")
    assert detail["unit_total_stock"] == "18"


def test_catalogue_sync_after_a_sale(client, admin_headers):
    # The body talerbarr's product sync sends (see doc/clients.rst): every field,
    # nulls for what it lacks, an empty unit, and always total_sold 0.
    sync = {"product_name": "Mug", "description": "A mug", "description_i18n": {},
            "unit": "", "categories": [], "price": "KUDOS:4.50", "image": None,
            "taxes": None, "total_stock": 10, "total_sold": 0, "total_lost": 0,
            "address": None, "next_restock": None, "minimum_age": None}
    resp = client.post("/private/products", json=dict(sync, product_id="mug"),
                       headers=admin_headers)
    assert resp.status_code == 204, resp.get_json()
    order_id = f.create_order(client, admin_headers, [("mug", "3")])
    assert client.post(f"/private/orders/{order_id}/paid",
                       headers=admin_headers).status_code == 204
    assert patch(client, admin_headers, "mug", dict(sync, description="A big mug")
                 ).status_code == 204
    detail = f.product(client, admin_headers, "mug")
    assert (detail["description"], detail["unit_total_sold"], detail["unit"],
            detail["unit_allow_fraction"]) == ("A big mug", "3", "", False)
