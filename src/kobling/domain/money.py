"""Money: an exact decimal amount in one ISO 4217 currency.

Floats never represent money in Kobling: a float cannot hold 0.1 exactly, and an invoice that is
off by a cent is wrong. Every amount is a ``Decimal`` that travels with its currency, and adding
two currencies is an error rather than a silent mix-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")


class CurrencyMismatch(ValueError):
    """Two amounts in different currencies were combined."""


def to_decimal(value: object) -> Decimal:
    """Parse an amount as sources deliver it (strings, ints, Decimals), refusing floats."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool | float):
        raise TypeError(f"amount {value!r} must not be a float or bool: pass a string or Decimal")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        text = value.strip() or "0"
        try:
            return Decimal(text)
        except InvalidOperation as exc:
            raise ValueError(f"{value!r} is not a number") from exc
    raise TypeError(f"cannot read an amount from {type(value).__name__}")


def round_half_up(amount: Decimal, places: Decimal = CENT) -> Decimal:
    """Commercial rounding (0.005 → 0.01), the rule shops and ledgers use for VAT and totals."""
    return amount.quantize(places, rounding=ROUND_HALF_UP)


def check_currency(code: str) -> str:
    """Return an upper-case ISO 4217 code or raise with the fix."""
    normal = code.strip().upper()
    if len(normal) != 3 or not normal.isalpha():
        raise ValueError(f"currency {code!r} is not an ISO 4217 code such as 'DKK' or 'EUR'")
    return normal


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in one currency."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", to_decimal(self.amount))
        object.__setattr__(self, "currency", check_currency(self.currency))

    @classmethod
    def of(cls, value: object, currency: str) -> Money:
        return cls(to_decimal(value), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal("0"), currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        if isinstance(factor, float):
            raise TypeError("multiply money by a Decimal or int, never a float")
        return Money(self.amount * factor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def rounded(self) -> Money:
        """The amount rounded half-up to cents."""
        return Money(round_half_up(self.amount), self.currency)

    def is_zero(self) -> bool:
        return self.amount == 0

    def __str__(self) -> str:
        return f"{self.amount:.2f} {self.currency}"


def total(amounts: list[Money], currency: str) -> Money:
    """Sum a list of amounts (an empty list sums to zero in ``currency``)."""
    result = Money.zero(currency)
    for amount in amounts:
        result = result + amount
    return result
