"""DecimalQuantity: strict parsing, canonical formatting, legacy twins."""
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from taler_inventory import quantity as q

#: Canonical quantity texts: no leading zeros, 1-6 fraction digits without trailing zero.
canonical = st.builds(
    lambda i, frac: str(i) + (f".{frac}" if frac else ""),
    st.integers(min_value=0, max_value=q.MAX_INTEGER),
    st.one_of(st.just(""), st.from_regex(r"[0-9]{0,5}[1-9]", fullmatch=True)))

quantities = st.decimals(min_value=0, max_value=q.MAX_INTEGER, places=6,
                         allow_nan=False, allow_infinity=False)


@pytest.mark.parametrize("text, value", [
    ("0", Decimal(0)), ("1", Decimal(1)), ("10", Decimal(10)), ("0.5", Decimal("0.5")),
    ("2.000000", Decimal(2)), ("0.000001", Decimal("0.000001")),
    (str(q.MAX_INTEGER), Decimal(q.MAX_INTEGER)),
    (f"{q.MAX_INTEGER}.999999", Decimal(f"{q.MAX_INTEGER}.999999")),
])
def test_parse_valid(text, value):
    assert q.parse(text) == value


@pytest.mark.parametrize("text", [
    "1e3", "1E3", "1.", ".5", "+1", "-1", "-0", " 1", "1 ", "NaN", "nan", "Infinity", "inf",
    "", "01", "00", "00.5", "1.0000000", "0.1234567", str(2**52), str(2**52) + ".5",
    "1,5", "1_000", "١", "0x10", "1.5.5", "\u00a01", "1\n",
])
def test_parse_malformed(text):
    with pytest.raises(q.QuantityError):
        q.parse(text)


@pytest.mark.parametrize("value", [1, 1.5, None, True, b"1", ["1"]])
def test_parse_needs_a_string(value):
    with pytest.raises(q.QuantityError):
        q.parse(value)


@pytest.mark.parametrize("value, text", [
    (Decimal("2.0"), "2"), (Decimal("2.500000"), "2.5"), (Decimal("0.000000"), "0"),
    (Decimal("1E+1"), "10"), (Decimal("0.375"), "0.375"), (None, "-1"),
    (Decimal("4503599627370495.000001"), "4503599627370495.000001"),
])
def test_format_is_canonical(value, text):
    assert q.format(value) == text


@pytest.mark.parametrize("value, digits", [
    (Decimal("2"), 0), (Decimal("2.000000"), 0), (Decimal("2.50"), 1),
    (Decimal("0.000001"), 6), (Decimal("1E+2"), 0),
])
def test_fraction_digits(value, digits):
    assert q.fraction_digits(value) == digits


def test_legacy_twin_is_the_integer_part():
    assert q.legacy(Decimal("2.999999")) == 2
    assert q.legacy(Decimal(0)) == 0
    assert q.legacy(None) == -1
    assert q.from_legacy(7) == Decimal(7)
    for bad in (-1, True, 2**52, 1.0, "1"):
        with pytest.raises(q.QuantityError):
            q.from_legacy(bad)


@given(canonical)
def test_format_parse_round_trip(text):
    assert q.format(q.parse(text)) == text


@given(quantities)
def test_parse_format_round_trip(value):
    assert q.parse(q.format(value)) == value


@given(quantities, quantities)
def test_arithmetic_is_exact(a, b):
    # Sums and differences of quantities need at most 23 digits: exact in the
    # default 28-digit context, so they agree with rational arithmetic.
    assert Fraction(a + b) == Fraction(a) + Fraction(b)
    assert Fraction(a - b) == Fraction(a) - Fraction(b)
    assert (a < b) == (Fraction(a) < Fraction(b))
    assert q.fraction_digits(a + b) <= q.MAX_FRACTION_DIGITS
    if a + b <= q.MAX_INTEGER:
        assert q.parse(q.format(a + b)) == a + b


@given(st.text(max_size=12))
def test_parse_accepts_only_the_grammar(text):
    import re
    valid = re.fullmatch(r"(0|[1-9][0-9]*)(\.[0-9]{1,6})?", text, flags=re.ASCII)
    if valid and int(text.split(".")[0]) <= q.MAX_INTEGER:
        assert q.format(q.parse(text)) == q.format(Decimal(text))
    else:
        with pytest.raises(q.QuantityError):
            q.parse(text)
