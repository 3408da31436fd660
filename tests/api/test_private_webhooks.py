"""Webhooks: GET|POST /private/webhooks, GET|PATCH|DELETE /private/webhooks/$ID,
GET .../deliveries; and the events the changes of this module record."""
import json

import pytest

from .. import factories as f
from ..checks import assert_error

URL = "/private/webhooks"
PAY = {"webhook_id": "shop-pay", "event_type": "pay", "url": "https://erp.example/hook",
       "http_method": "POST",
       "body_template": json.dumps({"event": "payment", "order_id": "{{order_id}}"})}


def add(client, h, body, instance="admin"):
    return client.post(f"{f.prefix(instance)}{URL}", json=body, headers=h)


def stored(db):
    return db.execute("SELECT webhook_id, event_type, url, http_method, header_template,"
                      " body_template FROM webhooks ORDER BY webhook_serial").fetchall()


def deliveries(db):
    return db.execute("SELECT w.webhook_id, d.event_type, d.context FROM webhook_deliveries d"
                      " JOIN webhooks w USING (webhook_serial)"
                      " ORDER BY d.delivery_serial").fetchall()


def test_create_list_show_patch_delete(client, admin_headers, db):
    h = admin_headers
    assert client.get(URL, headers=h).get_json() == {"webhooks": []}
    assert add(client, h, PAY).status_code == 204
    refund = dict(PAY, webhook_id="shop-refund", event_type="refund",
                  header_template="X-Shop: {{order_id}}")
    assert add(client, h, refund).status_code == 204
    resp = client.get(URL, headers=h)
    assert resp.status_code == 200
    assert resp.get_json() == {"webhooks": [{"webhook_id": "shop-pay", "event_type": "pay"},
                                            {"webhook_id": "shop-refund",
                                             "event_type": "refund"}]}
    resp = client.get(f"{URL}/shop-refund", headers=h)
    assert resp.status_code == 200
    assert resp.get_json() == {k: v for k, v in refund.items() if k != "webhook_id"}
    # No templates: none shown.
    assert add(client, h, {"webhook_id": "bare", "event_type": "inventory_added",
                           "url": "http://10.0.0.1:8080/x", "http_method": "PUT"}
               ).status_code == 204
    assert client.get(f"{URL}/bare", headers=h).get_json() == {
        "event_type": "inventory_added", "url": "http://10.0.0.1:8080/x",
        "http_method": "PUT"}
    # PATCH replaces the details; a template not sent is gone.
    patch = {"event_type": "order_created", "url": "https://erp.example/new",
             "http_method": "PUT", "header_template": "X-A: b", "body_template": None}
    assert client.patch(f"{URL}/shop-refund", json=patch, headers=h).status_code == 204
    assert client.get(f"{URL}/shop-refund", headers=h).get_json() == {
        "event_type": "order_created", "url": "https://erp.example/new",
        "http_method": "PUT", "header_template": "X-A: b"}
    resp = client.delete(f"{URL}/shop-refund", headers=h)
    assert resp.status_code == 204 and resp.data == b""
    assert [r["webhook_id"] for r in stored(db)] == ["shop-pay", "bare"]
    assert_error(client.get(f"{URL}/shop-refund", headers=h), 404, 2019)
    assert_error(client.delete(f"{URL}/shop-refund", headers=h), 404, 2019)
    assert_error(client.patch(f"{URL}/nope", json=patch, headers=h), 404, 2019)
    assert_error(client.get(f"{URL}/nope/deliveries", headers=h), 404, 2019)


def test_same_id_again_and_with_other_details(client, admin_headers, db):
    assert add(client, admin_headers, PAY).status_code == 204
    assert add(client, admin_headers, PAY).status_code == 204
    resp = add(client, admin_headers, dict(PAY, url="https://other.example/"))
    assert_error(resp, 409, 2900)
    assert stored(db)[0]["url"] == PAY["url"] and len(stored(db)) == 1


