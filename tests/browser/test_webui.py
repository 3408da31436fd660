"""The back-office in a real browser, one test per flow a merchant goes through."""
import re
import time

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from taler_inventory.errors import ErrorCode
from tests import factories
from tests.browser.conftest import Api, find, screenshot, sign_in, wait

pytestmark = pytest.mark.e2e


def _text(driver, css):
    return driver.find_element(By.CSS_SELECTOR, css).text


def _stored_token(driver):
    return driver.execute_script(
        "return JSON.parse(sessionStorage.getItem('taler-inventory-session:/webui/')).token")


def test_sign_in_and_out(browser, server):
    browser.get(server.base + "/webui/")
    password = wait(browser, lambda d: d.find_element(By.NAME, "password"))
    # Keyboard only: the password field has the focus, Enter submits.
    assert browser.switch_to.active_element == password
    password.send_keys("wrong password", Keys.ENTER)
    error = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".field-error"))
    hint = requests.post(server.base + "/private/token", json={"scope": "all"},
                         auth=("admin", "wrong password"), timeout=10).json()["hint"]
    assert error.text == hint
    assert password.get_attribute("aria-invalid") == "true"
    assert error.get_attribute("id") in password.get_attribute("aria-describedby")
    screenshot(browser, "sign-in")

    password.clear()
    password.send_keys(factories.ADMIN_PASSWORD, Keys.ENTER)
    wait(browser, lambda d: d.find_element(By.ID, "products-table"))
    assert _text(browser, "#who-name") == "Instance admin"
    token = _stored_token(browser)
    headers = {"Authorization": f"Bearer {token}"}
    assert requests.get(server.base + "/private", headers=headers, timeout=10).status_code == 200

    browser.find_element(By.ID, "sign-out").click()
    message = wait(browser, lambda d: d.find_element(By.ID, "signin-message"))
    assert message.text == "You are signed out."
    assert browser.execute_script("return sessionStorage.length") == 0
    # The token is revoked on the server, not only forgotten by the page.
    resp = requests.get(server.base + "/private", headers=headers, timeout=10)
    assert (resp.status_code, resp.json()["code"]) == (401, 2015)


def test_an_expired_token_returns_to_sign_in(browser, server):
    sign_in(browser, server)
    token = _stored_token(browser)
    resp = requests.delete(server.base + "/private/token", timeout=10,
                           headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 204
    browser.find_element(By.LINK_TEXT, "Orders").click()
    message = wait(browser, lambda d: d.find_element(By.ID, "signin-message"))
    assert "expired or was revoked" in message.text
    assert browser.execute_script("return sessionStorage.length") == 0
    assert browser.find_element(By.NAME, "instance").get_attribute("value") == "admin"


def _submit_to_new_page(driver, button):
    """Submit a form whose success draws its page anew; wait until it has."""
    old = find(driver, "main .page")
    find(driver, button).click()
    wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, "main .page") != old)


def _fill(driver, values, form="form"):
    for name, value in values.items():
        el = find(driver, f"{form} [name='{name}']")
        if el.get_attribute("type") == "checkbox":
            if el.is_selected() != value:
                el.click()
        elif el.tag_name == "select":
            el.find_element(By.CSS_SELECTOR, f"option[value='{value}']").click()
        else:
            el.clear()
            # Tab out, as a user would: the field's change event fires now.
            el.send_keys(value, Keys.TAB)


def test_create_a_product_with_fractional_stock(browser, server, api):
    assert api.post("/private/products", json={
        "product_id": "tea", "description": "Green tea", "unit": "box",
        "unit_price": ["KUDOS:3"], "unit_total_stock": "7"}).status_code == 204
    sign_in(browser, server)
    find(browser, "a[href='#/new-product']").click()
    wait(browser, lambda d: d.find_element(By.NAME, "product_id"))
    _fill(browser, {"product_id": "flour", "product_name": "Flour", "description": "Wheat flour",
                    "unit": "kg", "unit_allow_fraction": True, "unit_precision_level": "3",
                    "unit_price": "2.5", "unit_total_stock": "40.125"})
    browser.find_element(By.CSS_SELECTOR, "#product-form button[type=submit]").click()
    # The facts are redrawn as the live stock refreshes: read them afresh.
    wait(browser, lambda d: _text(d, "#product-facts [data-fact=stock]") == "40.125 kg")
    assert _text(browser, "#product-facts [data-fact=available]") == "40.125 kg"
    assert _text(browser, ".notice") == "Product created."
    stored = api.get("/private/products/flour").json()
    assert stored["unit_total_stock"] == "40.125" and stored["total_stock"] == 40
    assert stored["unit_allow_fraction"] is True and stored["unit_precision_level"] == 3
    assert stored["unit_price"] == ["KUDOS:2.5"]

    browser.find_element(By.LINK_TEXT, "Products").click()
    table = wait(browser, lambda d: d.find_element(By.ID, "products-table"))
    rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert [r.get_attribute("data-product") for r in rows] == ["flour", "tea"]
    cells = [c.text for c in rows[0].find_elements(By.CSS_SELECTOR, "th, td")]
    assert cells == ["flour", "Flour", "kg", "40.125", "0", "40.125", "0", "0", "KUDOS:2.5"]
    # Sorting by stock compares the decimals exactly; a second click reverses it.
    find(browser, "button[data-sort=unit_total_stock]").click()
    wait(browser, lambda d: _product_rows(d) == ["tea", "flour"])
    find(browser, "button[data-sort=unit_total_stock]").click()
    wait(browser, lambda d: _product_rows(d) == ["flour", "tea"])
    assert find(browser, "th[aria-sort=descending]").text == "Stock"
    screenshot(browser, "products")


