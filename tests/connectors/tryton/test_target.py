"""The Tryton target against a real Tryton 8.2 (marked ``tryton``): the cases beside the flow.

Each test has its own database copy. Amounts are computed by hand in the comments.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from kobling.accounting.plan import DocumentPlan, PlannedCustomer, PlannedLine, PlannedPayment
from kobling.accounting.vat import VatZone
from kobling.connectors.tryton.target import TrytonTarget
from kobling.errors import PermanentError, TransientError
from kobling.sandbox import tryton_ledger
from tests.connectors.tryton.conftest import TrytonDatabase

pytestmark = [pytest.mark.tryton, pytest.mark.slow]

D = Decimal
TODAY = date.today()


def target(db: TrytonDatabase, **overrides: Any) -> TrytonTarget:
    ledger = tryton_ledger(db.directory, url=db.url)
    credentials = {**ledger.credentials, **overrides.pop("credentials", {})}
    return TrytonTarget(db.url, credentials, {**ledger.target_settings, **overrides})


def customer(email: str = "ole@example.dk", country: str = "DK") -> PlannedCustomer:
    return PlannedCustomer(
        "email", email, "Ole Hansen", email, "Vestergade 1", "8000", "Aarhus", country, "",
        "+45 12345678", "DKK", VatZone.DOMESTIC, False,
    )  # fmt: skip


def plan(reference: str, on: date, *lines: PlannedLine, who: PlannedCustomer | None = None) -> Any:
    return DocumentPlan(reference, on, "DKK", who or customer(), tuple(lines), D(0))


def line(sku: str, quantity: str, unit: str, rate: str = "25", code: str = "DK:25") -> Any:
    return PlannedLine("product", sku, f"Item {sku}", D(quantity), D(unit), D(rate), "1", code)


def test_a_draft_is_found_again_not_created_twice_and_posted_once(tryton: TrytonDatabase) -> None:
    shop = target(tryton)
    order = plan("W-1", TODAY, line("MUG", "2", "40.00"))
    number = shop.ensure_customer(order.customer).number
    shop.ensure_products(order)
    first = shop.create_document(order, number)
    # The same step again (after a lost answer): the draft is found by its reference.
    again = shop.create_document(order, number)
    assert (again.id, again.state) == (first.id, "draft")
    booked = shop.book(first)
    # Booking again from the old draft handle: Tryton says it is posted already.
    assert shop.book(first).id == booked.id == f"INV{TODAY.year}-00001"
    # 2 × 40.00 = 80.00 + 25% 20.00 = 100.00
    assert booked.gross == D("100.00")
    found = tryton.client.search("account.invoice", [("reference", "=", "W-1")], fields=["id"])
    assert len(found) == 1
    # The customer was created once, with its e-mail; a second lookup matches it.
    assert shop.ensure_customer(order.customer).action == "matched"


def test_an_inactive_product_is_reported_not_created_again(tryton: TrytonDatabase) -> None:
    shop = target(tryton)
    order = plan("W-2", TODAY, line("OLD-1", "1", "10.00"))
    assert shop.ensure_products(order) == [{"code": "OLD-1", "action": "created"}]
    [product] = tryton.client.search("product.product", [("code", "=", "OLD-1")], fields=["id"])
    tryton.client.write("product.product", product["id"], {"active": False})
    with pytest.raises(PermanentError) as raised:
        target(tryton).ensure_products(order)
    assert raised.value.code == "product_inactive"
    assert "reactivate product OLD-1" in raised.value.fix
    everything = tryton.client.search(
        "product.product", [("code", "=", "OLD-1")], fields=["id"], active_test=False
    )
    assert len(everything) == 1


def test_an_inactive_customer_is_reported(tryton: TrytonDatabase) -> None:
    shop = target(tryton)
    party = shop.ensure_customer(customer("gone@example.dk")).number
    tryton.client.write("party.party", int(party), {"active": False})
    with pytest.raises(PermanentError) as raised:
        shop.ensure_customer(customer("gone@example.dk"))
    assert raised.value.code == "customer_inactive"


def test_a_destination_without_a_mapped_tax_is_held_with_the_setting_to_add(
    tryton: TrytonDatabase,
) -> None:
    shop = target(tryton)
    italian = line("MUG", "1", "40.00", "22", "IT:22:oss")
    order = plan("W-3", TODAY, italian)
    number = shop.ensure_customer(order.customer).number
    shop.ensure_products(order)
    with pytest.raises(PermanentError) as raised:
        shop.create_document(order, number)
    assert raised.value.code == "tax_missing"
    assert "22% VAT (IT:22:oss)" in raised.value.reason
    assert "target.taxes['IT:22'] = <tax id>" in raised.value.fix
    assert shop.find_document("W-3") is None


def test_no_fiscal_year_for_the_date_names_the_fix(tryton: TrytonDatabase) -> None:
    shop = target(tryton)
    early = date(TODAY.year - 3, 6, 15)  # the sandbox has last, this and next year
    order = plan("W-4", early, line("MUG", "1", "40.00"))
    number = shop.ensure_customer(order.customer).number
    shop.ensure_products(order)
    draft = shop.create_document(order, number)
    with pytest.raises(PermanentError) as raised:
        shop.book(draft)
    assert raised.value.code == "missing_period", raised.value.reason
    assert f"06/15/{early.year}" in raised.value.reason
    assert "Fiscal Years" in raised.value.fix
    assert shop.find_document("W-4") is not None  # the draft stays, unnumbered, for a retry


def test_a_late_order_is_dated_like_the_last_posted_invoice(tryton: TrytonDatabase) -> None:
    shop = target(tryton)
    yesterday, two_days_ago = TODAY - timedelta(days=1), TODAY - timedelta(days=2)
    if yesterday.year != two_days_ago.year or yesterday.year != TODAY.year:
        pytest.skip("needs three days of the same year")
    newer = plan("W-5", yesterday, line("MUG", "1", "40.00"))
    older = plan("W-6", two_days_ago, line("MUG", "1", "40.00"))
    number = shop.ensure_customer(newer.customer).number
    shop.ensure_products(newer)
    shop.book(shop.create_document(newer, number))
    late = shop.book(shop.create_document(older, number))
    assert late.state == "booked" and late.data["invoice_date"] == yesterday
    assert f"instead of the order's {two_days_ago}" in late.data["redated"][0]
    held = target(tryton, late_invoice_date="hold")
    oldest = plan("W-7", TODAY - timedelta(days=3), line("MUG", "1", "40.00"))
    with pytest.raises(PermanentError) as raised:
        held.book(held.create_document(oldest, number))
    assert raised.value.code == "invoice_date_order"


def test_vat_is_set_to_the_shops_cent_where_tryton_rounds_otherwise(
    tryton: TrytonDatabase,
) -> None:
    shop = target(tryton)
    # 2 × 3.33 = 6.66, VAT 1.665 → 1.67 (half up, per line as the shop); 1 × 3.34, VAT 0.835
    # → 0.84: VAT 2.51, total 12.51. Tryton alone would book 2.50 (half-even / summed).
    order = plan("W-8", TODAY, line("TEE", "2", "3.33"), line("TEE", "1", "3.34"))
    number = shop.ensure_customer(order.customer).number
    shop.ensure_products(order)
    draft = shop.create_document(order, number)
    # The correction is on the created draft, which the transfer's log shows.
    assert "2.50 → 2.51" in draft.data["vat_corrected"][0]
    booked = shop.book(draft)
    assert (booked.data["untaxed_amount"], booked.data["tax_amount"]) == (D("10.00"), D("2.51"))
    assert booked.gross == D("12.51")


def test_payment_needs_a_login_and_then_pays_once(tryton: TrytonDatabase) -> None:
    order = plan("W-9", TODAY, line("MUG", "1", "40.00"))
    without_login = target(tryton, credentials={"login": "", "password": None})
    number = without_login.ensure_customer(order.customer).number
    without_login.ensure_products(order)
    booked = without_login.book(without_login.create_document(order, number))
    # 40.00 + 10.00 = 50.00
    payment = PlannedPayment("stripe", D("50.00"), "DKK", TODAY, "Payment order W-9 stripe")
    with pytest.raises(PermanentError) as raised:
        without_login.register_payment(booked, payment)
    assert raised.value.code == "payment_login"
    shop = target(tryton)
    assert shop.register_payment(booked, payment)["state"] == "paid"
    assert shop.register_payment(booked, payment)["action"] == "found"
    moves = tryton.client.search(
        "account.move", [("origin", "=", f"account.invoice,{booked.data['id']}")], fields=["id"]
    )
    assert len(moves) == 2  # the invoice's own move and one payment


def test_a_wrong_key_and_an_unreachable_server_say_what_to_do(tryton: TrytonDatabase) -> None:
    wrong = target(tryton, credentials={"application_key": "0" * 128})
    with pytest.raises(PermanentError) as raised:
        wrong.find_document("W-10")
    assert raised.value.code == "key_rejected"
    assert "0" * 128 not in raised.value.reason + raised.value.fix
    ledger = tryton_ledger(tryton.directory, url=tryton.url)
    gone = TrytonTarget("http://127.0.0.1:9/kobling/", ledger.credentials, ledger.target_settings)
    with pytest.raises(TransientError) as unreachable:
        gone.find_document("W-10")
    assert unreachable.value.code == "connect"
    assert "could not be reached" in unreachable.value.reason


def test_the_invoice_document_is_downloadable(tryton: TrytonDatabase) -> None:
    shop = target(tryton)
    order = plan("W-11", TODAY, line("MUG", "1", "40.00"))
    number = shop.ensure_customer(order.customer).number
    shop.ensure_products(order)
    booked = shop.book(shop.create_document(order, number))
    name, content = shop.invoice_document(booked.id)
    assert name == f"{booked.id}.odt"
    assert content[:2] == b"PK"  # an OpenDocument file is a zip archive


def test_a_cancelled_order_is_credited_in_full_once(tryton: TrytonDatabase) -> None:
    shop = target(tryton)
    order = plan("W-12", TODAY, line("MUG", "3", "40.00"))
    number = shop.ensure_customer(order.customer).number
    shop.ensure_products(order)
    booked = shop.book(shop.create_document(order, number))
    credit = shop.credit_document(booked.id, "W-12-cancel", "cancelled in the shop", TODAY)
    again = shop.credit_document(booked.id, "W-12-cancel", "cancelled in the shop", TODAY)
    assert credit.id == again.id == f"CN{TODAY.year}-00001"
    # 3 × 40.00 = 120.00 + 30.00 = 150.00, credited: −150.00
    assert credit.gross == D("-150.00")
    assert dataclasses.asdict(credit)["data"]["reference"] == "W-12-cancel"


def test_validate_mode_leaves_a_checked_unnumbered_invoice_that_can_change(
    tryton: TrytonDatabase,
) -> None:
    shop = target(tryton, invoice_mode="validate")
    order = plan("W-13", TODAY, line("MUG", "1", "40.00"))
    number = shop.ensure_customer(order.customer).number
    shop.ensure_products(order)
    draft = shop.create_document(order, number)
    assert (draft.state, draft.data["state"], draft.data["number"]) == ("draft", "validated", None)
    # The order changed before booking: 2 × 40.00 = 80.00 + 20.00 = 100.00, validated again.
    changed = plan("W-13", TODAY, line("MUG", "2", "40.00"))
    updated = shop.update_document(draft.id, changed, number)
    assert (updated.id, updated.data["state"], updated.gross) == (
        draft.id,
        "validated",
        D("100.00"),
    )
