"""Amount: exact Taler money values ``"CUR:V[.F]"``."""
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext

MAX_VALUE = 2**52
MAX_FRACTION_DIGITS = 8
_PATTERN = re.compile(r"([A-Z]{1,11}):(0|[1-9][0-9]*)(?:\.([0-9]{1,8}))?")
_FRACTION_QUANTUM = Decimal(1).scaleb(-MAX_FRACTION_DIGITS)
_EXACT = Context(prec=60)


class AmountError(ValueError):
    """The text is not an Amount, or arithmetic left the Amount range."""


@dataclass(frozen=True)
class Amount:
    currency: str
    value: Decimal

    @classmethod
    def parse(cls, text: str) -> "Amount":
        if not isinstance(text, str):
            raise AmountError("an Amount is a JSON string")
        match = _PATTERN.fullmatch(text)
        if match is None:
            raise AmountError(f"{text[:40]!r} is not an Amount (CUR:VALUE[.FRACTION])")
        if int(match.group(2)) > MAX_VALUE:
            raise AmountError("the value must be at most 2^52")
        return cls(match.group(1), Decimal(text.split(":", 1)[1]))

    @classmethod
    def zero(cls, currency: str) -> "Amount":
        return cls(currency, Decimal(0))

    def _check(self) -> "Amount":
        if self.value < 0 or self.value >= MAX_VALUE + 1:
            raise AmountError("amount out of range")
        return self

    def _same_currency(self, other: "Amount"):
        if other.currency != self.currency:
            raise AmountError(f"currency mismatch: {self.currency} and {other.currency}")

    def __lt__(self, other: "Amount") -> bool:
        self._same_currency(other)
        return self.value < other.value

    def __le__(self, other: "Amount") -> bool:
        return self == other or self < other

    def __add__(self, other: "Amount") -> "Amount":
        self._same_currency(other)
        return Amount(self.currency, self.value + other.value)._check()

    def __sub__(self, other: "Amount") -> "Amount":
        self._same_currency(other)
        return Amount(self.currency, self.value - other.value)._check()

    def multiply(self, quantity: Decimal) -> "Amount":
        """Price times quantity, rounded half-even to Taler's 8 fraction digits.

        The product is computed exactly first (an amount has at most 24 digits and
        a quantity 22, so 50 digits always suffice), then rounded once.
        """
        with localcontext(_EXACT):
            product = self.value * quantity
            if product >= MAX_VALUE + 1:
                raise AmountError("amount out of range")
            product = product.quantize(_FRACTION_QUANTUM, rounding=ROUND_HALF_EVEN)
        return Amount(self.currency, product)._check()

    def __str__(self) -> str:
        value = self.value
        if value == value.to_integral_value():
            return f"{self.currency}:{int(value)}"
        return f"{self.currency}:{value:f}".rstrip("0")