def _product_rows(driver):
    return [r.get_attribute("data-product")
            for r in driver.find_elements(By.CSS_SELECTOR, "#products-table tbody tr")]


def test_a_form_error_shows_the_servers_reason(browser, server, api):
    sign_in(browser, server)
    browser.get(server.base + "/webui/#/new-product")
    wait(browser, lambda d: d.find_element(By.NAME, "product_id"))
    _fill(browser, {"product_id": "chair", "description": "A chair", "unit": "piece",
                    "unit_price": "40", "unit_total_stock": "1.5"})
    browser.find_element(By.CSS_SELECTOR, "#product-form button[type=submit]").click()
    error = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".field-error"))
    # The same request through the API: the page shows the server's words.
    resp = api.post("/private/products", json={
        "product_id": "chair", "description": "A chair", "unit": "piece",
        "unit_allow_fraction": False, "unit_precision_level": 0, "unit_price": ["KUDOS:40"],
        "unit_total_stock": "1.5", "unit_minimum_quantity": "0", "categories": []})
    assert (resp.status_code, resp.json()["code"]) == (400, 26)
    assert error.text == resp.json()["hint"]
    stock = browser.find_element(By.NAME, "unit_total_stock")
    assert stock.get_attribute("aria-invalid") == "true"
    assert browser.switch_to.active_element == stock
    assert "Not saved" in _text(browser, ".form-alert")
    screenshot(browser, "form-error")
    resp = api.get("/private/products/chair")
    assert (resp.status_code, resp.json()["code"]) == (404, 2006)


def _create_product(api, product_id, **fields):
    body = {"product_id": product_id, "description": f"About {product_id}", "unit": "kg",
            "unit_allow_fraction": True, "unit_precision_level": 3,
            "unit_price": ["KUDOS:2"], "unit_total_stock": "10", **fields}
    resp = api.post("/private/products", json=body)
    assert resp.status_code == 204, resp.text


def _lock_rows(driver):
    return [r.get_attribute("data-lock")
            for r in driver.find_elements(By.CSS_SELECTOR, "#locks-table tbody tr[data-lock]")]


def test_live_locks_count_down_and_go_when_released_or_expired(browser, server, api):
    _create_product(api, "beans")
    for uuid, quantity, seconds in (("cart-long", "2.5", 600), ("cart-short", "1.25", 4)):
        resp = api.post("/private/products/beans/lock", json={
            "lock_uuid": uuid, "unit_quantity": quantity, "duration": {"d_us": seconds * 10**6}})
        assert resp.status_code == 204, resp.text
    sign_in(browser, server, path="/webui/#/product/beans")
    wait(browser, lambda d: sorted(_lock_rows(d)) == ["cart-long|beans", "cart-short|beans"])
    timer = find(browser, "tr[data-lock='cart-long|beans'] .countdown")
    assert timer.get_attribute("role") == "timer"
    assert re.fullmatch(r"(9|10):\d\d", timer.text), timer.text
    assert "Next lock expires in 0:0" in _text(browser, "#next-expiry")
    assert "cart-short" in _text(browser, "#next-expiry")
    assert _text(browser, "#product-facts [data-fact=locked]") == "3.75 kg"
    # What frees up in the next hour, drawn and said in words.
    wait(browser, lambda d: _text(d, "#availability-chart figcaption") == (
        "Available now 6.25 kg; in the next hour 3.75 kg come free as 2 locks expire, "
        "10 kg then, unless new locks are taken."))
    screenshot(browser, "product-live-stock")

    # The short lock expires: its row goes, and with it what it held.
    wait(browser, lambda d: _lock_rows(d) == ["cart-long|beans"])
    wait(browser, lambda d: _text(d, "#product-facts [data-fact=locked]") == "2.5 kg")
    assert api.get("/private/locks", params={"product_id": "beans"}).json()["locks"][0][
        "lock_uuid"] == "cart-long"

    # The cart's page shows everything it holds; releasing it there frees the stock.
    find(browser, "tr[data-lock='cart-long|beans'] th a").click()
    wait(browser, lambda d: _lock_rows(d) == ["cart-long|beans"])
    screenshot(browser, "cart")
    browser.back()
    find(browser, "tr[data-lock='cart-long|beans'] button").click()
    wait(browser, lambda d: _lock_rows(d) == [])
    assert _text(browser, "#next-expiry") == "No live lock."
    assert api.get("/private/locks", params={"product_id": "beans"}).json() == {"locks": []}
    resp = api.delete("/private/locks/cart-long")
    assert (resp.status_code, resp.json()["code"]) == (
        404, ErrorCode.INVENTORY_LOCK_UUID_UNKNOWN.number)
    assert api.get("/private/products/beans").json()["unit_total_available"] == "10"