@pytest.mark.parametrize("field, value", [
    ("url", "ftp://erp.example/hook"),
    ("url", "file:///etc/passwd"),
    ("url", "javascript:alert(1)"),
    ("url", "https://"),
    ("url", "not a url"),
    ("url", "http://host:99999/"),
    ("url", 7),
    ("event_type", "paid"),
    ("event_type", None),
    ("http_method", "BREW"),
    ("http_method", "post\r\nX: y"),
    ("webhook_id", ""),
    ("webhook_id", "a/b"),
    ("webhook_id", "x" * 129),
    ("body_template", "{{order_id"),
    ("body_template", "{{#contract_terms}}open"),
    ("body_template", "{{#order_id}}x{{/summary}}"),
    ("body_template", "{{product_id}}"),
    ("body_template", "{{> partial}}"),
    ("header_template", "X-Id: {{nope}}"),
    ("header_template", 12),
])
def test_bad_input_names_the_field_and_changes_nothing(client, admin_headers, db, field,
                                                        value):
    body = dict(PAY)
    body[field] = value
    if value is None:
        body.pop(field)
    resp = add(client, admin_headers, body)
    assert resp.status_code == 400, resp.get_json()
    assert resp.get_json()["code"] in (25, 26)
    assert field in (resp.get_json().get("detail", "") + resp.get_json().get("parameter", ""))
    assert stored(db) == []
    # PATCH refuses the same (webhook_id is not a PATCH field).
    if field != "webhook_id":
        assert add(client, admin_headers, PAY).status_code == 204
        patch = {k: v for k, v in body.items() if k != "webhook_id"}
        resp = client.patch(f"{URL}/shop-pay", json=patch, headers=admin_headers)
        assert resp.status_code == 400, resp.get_json()
        assert field in resp.get_json().get("detail", "") + resp.get_json().get(
            "parameter", "")
        assert stored(db)[0]["body_template"] == PAY["body_template"]


def test_templates_are_checked_against_their_event_type(client, admin_headers):
    h = admin_headers
    ok = [("inventory_updated", "{{product_id}} {{unit_total_stock}} {{{description_i18n}}}"),
          ("category_deleted", "{{category_name}} {{webhook_type}}"),
          ("refund", "{{refund_amount}} {{reason}} {{timestamp}}"),
          ("pay", "{{#contract_terms.products}}{{description}}{{/contract_terms.products}}"),
          ("order_created", "{{{contract_terms}}}"),
          ("order_settled", "{{anything}}")]
    for n, (event, template) in enumerate(ok):
        body = dict(PAY, webhook_id=f"w{n}", event_type=event, body_template=template)
        assert add(client, h, body).status_code == 204, (event, template)
    resp = add(client, h, dict(PAY, webhook_id="x", event_type="inventory_added",
                               body_template="{{refund_amount}}"))
    assert_error(resp, 400, 26)
    assert "body_template" in resp.get_json()["detail"]


def test_permissions(client, admin_headers):
    read = f.auth_headers(f.token(client, "admin", f.ADMIN_PASSWORD, "readonly"))
    mgmt = f.auth_headers(f.token(client, "admin", f.ADMIN_PASSWORD, "order-mgmt"))
    assert client.get(URL, headers=read).status_code == 200
    assert_error(add(client, read, PAY), 403, 16)
    assert_error(client.get(URL, headers=mgmt), 403, 16)
    assert_error(client.get(URL), 401, 2015)
    assert_error(client.get(f"/instances/nosuch{URL}"), 404, 2000)


def test_instances_see_only_their_own(client, admin_headers):
    shop = f.instance_headers(client, admin_headers, "shop")
    assert add(client, shop, PAY, instance="shop").status_code == 204
    assert client.get(URL, headers=admin_headers).get_json() == {"webhooks": []}
    assert_error(client.get(f"{URL}/shop-pay", headers=admin_headers), 404, 2019)
    # The same id in another instance is another webhook.
    assert add(client, admin_headers, dict(PAY, url="https://a.example/")).status_code == 204


