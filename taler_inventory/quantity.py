"""DecimalQuantity: exact stock quantities as they travel on the wire.

A quantity is a :class:`decimal.Decimal` with at most six fraction digits and an
integer part below 2^52.  On the wire it is a string ``"<int>[.<fraction>]"``
(strict: no sign, exponent, blanks or leading zeros) with a legacy integer twin
that carries the integer part; ``"-1"`` / ``-1`` mean *unlimited* where allowed.
"""
import re
from decimal import Decimal

MAX_INTEGER = 2**52 - 1
MAX_FRACTION_DIGITS = 6
_PATTERN = re.compile(r"(0|[1-9][0-9]*)(?:\.([0-9]{1,6}))?")
UNLIMITED_TEXT = "-1"


class QuantityError(ValueError):
    """The text is not a DecimalQuantity."""


def parse(text: str) -> Decimal:
    """Parse a DecimalQuantity string exactly; raise :class:`QuantityError`."""
    if not isinstance(text, str):
        raise QuantityError("a DecimalQuantity is a JSON string")
    match = _PATTERN.fullmatch(text)
    if match is None:
        raise QuantityError(f"{text[:40]!r} is not a DecimalQuantity")
    if int(match.group(1)) > MAX_INTEGER:
        raise QuantityError("the integer part must be below 2^52")
    return Decimal(text)


def from_legacy(value: int) -> Decimal:
    """A legacy integer quantity (not -1) as a Decimal."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INTEGER:
        raise QuantityError("a legacy quantity is an integer from 0 to 2^52-1")
    return Decimal(value)


def fraction_digits(value: Decimal) -> int:
    """How many fraction digits a quantity needs (trailing zeros do not count)."""
    value = value.normalize()
    exponent = value.as_tuple().exponent
    return max(0, -exponent)


def format(value: Decimal | None) -> str:  # noqa: A001 - the wire format's name
    """Canonical text: no trailing zeros, no point for whole numbers; None -> "-1"."""
    if value is None:
        return UNLIMITED_TEXT
    if value == value.to_integral_value():
        return str(int(value))
    text = f"{value:f}".rstrip("0")
    return text


def legacy(value: Decimal | None) -> int:
    """The legacy integer twin: the integer part; None (unlimited) -> -1."""
    if value is None:
        return -1
    return int(value)
