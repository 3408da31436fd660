"""POST /private/products: creation, idempotence, conflicts and bad input."""
from tests import factories as f


def test_create_and_show(client, admin_headers, db):
    f.create_product(client, admin_headers, "beans", unit_allow_fraction=True,
                     unit_total_stock="2.5")
    detail = f.product(client, admin_headers, "beans")
    assert detail["unit_total_stock"] == "2.5"
    assert detail["total_stock"] == 2
    assert detail["unit_precision_level"] == 6
    row = db.execute("SELECT total_stock FROM products WHERE product_id = 'beans'").fetchone()
    assert str(row["total_stock"].normalize()) == "2.5"


def test_identical_repost_is_204(client, admin_headers):
    f.create_product(client, admin_headers, "p1")
    f.create_product(client, admin_headers, "p1")
