from decimal import Decimal

import pytest

from kobling.accounting.lines import exact_unit_prices

D = Decimal


@pytest.mark.parametrize(
    ("net", "quantity", "expected"),
    [
        ("99.99", "3", [("3", "33.33")]),
        # 10.00 / 3 = 3.333…: 2 × 3.33 + 1 × 3.34 = 6.66 + 3.34 = 10.00
        ("10.00", "3", [("2", "3.33"), ("1", "3.34")]),
        # 100.00 / 7: 6 × 14.28 = 85.68, rest 14.32
        ("100.00", "7", [("6", "14.28"), ("1", "14.32")]),
        ("5.00", "1", [("1", "5.00")]),
        ("-20.00", "1", [("1", "-20.00")]),
    ],
)
def test_split_is_exact(net: str, quantity: str, expected: list[tuple[str, str]]) -> None:
    result = exact_unit_prices(D(net), D(quantity))
    assert result == [(D(q), D(u)) for q, u in expected]
    assert sum(q * u for q, u in result) == D(net)


def test_every_split_sums_exactly() -> None:
    for cents in range(1, 5000, 37):
        net = D(cents) / 100
        for quantity in range(1, 12):
            lines = exact_unit_prices(net, D(quantity))
            assert sum(q * u for q, u in lines) == net
            assert all(u == u.quantize(D("0.01")) for _, u in lines)
