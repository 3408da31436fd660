"""Browser tests: Debian's chromium, driven by selenium, against the real server.

The server is one ``taler-inventory serve`` process on a free loopback port for the
whole session (the autouse ``clean_db`` empties its database before every test); the
browser is one headless chromium with a fresh profile.  Without chromium and
chromedriver on the PATH every test here is skipped, saying so.
"""
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import requests

from tests import factories
from tests.support.server import running, serve_env, token_headers

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
WAIT_S = 30  # generous: the test machine may be busy
#: Set to a directory to save screenshots of the pages there (doc/ uses them).
SCREENSHOTS = os.environ.get("WEBUI_SCREENSHOTS")


def pytest_collection_modifyitems(items):
    if CHROMIUM and CHROMEDRIVER:
        return
    skip = pytest.mark.skip(reason="chromium and chromedriver are not installed "
                                   "(apt-get install chromium chromium-driver)")
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def server(database_url):
    with running(serve_env(database_url)) as srv:
        yield srv


@pytest.fixture(scope="session")
def _chromium():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="taler-inventory-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-default-apps",
                "--disable-extensions", f"--user-data-dir={profile}",
                "--window-size=1280,1000", "--lang=en-GB"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT_S)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    driver = item.funcargs.get("browser") if hasattr(item, "funcargs") else None
    if report.when == "call" and report.failed and driver is not None:
        # What the page showed when the test failed, to read in the CI log.
        try:
            page = driver.execute_script("return document.body.innerText")
            report.sections.append(("browser page", f"{driver.current_url}\n{page}"))
        except Exception as exc:  # noqa: BLE001 - the page may be gone
            report.sections.append(("browser page", f"(unreadable: {exc})"))


@pytest.fixture
def browser(_chromium, server):
    """The browser on a blank page of the server, signed out."""
    _chromium.set_window_size(1280, 1000)
    _chromium.get(server.base + "/webui/404-blank")
    _chromium.execute_script("sessionStorage.clear()")
    yield _chromium
    # A confirm() left open would block the next test.
    try:
        _chromium.switch_to.alert.dismiss()
    except Exception:  # noqa: BLE001 - no dialog is the normal case
        pass


class Api:
    """The JSON API of the server under test, as a shop's own software would use it."""

    def __init__(self, server, instance="admin", password=factories.ADMIN_PASSWORD):
        self.base = server.base + factories.prefix(instance)
        self.headers = token_headers(server, instance, password)

    def __getattr__(self, method):
        def send(path, **kwargs):
            return requests.request(method.upper(), self.base + path, headers=self.headers,
                                    timeout=10, **kwargs)
        return send


@pytest.fixture
def api(server):
    return Api(server)


def wait(driver, condition, timeout=WAIT_S):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, timeout, poll_frequency=0.2,
                         ignored_exceptions=(StaleElementReferenceException,)).until(condition)


def sign_in(driver, server, instance="admin", password=factories.ADMIN_PASSWORD, path="/webui/"):
    from selenium.webdriver.common.by import By
    driver.get(server.base + path)
    box = wait(driver, lambda d: d.find_element(By.NAME, "instance"))
    box.clear()
    box.send_keys(instance)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait(driver, lambda d: d.find_element(By.ID, "who").is_displayed())
    wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, "main .page h1"))


def find(driver, css):
    """The element once the page shows it."""
    from selenium.webdriver.common.by import By
    return wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, css))


def screenshot(driver, name, max_height=1600):
    """Save the whole page (up to ``max_height`` pixels) when WEBUI_SCREENSHOTS is set."""
    if not SCREENSHOTS:
        return
    Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
    size = driver.get_window_size()
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(size["width"], min(max(height + 120, 400), max_height))
    driver.execute_script("window.scrollTo(0, 0)")
    try:
        driver.save_screenshot(str(Path(SCREENSHOTS) / f"webui-{name}.png"))
    finally:
        driver.set_window_size(size["width"], size["height"])
