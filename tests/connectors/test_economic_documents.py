"""``EconomicTarget.documents_between`` against the simulator: the date filter, both kinds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from kobling.accounting.plan import PlanPolicy, plan_invoice
from kobling.connectors.base import TargetDocumentSummary
from kobling.connectors.economic.sandbox import EconomicSandbox
from kobling.connectors.economic.target import EconomicTarget
from kobling.web.server import serve_in_thread
from tests.factories import line, order

CREDS = {"app_secret_token": "app", "agreement_grant_token": "grant"}
D = Decimal


@pytest.fixture
def target() -> Iterator[EconomicTarget]:
    sandbox = EconomicSandbox(app_secret_token="app", agreement_grant_token="grant")
    server = serve_in_thread(sandbox.app)
    ledger = EconomicTarget(server.url, CREDS, {})
    yield ledger
    ledger.close()
    server.stop()


def _invoice(ledger: EconomicTarget, number: str, day: date, *, book: bool = True) -> str:
    # 1 × 100.00 + 25% VAT 25.00 = 125.00; noon UTC is the same day in Copenhagen.
    created = datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC)
    plan = plan_invoice(
        order(line("Mug", "1", "100.00", "25.00", sku="MUG"), total="125.00", number=number,
              created=created),
        PlanPolicy(),
    )  # fmt: skip
    customer = ledger.ensure_customer(plan.customer).number
    ledger.ensure_products(plan)
    document = ledger.create_document(plan, customer)
    return (ledger.book(document) if book else document).id


def test_documents_of_a_period_drafts_and_credit_notes_included(target: EconomicTarget) -> None:
    _invoice(target, "1000", date(2026, 5, 31))  # the day before
    first = _invoice(target, "1001", date(2026, 6, 1))
    draft = _invoice(target, "1002", date(2026, 6, 15), book=False)
    credited = _invoice(target, "1003", date(2026, 6, 20))
    credit = target.credit_document(credited, "1003-cancelled", "cancelled", date(2026, 6, 30))
    _invoice(target, "1004", date(2026, 7, 1))  # the day after

    found = target.documents_between(date(2026, 6, 1), date(2026, 6, 30))

    assert sorted(found, key=lambda d: d.reference) == [
        TargetDocumentSummary("1001", first, "invoice", "booked", D("125.00"), "DKK",
                              date(2026, 6, 1)),
        TargetDocumentSummary("1002", draft, "invoice", "draft", D("125.00"), "DKK",
                              date(2026, 6, 15)),
        TargetDocumentSummary("1003", credited, "invoice", "booked", D("125.00"), "DKK",
                              date(2026, 6, 20)),
        # e-conomic has no credit notes: an invoice of −1 × 100.00 + VAT = −125.00
        TargetDocumentSummary("1003-cancelled", credit.id, "credit_note", "booked",
                              D("-125.00"), "DKK", date(2026, 6, 30)),
    ]  # fmt: skip
    assert all(isinstance(d.gross, Decimal) for d in found)