def test_an_order_shows_unpaid_then_paid(browser, server, api):
    _create_product(api, "flour", product_name="Flour", unit_price=["KUDOS:2.5"])
    resp = api.post("/private/orders", json={
        "order": {"order_id": "2026-0042", "summary": "Flour for the bakery"},
        "inventory_products": [{"product_id": "flour", "unit_quantity": "1.5"}]})
    assert resp.status_code == 200, resp.text
    sign_in(browser, server, path="/webui/#/orders")
    row = find(browser, "#orders-table tr[data-order='2026-0042']")
    assert "Unpaid" in row.text and "KUDOS:3.75" in row.text
    find(browser, "select[name=status] option[value=paid]").click()
    wait(browser, lambda d: "status=paid" in d.current_url
         and "No order." in _text(d, "#orders-table tbody"))
    find(browser, "select[name=status] option[value=unpaid]").click()
    find(browser, "#orders-table tr[data-order='2026-0042'] a").click()
    wait(browser, lambda d: _text(d, "#order-status") == "Payment: Unpaid")
    lines = _text(browser, "#order-lines tbody")
    assert "Flour" in lines and "1.5 kg" in lines and "KUDOS:3.75" in lines
    link = find(browser, "#public-link").get_attribute("href")
    assert link == api.get("/private/orders/2026-0042").json()["order_status_url"]
    screenshot(browser, "order-unpaid")

    assert api.post("/private/orders/2026-0042/paid").status_code == 204
    # The page notices by itself.
    wait(browser, lambda d: _text(d, "#order-status") == "Payment: Paid")
    assert _text(browser, "[data-fact=deposit_total]") == "KUDOS:3.75"
    assert api.get("/private/products/flour").json()["unit_total_sold"] == "1.5"
    screenshot(browser, "order-paid")
    browser.find_element(By.LINK_TEXT, "← All orders").click()
    row = find(browser, "#orders-table tr[data-order='2026-0042']")
    wait(browser, lambda d: "Paid" in _text(d, "#orders-table tr[data-order='2026-0042']"))


def _paid_order(api, order_id, *, refund_delay_s=3600, quantity="1.5"):
    """An order of flour (KUDOS:2.5 a kg) paid through the API."""
    resp = api.post("/private/orders", json={
        "order": {"order_id": order_id, "summary": f"Flour, order {order_id}"},
        "refund_delay": {"d_us": refund_delay_s * 10**6},
        "inventory_products": [{"product_id": "flour", "unit_quantity": quantity}]})
    assert resp.status_code == 200, resp.text
    assert api.post(f"/private/orders/{order_id}/paid").status_code == 204