# -- events ---------------------------------------------------------------------------

def hook(client, h, event, webhook_id=None, instance="admin"):
    body = dict(PAY, webhook_id=webhook_id or event, event_type=event,
                body_template="{{webhook_type}}")
    assert add(client, h, body, instance).status_code == 204


def test_every_event_is_recorded_with_its_variables(client, admin_headers, db):
    h = admin_headers
    for event in ("inventory_added", "inventory_updated", "inventory_deleted",
                  "category_added", "category_updated", "category_deleted",
                  "order_created", "pay", "refund"):
        hook(client, h, event)
    resp = client.post("/private/categories", json={"name": "Drinks"}, headers=h)
    cat = resp.get_json()["category_id"]
    client.patch(f"/private/categories/{cat}", json={"name": "Beverages"}, headers=h)
    f.create_product(client, h, "tea", unit_total_stock="5.5", unit_allow_fraction=True)
    client.patch("/private/products/tea", json={
        "description": "Green tea", "unit": "piece", "unit_price": ["KUDOS:2"],
        "unit_total_stock": "7"}, headers=h)
    # A lock, its release and an order's hand-over record nothing.
    assert f.lock(client, h, "tea", unit_quantity="1").status_code == 204
    assert f.lock(client, h, "tea", unit_quantity="0").status_code == 204
    assert f.lock(client, h, "tea", unit_quantity="2").status_code == 204
    order_id = f.create_order(client, h, [("tea", "2")], ["cart-1"], order_id="o1",
                              refund_deadline={"t_s": 4_000_000_000})
    assert client.post(f"/private/orders/{order_id}/paid", headers=h).status_code == 204
    resp = client.post(f"/private/orders/{order_id}/refund", headers=h,
                       json={"refund": "KUDOS:1.5", "reason": "broken"})
    assert resp.status_code == 200, resp.get_json()
    client.delete(f"/private/categories/{cat}", headers=h)
    client.delete("/private/products/tea", headers=h)
    rows = deliveries(db)
    assert [r["event_type"] for r in rows] == [
        "category_added", "category_updated", "inventory_added", "inventory_updated",
        "order_created", "inventory_updated", "pay", "refund", "category_deleted",
        "inventory_deleted"]
    assert all(r["webhook_id"] == r["event_type"] for r in rows)
    ctx = {r["event_type"]: r["context"] for r in rows}
    assert ctx["category_updated"] == {"webhook_type": "category_updated",
                                       "category_serial": cat, "category_id": cat,
                                       "category_name": "Beverages",
                                       "category_name_i18n": {}}
    added = ctx["inventory_added"]
    assert (added["product_id"], added["unit_total_stock"], added["total_stock"],
            added["price"], added["description"]) == ("tea", "5.5", 5, "KUDOS:1",
                                                       "Product tea")
    updated = [r["context"] for r in rows if r["event_type"] == "inventory_updated"]
    assert (updated[0]["description"], updated[0]["unit_total_stock"],
            updated[0]["price"]) == ("Green tea", "7", "KUDOS:2")
    assert (updated[1]["unit_total_sold"], updated[1]["total_sold"]) == ("2", 2)
    assert ctx["order_created"]["order_id"] == "o1"
    assert ctx["order_created"]["contract_terms"]["order_id"] == "o1"
    assert ctx["pay"]["order_id"] == "o1" and ctx["pay"]["contract_terms"]["amount"] == \
        "KUDOS:4"
    refund = ctx["refund"]
    assert (refund["order_id"], refund["refund_amount"], refund["reason"]) == (
        "o1", "KUDOS:1.5", "broken")
    assert isinstance(refund["timestamp"], int) and refund["contract_terms"]["order_id"] == "o1"
    assert ctx["inventory_deleted"]["product_id"] == "tea"


