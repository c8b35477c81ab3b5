"""``TrytonTarget.documents_between`` against a real Tryton 8.2 (marked ``tryton``).

Amounts are computed by hand in the comments.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from kobling.accounting.plan import DocumentPlan, PlannedCustomer, PlannedLine
from kobling.accounting.vat import VatZone
from kobling.connectors.base import TargetDocumentSummary
from kobling.connectors.tryton.target import TrytonTarget
from kobling.sandbox import tryton_ledger
from tests.connectors.tryton.conftest import TrytonDatabase

pytestmark = [pytest.mark.tryton, pytest.mark.slow]

D = Decimal
TODAY = date.today()
OLE = PlannedCustomer(
    "email", "ole@example.dk", "Ole Hansen", "ole@example.dk", "Vestergade 1", "8000", "Aarhus",
    "DK", "", "+45 12345678", "DKK", VatZone.DOMESTIC, False,
)  # fmt: skip


def _plan(reference: str, on: date, quantity: str) -> DocumentPlan:
    mug = PlannedLine("product", "MUG", "Mug", D(quantity), D("40.00"), D(25), "1", "DK:25")
    return DocumentPlan(reference, on, "DKK", OLE, (mug,), D(0))


def _create(shop: TrytonTarget, reference: str, on: date, quantity: str) -> Any:
    plan = _plan(reference, on, quantity)
    customer = shop.ensure_customer(plan.customer).number
    shop.ensure_products(plan)
    return shop.create_document(plan, customer)


def test_invoices_and_credit_notes_of_a_period(tryton: TrytonDatabase) -> None:
    ledger = tryton_ledger(tryton.directory, url=tryton.url)
    shop = TrytonTarget(tryton.url, ledger.credentials, ledger.target_settings)
    _create(shop, "W-0", TODAY - timedelta(days=40), "1")  # before the period
    posted = shop.book(_create(shop, "W-1", TODAY, "2"))  # 2 × 40.00 + 25% = 100.00
    draft = _create(shop, "W-2", TODAY, "1")  # 1 × 40.00 + 25% = 50.00
    draft_credit = _create(shop, "W-3", TODAY, "-1")  # a draft credit note: −50.00
    cancelled = _create(shop, "W-4", TODAY, "1")
    tryton.client.call("account.invoice", "cancel", int(cancelled.id), fields=["state"])
    credit = shop.credit_document(posted.id, "W-1-cancelled", "cancelled", TODAY)  # −100.00

    found = shop.documents_between(TODAY - timedelta(days=1), TODAY)

    year = TODAY.year
    assert sorted(found, key=lambda d: d.reference) == [
        TargetDocumentSummary("W-1", f"INV{year}-00001", "invoice", "booked", D("100.00"), "DKK",
                              TODAY),
        TargetDocumentSummary("W-1-cancelled", f"CN{year}-00001", "credit_note", "booked",
                              D("-100.00"), "DKK", TODAY),
        TargetDocumentSummary("W-2", draft.id, "invoice", "draft", D("50.00"), "DKK", TODAY),
        TargetDocumentSummary("W-3", draft_credit.id, "credit_note", "draft", D("-50.00"), "DKK",
                              TODAY),
    ]  # fmt: skip
    assert credit.id == f"CN{year}-00001"
    shop.close()
