from decimal import Decimal

import pytest

from kobling.domain.address import Address
from kobling.domain.money import CurrencyMismatch, Money, round_half_up, to_decimal


def test_adding_keeps_exact_cents() -> None:
    total = Money.of("0.10", "DKK") + Money.of("0.20", "DKK")
    assert total == Money(Decimal("0.30"), "DKK")


def test_currencies_do_not_mix() -> None:
    with pytest.raises(CurrencyMismatch):
        Money.of("1", "DKK") + Money.of("1", "EUR")


def test_floats_are_refused_everywhere() -> None:
    with pytest.raises(TypeError):
        to_decimal(0.1)
    with pytest.raises(TypeError):
        Money.of("1.00", "DKK") * 1.5  # type: ignore[operator]


def test_half_up_rounding_of_half_cents() -> None:
    # 24.9975 → 25.00 and 1.665 → 1.67 (banker's rounding would give 1.66).
    assert round_half_up(Decimal("24.9975")) == Decimal("25.00")
    assert round_half_up(Decimal("1.665")) == Decimal("1.67")
    assert round_half_up(Decimal("-1.665")) == Decimal("-1.67")


def test_currency_code_is_checked_and_normalized() -> None:
    assert Money.of("1", "dkk").currency == "DKK"
    with pytest.raises(ValueError, match="ISO 4217"):
        Money.of("1", "kroner")


def test_country_must_be_iso_alpha2() -> None:
    assert Address(country="dk").country == "DK"
    with pytest.raises(ValueError, match="ISO 3166-1"):
        Address(country="Denmark")
