"""stock.py: the availability and precision arithmetic of a product."""
from decimal import Decimal as D

from taler_inventory import stock


def test_available_is_what_is_left_and_never_below_zero():
    assert stock.available(D(10), D(3), D(1), D("2.5")) == D("3.5")
    assert stock.available(D(5), D(4), D(3), D(0)) == 0  # a loss oversubscribed it
    assert stock.available(None, D(3), D(0), D(1)) is None  # unlimited


def test_precision_without_fractions_is_zero_else_the_level_or_the_default():
    assert stock.precision_of(False, 3) == 0
    assert stock.precision_of(True, 2) == 2
    assert stock.precision_of(True, None) == stock.DEFAULT_FRACTION_PRECISION


def test_a_new_product_takes_the_units_fractions_unless_it_says_otherwise():
    product = {}
    stock.resolve_precision(product, (True, 3))
    assert product == {"unit_allow_fraction": True, "unit_precision_level": 3}
    product = {"unit_allow_fraction": True}
    stock.resolve_precision(product, (False, 0))
    assert product["unit_precision_level"] == stock.DEFAULT_FRACTION_PRECISION
    product = {"unit_allow_fraction": False, "unit_precision_level": 4}
    stock.resolve_precision(product, (True, 3))
    assert product["unit_precision_level"] == 0


def test_excess_precision_names_the_first_quantity_too_fine():
    assert stock.excess_precision({"total_stock": D("1.50"), "total_lost": D("0.25")}, 1) \
        == "unit_total_lost"
    assert stock.excess_precision({"total_stock": None, "total_sold": D(2)}, 0) is None


def test_oversubscribed_when_sold_and_lost_exceed_the_stock():
    assert stock.oversubscribed(D("10"), D("6"), D("4.1"))
    assert not stock.oversubscribed(D("10"), D("6"), D("4"))
    # Unlimited stock is never oversubscribed.
    assert not stock.oversubscribed(None, D("10") ** 9, D("10") ** 9)
