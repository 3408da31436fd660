"""Every scope against every endpoint: a scope reaches exactly the endpoints whose
permission it grants; the others answer 403/16 before anything else happens."""
import re

import pytest

from taler_inventory import auth
from tests import factories
from tests.checks import assert_error

SCOPES = sorted(auth.SCOPES) + [s + ":refreshable" for s in sorted(auth.SCOPES)]

#: A value for each kind of path argument (none of them names an existing row).
ARGUMENTS = {"product_id": "no-such-product", "category_id": "424242", "order_id": "no-order",
             "lock_uuid": "no-such-cart", "serial": "424242", "instance_id_": "no-such-shop",
             "h_wire": "0" * 103, "unit": "no-such-unit", "group_id": "424242",
             "pot_id": "424242", "webhook_id": "no-such-webhook"}


def _routes(app):
    """(method, url, permission) of every endpoint that needs a permission."""
    routes = []
    for rule in app.url_map.iter_rules():
        meta = getattr(app.view_functions.get(rule.endpoint), "openapi", None)
        if meta is None or not meta["permission"] or rule.rule.startswith("/instances/"):
            continue
        url = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: ARGUMENTS[m.group(1)], rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method.lower(), url, meta["permission"]))
    return sorted(routes)


def _counts(db):
    tables = [r["tablename"] for r in db.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'inventory' ORDER BY 1")]
    return {t: db.execute(f"SELECT count(*) AS n FROM {t}").fetchone()["n"] for t in tables}


def test_permission_names_and_scopes_are_the_documented_ones():
    assert auth.ALL_PERMISSIONS == {
        "products-read", "products-write", "products-lock", "categories-read",
        "categories-write", "orders-read", "orders-write", "orders-refund", "instances-read",
        "instances-write", "instances-auth-write", "tokens-read", "tokens-write",
        "accounts-read", "accounts-write", "units-read", "units-write", "groups-read",
        "groups-write", "pots-read", "pots-write", "webhooks-read", "webhooks-write",
        "token-refresh"}
    # readonly: every *-read and nothing else; all (write): everything but refreshing.
    assert auth.permissions("readonly") == {p for p in auth.ALL_PERMISSIONS
                                            if p.endswith("-read")}
    assert auth.permissions("all") == auth.permissions("write") == \
        auth.ALL_PERMISSIONS - {"token-refresh"}
    assert auth.permissions("order-simple") == {"orders-read", "orders-write"}
    assert auth.permissions("order-pos") == {"orders-read", "orders-write", "products-read",
                                             "products-lock"}
    assert auth.permissions("order-mgmt") == {"orders-read", "orders-write", "orders-refund"}
    assert auth.permissions("order-full") == (auth.permissions("order-pos")
                                              | auth.permissions("order-mgmt"))
    for scope in auth.SCOPES:
        assert auth.permissions(scope + ":refreshable") == \
            auth.permissions(scope) | {"token-refresh"}


def test_every_permission_is_needed_somewhere(app):
    needed = {permission for _, _, permission in _routes(app)}
    assert auth.ALL_PERMISSIONS - needed == {"token-refresh"}


@pytest.mark.parametrize("scope", SCOPES)
def test_scope_against_every_endpoint(app, client, db, scope):
    headers = factories.auth_headers(factories.token(client, "admin", factories.ADMIN_PASSWORD,
                                                     scope))
    granted = auth.permissions(scope)
    for method, url, permission in _routes(app):
        before = _counts(db)
        resp = getattr(client, method)(url, headers=headers,
                                       json={} if method in ("post", "patch") else None)
        if permission in granted:
            assert resp.status_code not in (401, 403), (method, url, resp.get_json())
        else:
            body = assert_error(resp, 403, 16)
            assert body["detail"] == permission, (method, url)
            assert _counts(db) == before, (method, url)
    # The token itself still works: no request revoked it.
    assert client.delete("/private/token", headers=headers).status_code == 204


@pytest.mark.parametrize("method, url", [
    ("get", "/private/products"), ("post", "/private/products/x/lock"),
    ("get", "/private/orders"), ("post", "/private/orders"), ("get", "/private/locks"),
    ("get", "/management/instances"),
])
def test_without_credentials_every_endpoint_is_401(client, method, url):
    assert_error(getattr(client, method)(url, json={} if method == "post" else None), 401, 2015)
