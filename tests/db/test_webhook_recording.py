"""Recording webhook events costs a lock nothing: the triggers are not even called for
what locks, releases and hand-overs write (``products.reserved``), webhooks or not."""
import psycopg
import pytest
from psycopg.rows import dict_row

from taler_inventory import auth
from taler_inventory.backenddb import locks as locks_db
from taler_inventory.timeutil import US_PER_S, now_us
from tests import factories as f

TRIGGERS = ("webhook_products", "webhook_wanted", "record_webhook_event")


@pytest.fixture
def counted(database_url):
    """A connection that counts PL/pgSQL and SQL function calls of its transaction."""
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        conn.execute("SET search_path TO inventory")
        conn.execute("SET track_functions = 'all'")
        yield conn


def calls(conn) -> dict:
    return {name: conn.execute(
        "SELECT COALESCE(pg_stat_get_xact_function_calls(%s::regproc), 0) AS n",
        (name,)).fetchone()["n"] for name in TRIGGERS}


@pytest.mark.parametrize("with_webhooks", [False, True])
def test_a_lock_calls_no_trigger(client, admin_headers, counted, with_webhooks):
    f.create_product(client, admin_headers, "hot", total_stock=100)
    if with_webhooks:
        for event in ("inventory_added", "inventory_updated", "inventory_deleted"):
            resp = client.post("/private/webhooks", headers=admin_headers, json={
                "webhook_id": event, "event_type": event, "url": "http://erp.example/",
                "http_method": "POST"})
            assert resp.status_code == 204
    token = admin_headers["Authorization"].split(" ", 1)[1]
    request = locks_db.LockRequest(auth.hash_token(token), "cart", 2, 60 * US_PER_S)
    release = request._replace(quantity=0)
    scopes = auth.scopes_granting("products-lock")
    for req, status in ((request, "ok"), (request._replace(quantity=3), "replaced"),
                        (release, "ok")):
        (outcome,) = locks_db.lock_products(counted, instance_id="admin", product_id="hot",
                                            scopes=scopes, now=now_us(), requests=[req])
        assert outcome.status == status
    assert calls(counted) == dict.fromkeys(TRIGGERS, 0)
    # A catalogue change calls the trigger, which records only when a webhook asks.
    counted.execute("UPDATE products SET total_stock = 101 WHERE product_id = 'hot'")
    got = calls(counted)
    assert got["webhook_products"] == 1
    assert got["record_webhook_event"] == (1 if with_webhooks else 0)
    counted.rollback()