def test_refund_a_paid_order_from_its_page(browser, server, api):
    _create_product(api, "flour", product_name="Flour", unit_price=["KUDOS:2.5"])
    _paid_order(api, "2026-0043")
    sign_in(browser, server, path="/webui/#/order/2026-0043")
    wait(browser, lambda d: _text(d, "#order-status") == "Payment: Paid")
    assert _text(browser, "[data-fact=refund_amount]") == "KUDOS:0"
    assert _text(browser, "#refund-title") == "Refunds"
    _fill(browser, {"refund": "1.25", "reason": "Half of the bag was torn"}, "#refund-form")
    find(browser, "#refund-form button[type=submit]").click()
    wait(browser, lambda d: _text(d, "[data-fact=refund_amount]") == "KUDOS:1.25")
    assert _text(browser, "#order-status") == "Payment: Paid Refunded"
    assert _text(browser, ".notice").startswith("Refund recorded.")
    assert "://refund/" in _text(browser, ".notice")
    rows = browser.find_elements(By.CSS_SELECTOR, "#refunds-table tbody tr")
    assert len(rows) == 1
    assert "KUDOS:1.25" in rows[0].text and "Half of the bag was torn" in rows[0].text
    stored = api.get("/private/orders/2026-0043").json()
    assert (stored["refunded"], stored["refund_amount"]) == (True, "KUDOS:1.25")
    assert [r["reason"] for r in stored["refund_details"]] == ["Half of the bag was torn"]
    # A refund is about money: what the order sold stays sold.
    assert api.get("/private/products/flour").json()["unit_total_sold"] == "1.5"
    screenshot(browser, "order-refunded")

    # The new total is what is refunded in all: 3.75 refunds the rest.
    _fill(browser, {"refund": "3.75", "reason": "The rest"}, "#refund-form")
    find(browser, "#refund-form button[type=submit]").click()
    wait(browser, lambda d: _text(d, "[data-fact=refund_amount]") == "KUDOS:3.75")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#refunds-table tbody tr")) == 2
    assert api.get("/private/orders/2026-0043").json()["refund_amount"] == "KUDOS:3.75"


def _refund_error(driver):
    """The refund form's error next to the amount, and the form's own alert."""
    error = find(driver, "#refund-form .field-error")
    amount = driver.find_element(By.CSS_SELECTOR, "#refund-form [name=refund]")
    assert amount.get_attribute("aria-invalid") == "true"
    assert driver.switch_to.active_element == amount
    return error.text


def test_a_refund_error_shows_the_servers_reason(browser, server, api):
    _create_product(api, "flour", product_name="Flour", unit_price=["KUDOS:2.5"])
    _paid_order(api, "2026-0044", refund_delay_s=6)
    sign_in(browser, server, path="/webui/#/order/2026-0044")
    # More than the order's amount: 409, refused, nothing changes.
    _fill(browser, {"refund": "4", "reason": "Too much"}, "#refund-form")
    find(browser, "#refund-form button[type=submit]").click()
    text = _refund_error(browser)
    resp = api.post("/private/orders/2026-0044/refund",
                    json={"refund": "KUDOS:4", "reason": "Too much"})
    assert (resp.status_code, resp.json()["code"]) == (409, 2530)
    assert text.startswith(resp.json()["hint"])
    assert "Not saved" in _text(browser, "#refund-form .form-alert")
    screenshot(browser, "order-refund-error")
    # An amount that is not one: the server names the field.
    _fill(browser, {"refund": "1.5.5"}, "#refund-form")
    find(browser, "#refund-form button[type=submit]").click()
    wait(browser, lambda d: _refund_error(d) != text)
    resp = api.post("/private/orders/2026-0044/refund",
                    json={"refund": "KUDOS:1.5.5", "reason": "Too much"})
    assert (resp.status_code, resp.json()["parameter"]) == (400, "refund")
    assert _refund_error(browser) == resp.json()["hint"]

    # After the refund deadline: 410, in words at the amount.
    deadline = api.get("/private/orders/2026-0044").json()["contract_terms"]["refund_deadline"]
    wait(browser, lambda d: time.time() > deadline["t_s"] + 0.5, timeout=15)
    _fill(browser, {"refund": "1"}, "#refund-form")
    find(browser, "#refund-form button[type=submit]").click()
    wait(browser, lambda d: "deadline" in _refund_error(d))
    resp = api.post("/private/orders/2026-0044/refund", json={"refund": "KUDOS:1", "reason": "x"})
    assert (resp.status_code, resp.json()["code"]) == (
        410, ErrorCode.INVENTORY_REFUND_DEADLINE_PASSED.number)
    assert _refund_error(browser).startswith(resp.json()["hint"])
    stored = api.get("/private/orders/2026-0044").json()
    assert (stored["refunded"], stored["refund_amount"], stored["refund_details"]) \
        == (False, "KUDOS:0", [])


def _order_rows(driver):
    return [r.get_attribute("data-order")
            for r in driver.find_elements(By.CSS_SELECTOR, "#orders-table tbody tr[data-order]")]


