"""Credit notes for refunds; every amount worked out by hand in the comments."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from kobling.accounting.credit_note import plan_credit_note
from kobling.accounting.plan import PlanPolicy
from kobling.domain import Money, Refund, RefundLine
from kobling.errors import PermanentError
from tests.factories import line, order

D = Decimal
POLICY = PlanPolicy()


def refund(amount: str, *lines: tuple[str, str, str, str], rid: str = "77") -> Refund:
    return Refund(
        source_id=rid,
        amount=Money(D(amount), "DKK"),
        reason="damaged",
        created_at=datetime(2026, 11, 5, tzinfo=UTC),
        lines=tuple(
            RefundLine(lid, D(q), Money(D(net), "DKK"), Money(D(tax), "DKK"))
            for lid, q, net, tax in lines
        ),
    )


def shop_order():
    # Mug: 3 × 33.33 = 99.99 + 25.00 VAT; shipping 49.00 + 12.25; total 186.24
    return order(
        line("Mug", "3", "99.99", "25.00", sku="MUG"), total="186.24", shipping=("49.00", "12.25")
    )


def test_full_refund_with_lines_and_shipping_as_an_amount() -> None:
    # Lines: −3 × 33.33 = −99.99, VAT −24.9975 → −25.00.
    # The rest 186.24 − (99.99 + 25.00) = 61.25 is shipping: net 61.25 × 100/125 = 49.00,
    # VAT −12.25. Total −99.99 − 25.00 − 49.00 − 12.25 = −186.24.
    plan = plan_credit_note(
        shop_order(), refund("186.24", ("Mug", "3", "99.99", "25.00")), POLICY, "17"
    )
    assert [(x.product_number, x.quantity, x.unit_net_price, x.vat_rate) for x in plan.lines] == [
        ("MUG", D(-3), D("33.33"), D(25)),
        ("REFUND", D(-1), D("49.00"), D(25)),
    ]
    assert (plan.net, plan.vat, plan.gross) == (D("-148.99"), D("-37.25"), D("-186.24"))
    assert plan.kind == "credit_note" and plan.credits == "17"
    assert plan.reference == "1001-refund-77"


def test_amount_only_refund() -> None:
    # 10.01 incl. 25%: net 8.008 → 8.01, VAT −2.0025 → −2.00; −8.01 − 2.00 = −10.01.
    plan = plan_credit_note(shop_order(), refund("10.01"), POLICY, "17")
    assert [(x.quantity, x.unit_net_price) for x in plan.lines] == [(D(-1), D("8.01"))]
    assert plan.gross == D("-10.01")


def test_partial_refund_of_one_unit() -> None:
    # Order: Tee 3 units for 10.00 + 2.50 VAT. Refund one: 3.33 + 0.83 (0.8325) = 4.16.
    o = order(line("Tee", "3", "10.00", "2.50", sku="TEE"), total="12.50")
    plan = plan_credit_note(o, refund("4.16", ("Tee", "1", "3.33", "0.83")), POLICY, "9")
    assert [(x.product_number, x.quantity, x.unit_net_price) for x in plan.lines] == [
        ("TEE", D(-1), D("3.33")),
    ]
    assert plan.gross == D("-4.16")


def test_refund_lines_worth_more_than_the_amount_are_held() -> None:
    with pytest.raises(PermanentError) as caught:
        plan_credit_note(
            shop_order(), refund("50.00", ("Mug", "3", "99.99", "25.00")), POLICY, "17"
        )
    assert caught.value.code == "refund_amount"


def test_refund_of_a_line_the_order_does_not_have_is_held() -> None:
    with pytest.raises(PermanentError, match="does not have"):
        plan_credit_note(shop_order(), refund("10.00", ("Lamp", "1", "8.00", "2.00")), POLICY, "17")
