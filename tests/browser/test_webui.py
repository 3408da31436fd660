"""The back-office in a real browser, one test per flow a merchant goes through."""
import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests import factories
from tests.browser.conftest import Api, find, screenshot, sign_in, wait

pytestmark = pytest.mark.e2e


def _text(driver, css):
    return driver.find_element(By.CSS_SELECTOR, css).text


def _stored_token(driver):
    return driver.execute_script(
        "return JSON.parse(sessionStorage.getItem('taler-inventory-session')).token")


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


def _fill(driver, values):
    for name, value in values.items():
        el = driver.find_element(By.NAME, name)
        if el.get_attribute("type") == "checkbox":
            if el.is_selected() != value:
                el.click()
        elif el.tag_name == "select":
            el.find_element(By.CSS_SELECTOR, f"option[value='{value}']").click()
        else:
            el.clear()
            el.send_keys(value)


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
    screenshot(browser, "product-new")
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
