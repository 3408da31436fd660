"""Stock arithmetic: what a product has available, and how fine its quantities may be.

Plain values in, plain values out (quantities are Decimals, None is unlimited
stock): the schemas, the views and the database operations all use these rules,
and none of them is written anywhere else in Python.  The stored procedures check
the same precision rule on order and lock lines (SQL ``exceeds_precision``); a test
proves that the two agree.
"""
from decimal import Decimal

from . import quantity as q
from .amount import Amount

#: A product's counters: (name, may be unlimited).  Each travels on the wire as
#: ``unit_<name>`` with a legacy integer twin ``<name>``.
QUANTITIES = {"total_stock": True, "total_sold": False, "total_lost": False,
              "minimum_quantity": False}

#: The most fraction digits a unit or a product may allow (the tables' CHECKs say so too).
MAX_PRECISION_LEVEL = 6
#: The precision of a product whose fractions are allowed, unless it says otherwise.
DEFAULT_FRACTION_PRECISION = 6


def precision_of(allow_fraction: bool, level: int | None) -> int:
    """The fraction digits a product's quantities may have."""
    if not allow_fraction:
        return 0
    return DEFAULT_FRACTION_PRECISION if level is None else level


def exceeds_precision(value: Decimal, precision: int) -> bool:
    """Whether ``value`` has more fraction digits than ``precision`` (trailing zeros
    do not count)."""
    return q.fraction_digits(value) > precision


def resolve_precision(product: dict, policy: tuple[bool, int]) -> None:
    """Set fractions and precision of a new product: what it says, else its unit's.

    ``policy`` is (fractions allowed, precision) of the product's unit.  An explicit
    precision counts only with fractions; fractions allowed without a precision of
    their own take the unit's, or the default where the unit has none.
    """
    unit_allow, unit_level = policy
    allow = product.get("unit_allow_fraction", unit_allow)
    level = product.get("unit_precision_level")
    if level is None and unit_allow:
        level = unit_level
    product["unit_allow_fraction"] = allow
    product["unit_precision_level"] = precision_of(allow, level)


def excess_precision(values: dict, precision: int) -> str | None:
    """The wire name of the first quantity in ``values`` with too many fraction digits."""
    for name in QUANTITIES:
        value = values.get(name)
        if value is not None and exceeds_precision(value, precision):
            return "unit_" + name
    return None


def available(total_stock: Decimal | None, sold: Decimal, lost: Decimal,
              locked: Decimal) -> Decimal | None:
    """What is left to lock or order: stock - sold - lost - locked, never below
    zero (a loss may oversubscribe); None for unlimited stock."""
    if total_stock is None:
        return None
    return max(Decimal(0), total_stock - sold - lost - locked)


def oversubscribed(total_stock: Decimal | None, sold: Decimal, lost: Decimal) -> bool:
    """Whether sold and lost units together exceed the stock (never when unlimited)."""
    return total_stock is not None and sold + lost > total_stock


def with_base_price(prices: list[str], base: Amount) -> list[str]:
    """A stored price list with a new base price (first), other currencies kept."""
    rest = [p for p in prices[1:] if Amount.parse(p).currency != base.currency]
    return [str(base)] + rest
