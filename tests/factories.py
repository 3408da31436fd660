"""Factories for test data, built through the HTTP API where it exists."""
import base64
from decimal import Decimal

from taler_inventory import auth, talercrypto, timeutil
from taler_inventory.backenddb import instances, locks, tokens
from taler_inventory.backenddb.outcome import Status
from taler_inventory.timeutil import US_PER_S

ADMIN_PASSWORD = "admin-secret"
DAY_US = 24 * 3600 * US_PER_S


def insert_admin(conn, password_hash):
    # A key pair, as every instance made by the server has one.
    merchant_priv, merchant_pub = talercrypto.new_key_pair()
    conn.execute(
        """INSERT INTO instances (instance_id, name, password_hash, default_pay_delay,
                                  max_lock_duration, merchant_pub, merchant_priv)
           VALUES ('admin', 'admin', %s, %s, %s, %s, %s)""",
        (password_hash, DAY_US, DAY_US, merchant_pub, merchant_priv))


def basic(user, password):
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def auth_headers(token):
    return {"Authorization": f"Bearer {token}"}


def prefix(instance):
    return "" if instance == "admin" else f"/instances/{instance}"


def token(client, instance, password, scope="all", **body):
    resp = client.post(f"{prefix(instance)}/private/token", json={"scope": scope, **body},
                       headers=basic(instance, password))
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["access_token"]


def create_instance(client, admin_headers, instance_id, password="pw-" + "x" * 8, **fields):
    body = {"id": instance_id, "name": f"Shop {instance_id}",
            "auth": {"method": "token", "password": password}, **fields}
    resp = client.post("/management/instances", json=body, headers=admin_headers)
    assert resp.status_code == 204, resp.get_json()
    return password


def instance_headers(client, admin_headers, instance_id, scope="all", **fields):
    """Create an instance and return headers of a token with ``scope`` for it."""
    password = create_instance(client, admin_headers, instance_id, **fields)
    return auth_headers(token(client, instance_id, password, scope))


def create_product(client, headers, product_id, instance="admin", **fields):
    """Create a product through the API (defaults: 10 pieces at KUDOS:1)."""
    body = {"product_id": product_id, "description": f"Product {product_id}",
            "unit": "piece", "unit_price": ["KUDOS:1"], "total_stock": 10, **fields}
    if "unit_total_stock" in fields and "total_stock" not in fields:
        body.pop("total_stock")
    if "price" in fields and "unit_price" not in fields:
        body.pop("unit_price")
    resp = client.post(f"{prefix(instance)}/private/products", json=body, headers=headers)
    assert resp.status_code == 204, resp.get_json()
    return body


def product(client, headers, product_id, instance="admin"):
    """The product's details as ``GET /private/products/$ID`` shows them."""
    resp = client.get(f"{prefix(instance)}/private/products/{product_id}", headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def lock(client, headers, product_id, lock_uuid="cart-1", seconds=60, instance="admin",
         **fields):
    """``POST .../private/products/$ID/lock`` for ``seconds``; return the response."""
    body = {"lock_uuid": lock_uuid, "duration": {"d_us": seconds * US_PER_S}, **fields}
    return client.post(f"{prefix(instance)}/private/products/{product_id}/lock", json=body,
                       headers=headers)


def insert_hold(db, product_id, quantity, expiration, *, lock_uuid="cart-1", instance="admin"):
    """A cart lock until ``expiration`` (µs, past or future), made by the lock operation.

    The lock is taken one microsecond before it expires, with a token minted for it
    and revoked again, so the holds, ``reserved`` and the instance's lock counter are
    what the product itself keeps: a lock that fits never reclaims anything, so the
    expired holds a test stored before stay.
    """
    instance_serial = instances.lookup_instance(db, instance)["instance_serial"]
    _, token_hash = auth.new_token()
    token_serial = tokens.insert_token(
        db, instance_serial=instance_serial, token_hash=token_hash, scope="all",
        refreshable=False, creation_time=0, expiration=timeutil.FOREVER,
        description="insert_hold").serial
    try:
        [outcome] = locks.lock_products(
            db, instance_id=instance, product_id=product_id,
            scopes=auth.scopes_granting("products-lock"), now=expiration - 1,
            requests=[locks.LockRequest(token_hash, lock_uuid, Decimal(str(quantity)), 1)])
    finally:
        tokens.delete_token(db, instance_serial, token_serial)
    assert outcome.status in (Status.OK, Status.REPLACED), outcome


def post_order(client, headers, lines=(), lock_uuids=(), instance="admin", **order):
    """``POST .../private/orders``; ``lines`` are (product_id, unit_quantity) pairs."""
    body = {"order": {"summary": "an order", **order},
            "inventory_products": [{"product_id": p, "unit_quantity": str(qty)}
                                   for p, qty in lines],
            "lock_uuids": list(lock_uuids)}
    return client.post(f"{prefix(instance)}/private/orders", json=body, headers=headers)


def create_order(client, headers, lines=(), lock_uuids=(), instance="admin", **order) -> str:
    """Create an order (see :func:`post_order`) and return its order id."""
    resp = post_order(client, headers, lines, lock_uuids, instance, **order)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["order_id"]


def create_named(kind, client, headers, name, description="", instance="admin"):
    """Create a named row (``kind`` ``group`` or ``pot``) through the API; its serial."""
    resp = client.post(f"{prefix(instance)}/private/{kind}s",
                       json={f"{kind}_name": name, "description": description}, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()[f"{kind}_serial_id"]
