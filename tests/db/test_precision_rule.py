"""The precision rule has a Python side (product counters, in stock.py) and an SQL
side (order and lock lines, ``exceeds_precision`` in 00-holds.sql): they agree on
every stored setting and every shape of quantity."""
from decimal import Decimal

from taler_inventory import stock

QUANTITIES = ["0", "1", "10", "1.0", "1.50", "0.5", "2.25", "0.125", "1.0000", "3.1415",
              "0.00001", "7.000001", "12.345600", "4503599627370495", "4503599627370495.5"]


def test_python_and_sql_agree_on_every_setting(db):
    cases = [(Decimal(text), allow, level)
             for text in QUANTITIES for allow in (False, True)
             for level in range(stock.MAX_PRECISION_LEVEL + 1)
             if allow or level == 0]  # stored: no precision without fractions
    rows = db.execute(
        """SELECT exceeds_precision(c.q, c.allow, c.level) AS sql
             FROM unnest(%s::NUMERIC[], %s::BOOLEAN[], %s::INT4[]) WITH ORDINALITY
                  AS c(q, allow, level, ord)
            ORDER BY c.ord""",
        ([c[0] for c in cases], [c[1] for c in cases], [c[2] for c in cases])).fetchall()
    python = [stock.exceeds_precision(q, stock.precision_of(allow, level))
              for q, allow, level in cases]
    assert [r["sql"] for r in rows] == python
    assert any(python) and not all(python)


def test_the_tables_allow_the_levels_the_schemas_allow(db):
    """The CHECKs of products and units bound the level where stock.py does."""
    bounds = db.execute(
        """SELECT conrelid::regclass::text AS tab, pg_get_constraintdef(oid) AS def
             FROM pg_constraint
            WHERE contype = 'c' AND pg_get_constraintdef(oid) LIKE '%%unit_precision_level >=%%'
            ORDER BY 1""").fetchall()
    assert [b["tab"] for b in bounds] == ["products", "units"]
    for b in bounds:
        assert f"unit_precision_level <= {stock.MAX_PRECISION_LEVEL}" in b["def"], b