def test_the_refunded_filter_shows_only_refunded_orders(browser, server, api):
    _create_product(api, "flour", product_name="Flour", unit_price=["KUDOS:2.5"])
    resp = api.post("/private/orders", json={
        "order": {"order_id": "o-unpaid", "summary": "Unpaid flour"},
        "inventory_products": [{"product_id": "flour", "unit_quantity": "1"}]})
    assert resp.status_code == 200
    _paid_order(api, "o-paid")
    _paid_order(api, "o-refunded")
    assert api.post("/private/orders/o-refunded/refund", json={
        "refund": "KUDOS:0.5", "reason": "Late delivery"}).status_code == 200
    sign_in(browser, server, path="/webui/#/orders")
    wait(browser, lambda d: _order_rows(d) == ["o-refunded", "o-paid", "o-unpaid"])
    row = _text(browser, "#orders-table tr[data-order=o-refunded]")
    assert "Refunded KUDOS:0.5" in row
    screenshot(browser, "orders")
    find(browser, "select[name=status] option[value=refunded]").click()
    wait(browser, lambda d: "status=refunded" in d.current_url
         and _order_rows(d) == ["o-refunded"])
    listed = api.get("/private/orders", params={"refunded": "yes"}).json()["orders"]
    assert [o["order_id"] for o in listed] == ["o-refunded"]
    find(browser, "select[name=status] option[value=paid]").click()
    wait(browser, lambda d: _order_rows(d) == ["o-refunded", "o-paid"])
    find(browser, "select[name=status] option[value=unpaid]").click()
    wait(browser, lambda d: _order_rows(d) == ["o-unpaid"])
    # The filter survives a reload: it is in the URL.
    browser.get(server.base + "/webui/#/orders?status=refunded")
    wait(browser, lambda d: _order_rows(d) == ["o-refunded"])
    assert find(browser, "select[name=status]").get_attribute("value") == "refunded"


def test_the_admin_creates_an_instance_and_signs_in_to_it(browser, server, api):
    sign_in(browser, server, path="/webui/#/instances")
    find(browser, "#instances-table tr[data-instance=admin]")
    _fill(browser, {"id": "bakery", "name": "The Bakery", "auth.password": "bakery-pw-1"})
    browser.find_element(By.CSS_SELECTOR, "#instance-form button[type=submit]").click()
    find(browser, "#instances-table tr[data-instance=bakery]")
    assert "The Bakery" in _text(browser, "#instances-table tr[data-instance=bakery]")
    screenshot(browser, "instances")
    # The same id again: the server's reason, next to the id.
    _fill(browser, {"id": "bakery", "name": "Another", "auth.password": "other-pw-1"})
    browser.find_element(By.CSS_SELECTOR, "#instance-form button[type=submit]").click()
    error = find(browser, ".field-error")
    assert browser.find_element(By.NAME, "id").get_attribute("aria-invalid") == "true"
    resp = api.post("/management/instances", json={"id": "bakery", "name": "Another",
                                                   "auth": {"method": "token",
                                                            "password": "other-pw-1"}})
    assert resp.status_code == 409 and error.text.startswith(resp.json()["hint"])

    browser.find_element(By.ID, "sign-out").click()
    find(browser, "#signin-message")
    # The instance's base URL leads to its back-office, which knows whose it is.
    browser.get(server.base + "/instances/bakery/")
    wait(browser, lambda d: d.current_url == server.base + "/instances/bakery/webui/")
    assert find(browser, "[name=instance]").get_attribute("value") == "bakery"
    password = browser.find_element(By.NAME, "password")
    assert browser.switch_to.active_element == password
    password.send_keys("bakery-pw-1", Keys.ENTER)
    wait(browser, lambda d: _text(d, "#who-name") == "Instance bakery")
    find(browser, "#products-table")
    assert not browser.find_element(By.ID, "nav-instances").is_displayed()
    # Its pages use its own URLs: a product made here belongs to the bakery.
    browser.find_element(By.LINK_TEXT, "Categories").click()
    _fill(browser, {"name": "Bread"}, "#category-form")
    browser.find_element(By.CSS_SELECTOR, "#category-form button[type=submit]").click()
    find(browser, "#categories-table tr[data-category]")
    bakery = Api(server, "bakery", "bakery-pw-1")
    assert [c["name"] for c in bakery.get("/private/categories").json()["categories"]] \
        == ["Bread"]
    assert api.get("/private/categories").json()["categories"] == []


