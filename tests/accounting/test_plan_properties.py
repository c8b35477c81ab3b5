"""Property tests: whatever the order, a plan either holds it or matches the shop to the cent."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from kobling.accounting.plan import PlanPolicy, plan_invoice
from kobling.domain import Fee, Money
from kobling.errors import PermanentError
from tests.factories import line, order

CENT = Decimal("0.01")


def vat25(net: Decimal) -> Decimal:
    # The shop's own per-line VAT at the Danish 25%, written out independently of the code.
    return (net * Decimal("0.25")).quantize(CENT, rounding=ROUND_HALF_UP)


amounts = st.integers(min_value=1, max_value=2_000_000).map(lambda c: Decimal(c) / 100)
lines_st = st.lists(
    st.tuples(st.integers(min_value=1, max_value=12), amounts), min_size=1, max_size=6
)


@settings(max_examples=300, deadline=None)
@given(
    lines=lines_st,
    shipping=st.one_of(st.none(), amounts),
    fee=st.one_of(
        st.none(), st.integers(min_value=-5000, max_value=5000).map(lambda c: Decimal(c) / 100)
    ),
    nudge=st.integers(min_value=-12, max_value=12).map(lambda c: Decimal(c) / 100),
)
def test_plan_matches_the_shop_or_holds(
    lines: list[tuple[int, Decimal]],
    shipping: Decimal | None,
    fee: Decimal | None,
    nudge: Decimal,
) -> None:
    shop_lines = [
        line(f"item{i}", str(qty), str(net), str(vat25(net)), sku=f"SKU{i}")
        for i, (qty, net) in enumerate(lines)
    ]
    fees = ()
    if fee is not None:
        fees = (Fee("f", "Fee", Money(fee, "DKK"), Money(vat25(fee), "DKK")),)
    charged = sum(net + vat25(net) for _, net in lines)
    if shipping is not None:
        charged += shipping + vat25(shipping)
    if fee is not None:
        charged += fee + vat25(fee)
    charged += nudge
    o = order(
        *shop_lines,
        total=str(charged),
        shipping=(str(shipping), str(vat25(shipping))) if shipping is not None else None,
        fees=fees,
    )
    policy = PlanPolicy()
    try:
        plan = plan_invoice(o, policy)
    except PermanentError as held:
        assert held.code == "totals_mismatch"
        return
    # Not held: the document equals what the customer paid, to the cent.
    assert plan.gross == charged
    assert plan.net + plan.vat == plan.gross
    assert sum(x.net + x.vat for x in plan.lines) == charged
    for planned in plan.lines:
        assert planned.unit_net_price == planned.unit_net_price.quantize(CENT)
        expected_vat = (planned.net * planned.vat_rate / 100).quantize(CENT, ROUND_HALF_UP)
        assert planned.vat == expected_vat
    # Each shop line's net survives the split exactly.
    per_line: dict[str, Decimal] = defaultdict(Decimal)
    for planned in plan.lines:
        if planned.kind == "product":
            per_line[planned.source_line_id] += planned.quantity * planned.unit_net_price
    for i, (_, net) in enumerate(lines):
        assert per_line[f"item{i}"] == net
    # Within the tolerance the difference became one rounding line, else none was needed.
    rounding = [x for x in plan.lines if x.kind == "rounding"]
    assert len(rounding) <= 1
    assert abs(plan.rounding) <= policy.rounding_tolerance
