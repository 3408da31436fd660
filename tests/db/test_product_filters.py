"""The filters of GET /private/products are served by indexes (trigram / B-tree).

An instance with many products and a selective filter: with fresh statistics the
planner must find the matches through the filter's own index rather than by walking
all of the instance's products.  Sequential and plain index scans are disabled for
the plan (bitmap scans need an index condition, so nothing can be read whole): on
tables of this size a whole read still looks cheap to the planner (it switches to
the trigram index by itself from about 50,000 products), and the point is that an
index serves each filter.
"""
import json

import pytest

from taler_inventory.backenddb.products import list_products_query

N = 30000
CATEGORIES = 5000


@pytest.fixture
def many(db):
    db.execute(
        """INSERT INTO products (instance_serial, product_id, product_name, description, unit,
                                 product_group_serial)
           SELECT 1, 'p' || i, 'item number ' || i, 'plain description ' || i, 'piece', NULL
             FROM generate_series(1, %s) AS i""", (N,))
    db.execute("INSERT INTO product_groups (instance_serial, group_name, description)"
               " VALUES (1, 'Bar', '')")
    db.execute("UPDATE products SET product_name = 'Green tea', description = 'Sencha',"
               " product_group_serial = (SELECT min(group_serial) FROM product_groups)"
               " WHERE product_id = 'p4321'")
    db.execute("INSERT INTO categories (instance_serial, name)"
               " SELECT 1, 'category ' || i FROM generate_series(1, %s) AS i", (CATEGORIES,))
    db.execute("INSERT INTO categories (instance_serial, name) VALUES (1, 'Hot Drinks')")
    db.execute(
        """INSERT INTO product_categories (product_serial, category_serial, instance_serial)
           SELECT p.product_serial, 1 + p.product_serial %% %s, 1 FROM products p""",
               (CATEGORIES,))
    db.execute(
        """INSERT INTO product_categories (product_serial, category_serial, instance_serial)
           SELECT p.product_serial, c.category_serial, 1 FROM products p, categories c
            WHERE p.product_id = 'p4321' AND c.name = 'Hot Drinks'""")
    db.execute("ANALYZE products, categories, product_categories, product_groups")


def plan(db, filters):
    sql, params = list_products_query(1, 20, None, filters)
    with db.transaction():
        db.execute("SET LOCAL enable_seqscan = off")
        db.execute("SET LOCAL enable_indexscan = off")
        rows = db.execute("EXPLAIN (FORMAT JSON) " + sql, params).fetchall()
    return json.dumps(rows[0]["QUERY PLAN"]), db.execute(sql, params).fetchall()


FILTERS = [
    ({"name_filter": "green tea"}, "products_name_trgm"),
    ({"description_filter": "sencha"}, "products_description_trgm"),
    ({"category_filter": "hot drinks"}, "categories_name_trgm"),
    ({"product_group_serial": 1}, "products_by_group"),
]


def test_each_filter_uses_its_index(db, many):
    # One test for all filters: filling the tables is the slow part.
    for filters, index in FILTERS:
        text, rows = plan(db, filters)
        assert [r["product_id"] for r in rows] == ["p4321"], filters
        assert index in text, text
        assert "Seq Scan" not in text, text


def test_trigram_extension_is_installed(db):
    row = db.execute("SELECT extversion FROM pg_extension WHERE extname = 'pg_trgm'").fetchone()
    assert row is not None