def test_usable_at_phone_width(browser, server, api):
    _create_product(api, "a-product-with-a-rather-long-identifier")
    browser.set_window_size(390, 844)
    sign_in(browser, server)
    find(browser, "#products-table tbody tr[data-product]")
    # The page itself never scrolls sideways; a wide table scrolls in its own box.
    assert browser.execute_script(
        "return document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    screenshot(browser, "products-phone")


def test_record_a_loss_edit_and_delete_a_product(browser, server, api):
    _create_product(api, "milk", unit="l", unit_total_stock="10")
    assert api.post("/private/products/milk/lock", json={
        "lock_uuid": "cart-1", "unit_quantity": "1", "duration": {"d_us": 600 * 10**6}}
    ).status_code == 204
    sign_in(browser, server, path="/webui/#/product/milk")
    # A loss is added exactly to what was lost before.
    _fill(browser, {"unit_total_lost": "0.25"}, "#loss-form")
    _submit_to_new_page(browser, "#loss-form button")
    wait(browser, lambda d: _text(d, "#product-facts [data-fact=lost]") == "0.25 l")
    assert _text(browser, ".notice") == "Loss recorded."
    _fill(browser, {"unit_total_lost": "0.125"}, "#loss-form")
    _submit_to_new_page(browser, "#loss-form button")
    wait(browser, lambda d: _text(d, "#product-facts [data-fact=lost]") == "0.375 l")
    assert api.get("/private/products/milk").json()["unit_total_lost"] == "0.375"
    # More digits than the unit allows: the server's reason at the loss field.
    _fill(browser, {"unit_total_lost": "0.0001"}, "#loss-form")
    find(browser, "#loss-form button").click()
    error = find(browser, "#loss-form .field-error")
    resp = api.patch("/private/products/milk", json={"unit_total_lost": "0.3751"})
    assert (resp.status_code, resp.json()["code"]) == (400, 26)
    assert error.text == resp.json()["hint"]
    assert api.get("/private/products/milk").json()["unit_total_lost"] == "0.375"

    # The stock never shrinks: the edit form says so next to the stock.
    _fill(browser, {"unit_total_stock": "5", "product_name": "Fresh milk"}, "#product-form")
    find(browser, "#product-form button[type=submit]").click()
    error = find(browser, "#product-form .field-error")
    resp = api.patch("/private/products/milk", json={"unit_total_stock": "5"})
    assert resp.status_code == 409 and error.text == resp.json()["hint"]
    assert browser.find_element(By.CSS_SELECTOR, "#product-form [name=unit_total_stock]") \
        .get_attribute("aria-invalid") == "true"
    _fill(browser, {"unit_total_stock": "12.5"}, "#product-form")
    _submit_to_new_page(browser, "#product-form button[type=submit]")
    wait(browser, lambda d: _text(d, "#product-facts [data-fact=stock]") == "12.5 l")
    stored = api.get("/private/products/milk").json()
    assert (stored["product_name"], stored["unit_total_stock"]) == ("Fresh milk", "12.5")
    assert stored["unit_price"] == ["KUDOS:2"]

    # A product a cart holds is deleted only when asked twice.
    find(browser, "#delete-form button").click()
    browser.switch_to.alert.accept()
    error = find(browser, "#delete-form .form-alert:not(:empty)")
    resp = api.delete("/private/products/milk")
    assert resp.status_code == 409 and resp.json()["hint"] in error.text
    find(browser, "#delete-form button").click()
    browser.switch_to.alert.accept()
    find(browser, "#products-table")
    resp = api.get("/private/products/milk")
    assert (resp.status_code, resp.json()["code"]) == (404, 2006)
    assert api.get("/private/locks").json() == {"locks": []}


def test_every_control_has_a_name_for_screen_readers(browser, server, api):
    _create_product(api, "tea")
    _create_product(api, "flour")
    _paid_order(api, "o-paid")
    assert api.post("/private/categories", json={"name": "Drinks"}).status_code == 200
    sign_in(browser, server)
    unnamed = """
        const named = (el) => (el.labels && el.labels.length) || el.getAttribute("aria-label")
            || el.getAttribute("aria-labelledby") || (el.textContent || "").trim();
        return [...document.querySelectorAll("main input, main select, main textarea, "
            + "main button, main a")]
            .filter((el) => el.type !== "hidden" && !named(el)).map((el) => el.outerHTML);"""
    for route in ("products", "new-product", "product/tea", "locks", "orders", "categories",
                  "instances", "instance/admin", "order/o-paid"):
        browser.get(f"{server.base}/webui/#/{route}")
        find(browser, "main .page h1")
        assert browser.execute_script(unnamed) == [], route
        assert browser.find_element(By.CSS_SELECTOR, "main h1").text, route


def test_categories_and_deleting_an_unpaid_order(browser, server, api):
    _create_product(api, "tea")
    sign_in(browser, server, path="/webui/#/categories")
    _fill(browser, {"name": "Drinks"}, "#category-form")
    find(browser, "#category-form button").click()
    row = find(browser, "#categories-table tr[data-category]")
    category_id = int(row.get_attribute("data-category"))
    row.find_element(By.CSS_SELECTOR, "button.secondary").click()
    rename = row.find_element(By.CSS_SELECTOR, "form")
    field = rename.find_element(By.NAME, "name")
    assert browser.switch_to.active_element == field
    field.clear()
    field.send_keys("Hot drinks", Keys.ENTER)
    wait(browser, lambda d: "Hot drinks" in _text(d, "#categories-table tbody"))
    assert api.get(f"/private/categories/{category_id}").json()["name"] == "Hot drinks"

    # The product form offers the category; saving puts the product in it.
    browser.get(server.base + "/webui/#/product/tea")
    box = find(browser, f"#product-form [name=categories][value='{category_id}']")
    box.click()
    _submit_to_new_page(browser, "#product-form button[type=submit]")
    wait(browser, lambda d: _text(d, "#product-facts [data-fact=categories]") == "Hot drinks")
    assert api.get("/private/products/tea").json()["categories"] == [category_id]

    browser.find_element(By.LINK_TEXT, "Categories").click()
    find(browser, "#categories-table tr[data-category] button.danger").click()
    browser.switch_to.alert.accept()
    wait(browser, lambda d: not d.find_elements(By.CSS_SELECTOR,
                                                "#categories-table tr[data-category]"))
    resp = api.get(f"/private/categories/{category_id}")
    assert (resp.status_code, resp.json()["code"]) == (404, 2003)
    assert api.get("/private/products/tea").json()["categories"] == []

    resp = api.post("/private/orders", json={"order": {"order_id": "o-1", "summary": "Tea"},
                                             "inventory_products": [{"product_id": "tea"}]})
    assert resp.status_code == 200
    assert api.get("/private/products/tea").json()["unit_total_locked"] == "1"
    browser.get(server.base + "/webui/#/order/o-1")
    find(browser, "#order-status")
    find(browser, "button.danger").click()
    browser.switch_to.alert.accept()
    find(browser, "#orders-table")
    resp = api.get("/private/orders/o-1")
    assert (resp.status_code, resp.json()["code"]) == (404, 2005)
    assert api.get("/private/products/tea").json()["unit_total_locked"] == "0"


def test_the_admin_edits_and_disables_an_instance(browser, server, api):
    assert api.post("/management/instances", json={
        "id": "kiosk", "name": "Kiosk", "auth": {"method": "token", "password": "kiosk-pw-1"}}
    ).status_code == 204
    sign_in(browser, server, path="/webui/#/instance/kiosk")
    _fill(browser, {"name": "The Kiosk", "email": "kiosk@example.com"}, "#instance-edit-form")
    find(browser, "#instance-edit-form button").click()
    wait(browser, lambda d: _text(d, ".notice") == "Changes saved.")
    stored = api.get("/management/instances/kiosk").json()
    assert (stored["name"], stored["email"]) == ("The Kiosk", "kiosk@example.com")
    browser.find_element(By.XPATH, "//button[text()='Disable instance']").click()
    browser.switch_to.alert.accept()
    row = find(browser, "#instances-table tr[data-instance=kiosk]")
    assert "Disabled" in row.text
    resp = api.get("/management/instances/kiosk")
    assert (resp.status_code, resp.json()["code"]) == (404, 2000)


def test_products_are_paged_twenty_at_a_time(browser, server, api):
    for n in range(23):
        _create_product(api, f"p{n:02d}", unit_total_stock=f"{n}.5")
    sign_in(browser, server)
    wait(browser, lambda d: len(_product_rows(d)) == 20)
    assert _product_rows(browser)[0] == "p00"
    assert "23 products, page 1 of 2" == _text(browser, "#products-table caption")
    browser.find_element(By.LINK_TEXT, "Next page").click()
    wait(browser, lambda d: _product_rows(d) == ["p20", "p21", "p22"])
    assert _text(browser, "#products-table caption") == "23 products, page 2 of 2"
    # Largest stock first: the first page starts with the last product.
    find(browser, "button[data-sort=unit_total_stock]").click()
    wait(browser, lambda d: _text(d, "th[aria-sort=ascending]") == "Stock")
    find(browser, "button[data-sort=unit_total_stock]").click()
    wait(browser, lambda d: _product_rows(d)[:2] == ["p22", "p21"])
    assert "page=1" in browser.current_url


def test_the_admin_sets_an_instance_password(browser, server, api):
    assert api.post("/management/instances", json={
        "id": "stall", "name": "Stall", "auth": {"method": "token", "password": "stall-pw-1"}}
    ).status_code == 204
    sign_in(browser, server, path="/webui/#/instance/stall")
    assert find(browser, "#instance-webui").get_attribute("href") == \
        server.base + "/instances/stall/webui/"
    _fill(browser, {"password": "stall-pw-2"}, "#password-form")
    find(browser, "#password-form button").click()
    wait(browser, lambda d: _text(d, ".notice") == "Password set.")
    assert Api(server, "stall", "stall-pw-2").get("/private").status_code == 200
    resp = requests.post(server.base + "/instances/stall/private/token", json={"scope": "all"},
                         auth=("stall", "stall-pw-1"), timeout=10)
    assert (resp.status_code, resp.json()["code"]) == (401, 2015)
    # Its back-office, in the same tab, asks for its own sign-in.
    find(browser, "#instance-webui").click()
    box = wait(browser, lambda d: d.find_element(By.NAME, "instance"))
    assert box.get_attribute("value") == "stall"
    browser.find_element(By.NAME, "password").send_keys("stall-pw-2", Keys.ENTER)
    wait(browser, lambda d: _text(d, "#who-name") == "Instance stall")
    # The administrator's session is still there at the administrator's URL.
    browser.get(server.base + "/webui/#/instances")
    wait(browser, lambda d: _text(d, "#who-name") == "Instance admin")


def test_search_products_by_name_and_category(browser, server, api):
    drinks = api.post("/private/categories", json={"name": "Drinks"}).json()["category_id"]
    food = api.post("/private/categories", json={"name": "Food"}).json()["category_id"]
    _create_product(api, "tea", product_name="Green tea", categories=[drinks])
    _create_product(api, "cola", product_name="Cola", categories=[drinks])
    _create_product(api, "bread", product_name="Bread", categories=[food])
    sign_in(browser, server)
    wait(browser, lambda d: _product_rows(d) == ["bread", "cola", "tea"])
    _fill(browser, {"name": "TEA"}, "form[role=search]")
    find(browser, "form[role=search] button").click()
    wait(browser, lambda d: _product_rows(d) == ["tea"])
    assert _text(browser, "#products-table caption") == "1 product match the search"
    assert "name=TEA" in browser.current_url
    _fill(browser, {"name": "", "category": "drink"}, "form[role=search]")
    find(browser, "form[role=search] button").click()
    wait(browser, lambda d: _product_rows(d) == ["cola", "tea"])
    screenshot(browser, "products-search")
    _fill(browser, {"name": "co"}, "form[role=search]")
    find(browser, "form[role=search] button").click()
    wait(browser, lambda d: _product_rows(d) == ["cola"])
    # The same answer as the API's own filters.
    listed = api.get("/private/products", params={"name_filter": "co",
                                                    "category_filter": "drink"}).json()
    assert [p["product_id"] for p in listed["products"]] == ["cola"]
    _fill(browser, {"name": "nothing like it"}, "form[role=search]")
    find(browser, "form[role=search] button").click()
    wait(browser, lambda d: _text(d, "#products-table tbody") == "No product matches.")
    browser.find_element(By.LINK_TEXT, "Clear").click()
    wait(browser, lambda d: _product_rows(d) == ["bread", "cola", "tea"])


def test_a_known_unit_sets_the_fractions(browser, server, api):
    sign_in(browser, server, path="/webui/#/new-product")
    unit = find(browser, "#product-form [name=unit]")
    assert unit.get_attribute("list") == "unit-names"
    unit.send_keys("kg", Keys.TAB)
    fractions = browser.find_element(By.NAME, "unit_allow_fraction")
    wait(browser, lambda d: fractions.is_selected())
    precision = browser.find_element(By.NAME, "unit_precision_level")
    assert precision.get_attribute("value") == "3"
    _fill(browser, {"product_id": "rice", "description": "Rice", "unit_price": "1.2",
                    "unit_total_stock": "25.125"})
    _submit_to_new_page(browser, "#product-form button[type=submit]")
    wait(browser, lambda d: _text(d, "#product-facts [data-fact=stock]") == "25.125 kg")
    stored = api.get("/private/products/rice").json()
    assert (stored["unit_allow_fraction"], stored["unit_precision_level"]) == (True, 3)


def test_an_unknown_product_says_so(browser, server, api):
    sign_in(browser, server, path="/webui/#/product/no-such-thing")
    alert = find(browser, "main [role=alert]")
    resp = api.get("/private/products/no-such-thing")
    assert (resp.status_code, resp.json()["code"]) == (404, 2006)
    assert alert.text.startswith(resp.json()["hint"])
    assert _text(browser, "main h1") == "This page cannot be shown"
