"""Refunds in the shop become credit notes against the booked invoice, exactly once."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from kobling.engine.launch import poll_now
from kobling.store import repository as repo
from tests.engine.conftest import Engine


def _order(engine: Engine) -> dict:
    now = datetime.now(UTC)
    [order] = engine.sandboxes.woo.generate_orders(
        1, start=now, end=now, statuses={"processing": 1.0}
    )
    return order


def _credit_notes(engine: Engine) -> list[dict]:
    return [
        b
        for b in engine.sandboxes.economic.booked_invoices()
        if "refund" in str(b["references"]["other"])
    ]


def _settled_all(engine: Engine) -> bool:
    return repo.unsettled_count(engine.rt.db, engine.connection_id) == 0


def test_full_refund_after_booking_becomes_a_linked_credit_note(engine: Engine) -> None:
    woo = engine.sandboxes.woo
    order = _order(engine)
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(1))
    [invoice] = engine.sandboxes.economic.booked_invoices()
    refund = woo.add_refund(order["id"], reason="returned")
    poll_now(engine.connection_id)
    engine.wait(lambda: len(_credit_notes(engine)) == 1 and _settled_all(engine))
    poll_now(engine.connection_id)  # seeing the refund again changes nothing
    engine.wait(lambda: _settled_all(engine))
    [credit] = _credit_notes(engine)
    assert Decimal(str(credit["grossAmount"])) == -Decimal(order["total"])
    assert credit["references"]["other"] == f"{order['number']}-refund-{refund['id']}"
    assert str(invoice["bookedInvoiceNumber"]) in credit["notes"]["heading"]
    assert credit["customer"]["customerNumber"] == invoice["customer"]["customerNumber"]
    assert len(engine.sandboxes.economic.booked_invoices()) == 2


def test_amount_only_refund(engine: Engine) -> None:
    woo = engine.sandboxes.woo
    order = _order(engine)
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(1))
    woo.add_refund(order["id"], amount=Decimal("10.00"), reason="goodwill")
    poll_now(engine.connection_id)
    engine.wait(lambda: len(_credit_notes(engine)) == 1 and _settled_all(engine))
    [credit] = _credit_notes(engine)
    # 10.00 paid back: −10.00 in the ledger, whatever the VAT split (25% → 8.00 + 2.00 for a
    # domestic order; 0% for an export or reverse charge).
    assert Decimal(str(credit["grossAmount"])) == Decimal("-10.00")


def test_refund_before_the_invoice_exists_waits_for_it(engine: Engine) -> None:
    woo = engine.sandboxes.woo
    order = _order(engine)
    woo.add_refund(order["id"], amount=Decimal("5.00"), reason="early")
    poll_now(engine.connection_id)  # sees the order and its refund at once
    engine.wait(lambda: len(_credit_notes(engine)) == 1 and _settled_all(engine))
    booked = engine.sandboxes.economic.booked_invoices()
    invoice = next(b for b in booked if b["references"]["other"] == str(order["number"]))
    [credit] = _credit_notes(engine)
    assert credit["bookedInvoiceNumber"] > invoice["bookedInvoiceNumber"]
    assert Decimal(str(credit["grossAmount"])) == Decimal("-5.00")
