"""A running ``taler-inventory serve`` and a non-admin shop instance on it, as the
real clients meet them: a root URL, an instance base URL and the shop's secret."""
from dataclasses import dataclass

import pytest
import requests

from tests import factories
from tests.support.server import running, serve_env, token_headers

SHOP = "shop"
PASSWORD = "shop-password-1234"


@dataclass
class Shop:
    root: str           # the backend's root URL, no trailing slash
    base: str           # the instance base URL, with its trailing slash
    instance: str
    password: str
    admin: dict         # headers of an admin token


@pytest.fixture(scope="module")
def server(database_url):
    """One server process per client module; each test gets a clean database."""
    with running(serve_env(database_url), clean_stop=True) as srv:
        yield srv


DEFAULT_PAY_DELAY_S = 2 * 3600


def open_shop(server, auth: dict) -> Shop:
    """Create the shop instance with ``auth`` (an InstanceAuthConfigurationMessage)."""
    admin = token_headers(server, "admin", factories.ADMIN_PASSWORD)
    resp = server.post("/management/instances", headers=admin, json={
        "id": SHOP, "name": "Corner shop", "auth": auth,
        "default_pay_delay": {"d_us": DEFAULT_PAY_DELAY_S * 1_000_000}})
    assert resp.status_code == 204, resp.text
    return Shop(root=server.base, base=f"{server.base}/instances/{SHOP}/", instance=SHOP,
                password=PASSWORD, admin=admin)


@pytest.fixture
def legacy_shop(server):
    """A shop set up the deprecated way (``token: secret-token:<password>``), as the
    Tryton, pretix and Android POS documentation tells merchants to."""
    return open_shop(server, {"method": "token", "token": "secret-token:" + PASSWORD})


@pytest.fixture
def password_shop(server):
    """A shop set up the current way (``password``), logged into with Basic auth."""
    return open_shop(server, {"method": "token", "password": PASSWORD})


def instance_row(db, instance=SHOP):
    return db.execute("SELECT instance_id, deleted FROM instances WHERE instance_id = %s",
                      (instance,)).fetchone()


def login(shop: Shop, scope: str, **body) -> dict:
    """A token for ``shop`` obtained with Basic auth, as the PHP clients do."""
    resp = requests.post(shop.base + "private/token", json={"scope": scope, **body},
                         auth=(shop.instance, shop.password), timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()