def test_no_webhook_no_event_and_other_instances_events_stay_theirs(client, admin_headers, db):
    shop = f.instance_headers(client, admin_headers, "shop")
    assert add(client, shop, dict(PAY, event_type="inventory_added",
                                  body_template="{{product_id}}"),
               instance="shop").status_code == 204
    f.create_product(client, admin_headers, "tea")
    f.create_product(client, shop, "tea", instance="shop")
    rows = deliveries(db)
    assert len(rows) == 1 and rows[0]["context"]["product_id"] == "tea"
    # An identical patch, or one of only the categories, is no update.
    hook(client, shop, "inventory_updated", instance="shop")
    client.patch("/instances/shop/private/products/tea", headers=shop,
                 json={"description": "Product tea", "unit": "piece"})
    assert len(deliveries(db)) == 1


def test_events_of_a_failed_request_are_not_recorded(client, admin_headers, db):
    h = admin_headers
    hook(client, h, "order_created")
    hook(client, h, "inventory_updated")
    f.create_product(client, h, "tea", total_stock=1)
    resp = f.post_order(client, h, [("tea", "5")])
    assert_error(resp, 410, 2670)
    resp = client.patch("/private/products/tea", json={
        "description": "x", "unit": "piece", "unit_price": ["KUDOS:1"], "total_stock": 0},
        headers=h)
    assert resp.status_code == 409
    assert deliveries(db) == []


def test_deleting_a_webhook_drops_its_deliveries(client, admin_headers, db):
    hook(client, admin_headers, "inventory_added")
    f.create_product(client, admin_headers, "tea")
    assert len(deliveries(db)) == 1
    assert client.delete(f"{URL}/inventory_added", headers=admin_headers).status_code == 204
    assert db.execute("SELECT count(*) AS n FROM webhook_deliveries").fetchone()["n"] == 0


def test_deliveries_listing(client, admin_headers, db):
    hook(client, admin_headers, "inventory_added")
    for n in range(3):
        f.create_product(client, admin_headers, f"p{n}")
    resp = client.get(f"{URL}/inventory_added/deliveries", headers=admin_headers)
    assert resp.status_code == 200
    body = resp.get_json()["deliveries"]
    assert [d["delivery_serial"] for d in body] == [3, 2, 1]  # newest first
    assert body[0]["event_type"] == "inventory_added" and body[0]["delivered"] is False
    assert body[0]["attempts"] == [] and body[0]["attempt_count"] == 0
    assert "t_s" in body[0]["event_time"] and "delivery_time" not in body[0]
    resp = client.get(f"{URL}/inventory_added/deliveries?limit=1&offset=0",
                      headers=admin_headers)
    assert [d["delivery_serial"] for d in resp.get_json()["deliveries"]] == [1]
    assert_error(client.get(f"{URL}/inventory_added/deliveries?limit=x",
                            headers=admin_headers), 400, 26)


def test_purging_an_instance_takes_its_webhooks_and_events(client, admin_headers, db):
    shop = f.instance_headers(client, admin_headers, "shop")
    for event in ("inventory_added", "inventory_deleted", "category_deleted"):
        hook(client, shop, event, instance="shop")
    f.create_product(client, shop, "tea", instance="shop")
    client.post("/instances/shop/private/categories", json={"name": "Tea"}, headers=shop)
    assert len(deliveries(db)) == 1
    resp = client.delete("/management/instances/shop?purge=YES", headers=admin_headers)
    assert resp.status_code == 204
    for table in ("webhooks", "webhook_deliveries", "webhook_attempts", "products"):
        assert db.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"] == 0, table


def test_forced_delete_of_a_locked_product_is_an_event(client, admin_headers, db):
    hook(client, admin_headers, "inventory_deleted")
    f.create_product(client, admin_headers, "tea")
    assert f.lock(client, admin_headers, "tea").status_code == 204
    assert_error(client.delete("/private/products/tea", headers=admin_headers), 409, 2680)
    assert deliveries(db) == []
    resp = client.delete("/private/products/tea?force=yes", headers=admin_headers)
    assert resp.status_code == 204
    assert [r["event_type"] for r in deliveries(db)] == ["inventory_deleted"]
