"""Amount: strict parsing, exact arithmetic, price times quantity."""
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from taler_inventory.amount import MAX_VALUE, Amount, AmountError

currencies = st.from_regex(r"[A-Z]{1,11}", fullmatch=True)
values = st.decimals(min_value=0, max_value=MAX_VALUE, places=8,
                     allow_nan=False, allow_infinity=False)
quantities = st.decimals(min_value=0, max_value=2**52 - 1, places=6,
                         allow_nan=False, allow_infinity=False)
canonical = st.builds(
    lambda cur, i, frac: f"{cur}:{i}" + (f".{frac}" if frac else ""),
    currencies, st.integers(min_value=0, max_value=MAX_VALUE),
    st.one_of(st.just(""), st.from_regex(r"[0-9]{0,7}[1-9]", fullmatch=True)))


@pytest.mark.parametrize("text, currency, value", [
    ("KUDOS:1", "KUDOS", Decimal(1)), ("EUR:0.5", "EUR", Decimal("0.5")),
    ("A:0", "A", Decimal(0)), ("ABCDEFGHIJK:1.00000001", "ABCDEFGHIJK", Decimal("1.00000001")),
    (f"KUDOS:{2**52}", "KUDOS", Decimal(2**52)),
])
def test_parse_valid(text, currency, value):
    amount = Amount.parse(text)
    assert (amount.currency, amount.value) == (currency, value)


@pytest.mark.parametrize("text", [
    "KUDOS", "KUDOS:", ":1", "kudos:1", "KUDOS:1.", "KUDOS:.5", "KUDOS:+1", "KUDOS:-1",
    "KUDOS:1e3", "KUDOS:01", "KUDOS:1.123456789", "ABCDEFGHIJKL:1", f"KUDOS:{2**52 + 1}",
    " KUDOS:1", "KUDOS:1 ", "KUDOS:NaN", "KU DOS:1", "KUDOS:1:2", "",
])
def test_parse_malformed(text):
    with pytest.raises(AmountError):
        Amount.parse(text)


@pytest.mark.parametrize("value", [1, None, 1.5, ["KUDOS:1"]])
def test_parse_needs_a_string(value):
    with pytest.raises(AmountError):
        Amount.parse(value)


def test_str_is_canonical():
    assert str(Amount.parse("KUDOS:1.50000000")) == "KUDOS:1.5"
    assert str(Amount.parse("KUDOS:2.0")) == "KUDOS:2"
    assert str(Amount("KUDOS", Decimal("1E+1"))) == "KUDOS:10"
    assert str(Amount.zero("EUR")) == "EUR:0"


def test_add_subtract_and_currency_mismatch():
    a, b = Amount.parse("EUR:1.25"), Amount.parse("EUR:0.75")
    assert str(a + b) == "EUR:2"
    assert str(a - b) == "EUR:0.5"
    with pytest.raises(AmountError):
        b - a
    with pytest.raises(AmountError):
        a + Amount.parse("KUDOS:1")
    with pytest.raises(AmountError):
        Amount.parse(f"EUR:{2**52}") + Amount.parse("EUR:1")


@pytest.mark.parametrize("price, quantity, result", [
    ("EUR:1.5", "3", "EUR:4.5"),
    ("EUR:0.1", "0.5", "EUR:0.05"),
    ("EUR:2", "0", "EUR:0"),
    ("EUR:0.00000001", "0.5", "EUR:0"),            # half to even: down to 0
    ("EUR:0.00000003", "0.5", "EUR:0.00000002"),   # half to even: up to 2
    ("EUR:0.00000001", "0.500001", "EUR:0.00000001"),
    ("EUR:12345678.12345678", "123456789.123456", "EUR:1524157780673667.6774889"),
])
def test_multiply_rounds_half_even_to_eight_digits(price, quantity, result):
    assert str(Amount.parse(price).multiply(Decimal(quantity))) == result


def test_multiply_out_of_range():
    with pytest.raises(AmountError):
        Amount.parse(f"EUR:{2**52}").multiply(Decimal(2))


@given(canonical)
def test_round_trip(text):
    assert str(Amount.parse(text)) == text


@given(currencies, values, values)
def test_add_subtract_match_exact_arithmetic(currency, x, y):
    a, b = Amount(currency, x), Amount(currency, y)
    if x + y <= MAX_VALUE:
        assert Fraction((a + b).value) == Fraction(x) + Fraction(y)
    if x >= y:
        assert Fraction((a - b).value) == Fraction(x) - Fraction(y)
        assert (a - b) + b == a


@given(values, quantities)
def test_multiply_matches_exact_rounding(price, quantity):
    exact = Fraction(price) * Fraction(quantity)
    scaled = exact * 10**8
    floor = scaled.numerator // scaled.denominator
    rest = scaled - floor
    rounded = floor + (1 if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and floor % 2) else 0)
    expected = Fraction(rounded, 10**8)
    try:
        result = Amount("EUR", price).multiply(quantity)
    except AmountError:
        assert expected > MAX_VALUE
    else:
        assert Fraction(result.value) == expected
        assert Amount.parse(str(result)) == result


def test_compare():
    a, b = Amount.parse("EUR:1.5"), Amount.parse("EUR:1.50000001")
    assert a < b and a <= b and b > a and b >= a and not b < a
    assert a == Amount.parse("EUR:1.50") and a <= Amount.parse("EUR:1.5")
    assert a != Amount.parse("KUDOS:1.5")
    with pytest.raises(AmountError):
        _ = a < Amount.parse("KUDOS:2")
