"""Plans computed from hand-made orders; every expected amount is worked out in the comments."""

from decimal import Decimal

import pytest

from kobling.accounting.plan import PlanPolicy, plan_invoice
from kobling.accounting.vat import VatZone
from kobling.domain import Fee, Money
from kobling.errors import PermanentError
from tests.factories import line, order

D = Decimal
POLICY = PlanPolicy()


def test_domestic_order_with_shipping() -> None:
    # 3 × 33.33 = 99.99 net, VAT 24.9975 → 25.00; shipping 49.00 + 12.25 VAT.
    # Total charged: 99.99 + 25.00 + 49.00 + 12.25 = 186.24
    o = order(
        line("Mug", "3", "99.99", "25.00", sku="MUG"), total="186.24", shipping=("49.00", "12.25")
    )
    plan = plan_invoice(o, POLICY)
    assert [(x.product_number, x.quantity, x.unit_net_price, x.vat_rate) for x in plan.lines] == [
        ("MUG", D(3), D("33.33"), D(25)),
        ("SHIPPING", D(1), D("49.00"), D(25)),
    ]
    assert (plan.net, plan.vat, plan.gross) == (D("148.99"), D("37.25"), D("186.24"))
    assert plan.customer.vat_zone is VatZone.DOMESTIC
    assert plan.reference == "1001"


def test_uneven_unit_price_is_split_and_rounding_evened_out() -> None:
    # 10.00 for 3 units: 2 × 3.33 (net 6.66, VAT 1.665 → 1.67) + 1 × 3.34 (VAT 0.835 → 0.84)
    # → VAT 2.51 against the shop's 2.50 on 10.00: gross 12.51 vs 12.50 charged, so a
    # rounding line of −0.01 without VAT brings the document to 12.50.
    o = order(line("Tee", "3", "10.00", "2.50", sku="TEE"), total="12.50")
    plan = plan_invoice(o, POLICY)
    assert [(x.kind, x.quantity, x.unit_net_price) for x in plan.lines] == [
        ("product", D(2), D("3.33")),
        ("product", D(1), D("3.34")),
        ("rounding", D(1), D("-0.01")),
    ]
    assert plan.lines[-1].vat_rate == 0
    assert plan.gross == D("12.50")


def test_vat_mismatch_is_held_naming_both_rates() -> None:
    # A German consumer charged 19% while the shop has no OSS: the rules say Danish 25%.
    o = order(line("Mug", "1", "100.00", "19.00"), total="119.00", country="DE")
    with pytest.raises(PermanentError) as caught:
        plan_invoice(o, POLICY)
    assert "19.00" in caught.value.reason and "25" in caught.value.reason
    assert caught.value.code == "vat_mismatch"
    assert caught.value.fix


def test_totals_beyond_tolerance_are_held() -> None:
    # Lines give 100.00 + 25.00 = 125.00 but the shop says 126.00: 1.00 > 0.05.
    o = order(line("Mug", "1", "100.00", "25.00"), total="126.00")
    with pytest.raises(PermanentError) as caught:
        plan_invoice(o, POLICY)
    assert caught.value.code == "totals_mismatch"
    assert "125.00" in caught.value.reason and "126.00" in caught.value.reason


def test_eu_business_is_reverse_charged() -> None:
    o = order(
        line("Mug", "2", "80.00", "0.00"),
        total="80.00",
        country="DE",
        vat_number="DE136695976",
        currency="EUR",
    )
    plan = plan_invoice(o, POLICY)
    assert plan.customer.vat_zone is VatZone.EU
    assert plan.vat == 0 and plan.gross == D("80.00")
    assert plan.currency == "EUR"


def test_export_outside_eu_has_no_vat() -> None:
    o = order(line("Mug", "1", "50.00", "0.00"), total="50.00", country="NO")
    plan = plan_invoice(o, POLICY)
    assert plan.customer.vat_zone is VatZone.ABROAD
    assert plan.gross == D("50.00")


def test_line_without_sku_is_held_with_the_product_named() -> None:
    o = order(line("Handmade bowl", "1", "40.00", "10.00", sku=None), total="50.00")
    with pytest.raises(PermanentError, match="'Handmade bowl' has no SKU"):
        plan_invoice(o, POLICY)


def test_negative_fee_is_a_line_of_its_own() -> None:
    # 200.00 + 50.00 VAT; fee −20.00 with −5.00 VAT → 230.00 + ... total 225.00
    fee = Fee("f1", "Loyalty discount", Money(D("-20.00"), "DKK"), Money(D("-5.00"), "DKK"))
    o = order(line("Lamp", "1", "200.00", "50.00"), total="225.00", fees=(fee,))
    plan = plan_invoice(o, POLICY)
    assert plan.lines[-1].product_number == "FEE"
    assert plan.lines[-1].unit_net_price == D("-20.00")
    assert plan.gross == D("225.00")


def test_reverse_charge_with_an_invalid_vat_number_is_held() -> None:
    # DE123456789 fails the German checksum: the sale is a consumer sale at 25%, so the shop's
    # 0% is wrong and the order is held, naming the number.
    o = order(
        line("Mug", "2", "80.00", "0.00"),
        total="80.00",
        country="DE",
        vat_number="DE123456789",
        currency="EUR",
    )
    with pytest.raises(PermanentError) as caught:
        plan_invoice(o, POLICY)
    assert "DE123456789 is not a valid EU VAT number" in caught.value.reason
    assert caught.value.code == "vat_mismatch"


def test_order_without_any_country_is_held() -> None:
    o = order(line("Mug", "1", "10.00", "2.50"), total="12.50", country="")
    with pytest.raises(PermanentError) as caught:
        plan_invoice(o, POLICY)
    assert caught.value.reason == (
        "the order has no billing or shipping country, so its VAT cannot be determined"
    )
