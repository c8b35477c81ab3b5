"""Turning a line amount into document lines whose unit prices have at most two decimals.

Ledgers such as e-conomic accept unit prices with two decimals only, while a shop line of
10.00 for 3 units has a unit price of 3.3333…. Rounding the unit price would move the line
total; instead the line is split into ``q-1`` units at the price rounded towards zero and one
unit carrying the rest (2 × 3.33 + 1 × 3.34 = 10.00), so the net is exact to the cent.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from kobling.domain.money import CENT


def exact_unit_prices(net: Decimal, quantity: Decimal) -> list[tuple[Decimal, Decimal]]:
    """Return ``[(quantity, unit price), …]`` whose products sum exactly to ``net``."""
    if quantity == 0:
        return [(Decimal(1), net)]
    unit = net / quantity
    if unit == unit.quantize(CENT) and quantity == quantity.to_integral_value():
        return [(quantity, unit.quantize(CENT))]
    if quantity != quantity.to_integral_value() or quantity < 2:
        # A fractional quantity cannot be split into whole units: one line with the total.
        return [(Decimal(1), net)]
    base = unit.quantize(CENT, rounding=ROUND_DOWN)
    rest = net - base * (quantity - 1)
    return [(quantity - 1, base), (Decimal(1), rest)]
