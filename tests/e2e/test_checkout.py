"""End to end: a whole checkout through the real server — cart locks, the order that
takes them over, the payment hook — with the stock checked at every step."""
import pytest

from taler_inventory.timeutil import US_PER_S

from tests import factories

from tests.support.server import Server, serve_env, token_headers

pytestmark = pytest.mark.e2e


def _stock(server, headers, product_id):
    resp = server.get(f"/private/products/{product_id}", headers=headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    return body["unit_total_locked"], body["unit_total_available"], body["unit_total_sold"]


def test_checkout_over_http(database_url, db):
    server = Server(serve_env(database_url))
    try:
        server.wait_ready()
        admin = token_headers(server, "admin", factories.ADMIN_PASSWORD)
        for pid, stock in (("tea", "10"), ("cup", "2.5")):
            resp = server.post("/private/products", headers=admin, json={
                "product_id": pid, "description": pid, "unit": "piece",
                "unit_allow_fraction": True, "unit_precision_level": 1,
                "unit_price": ["KUDOS:2"], "unit_total_stock": stock})
            assert resp.status_code == 204, resp.text

        def lock(pid, uuid, qty):
            return server.post(f"/private/products/{pid}/lock", headers=admin, json={
                "lock_uuid": uuid, "unit_quantity": qty, "duration": {"d_us": 600 * US_PER_S}})

        assert lock("tea", "cart-a", "4").status_code == 204
        assert lock("cup", "cart-a", "2").status_code == 204
        other = lock("cup", "cart-b", "1")
        assert other.status_code == 410 and other.json()["code"] == 2670
        assert other.json()["unit_available_quantity"] == "0.5"
        assert _stock(server, admin, "tea") == ("4", "6", "0")

        # The order takes 3 tea (of the 4 locked) and no cup: the rest is free at once.
        resp = server.post("/private/orders", headers=admin, json={
            "order": {"summary": "tea", "order_id": "o-1"},
            "inventory_products": [{"product_id": "tea", "unit_quantity": "3"}],
            "lock_uuids": ["cart-a"]})
        assert resp.status_code == 200, resp.text
        assert resp.json()["order_id"] == "o-1"
        assert _stock(server, admin, "tea") == ("3", "7", "0")
        assert _stock(server, admin, "cup") == ("0", "2.5", "0")
        assert db.execute("SELECT count(*) AS n FROM holds WHERE lock_uuid IS NOT NULL"
                          ).fetchone()["n"] == 0

        status = server.get("/private/orders/o-1", headers=admin).json()
        assert status["order_status"] == "unpaid"
        assert status["contract_terms"]["amount"] == "KUDOS:6"

        for _ in range(2):  # the payment hook is idempotent
            resp = server.post("/private/orders/o-1/paid", headers=admin)
            assert resp.status_code == 204, resp.text
        assert _stock(server, admin, "tea") == ("0", "7", "3")
        assert server.get("/private/orders/o-1", headers=admin).json()["order_status"] == "paid"
        resp = server.delete("/private/orders/o-1", headers=admin)
        assert resp.status_code == 409 and resp.json()["code"] == 2521
    finally:
        server.stop()
