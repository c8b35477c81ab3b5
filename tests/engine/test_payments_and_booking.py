"""Payments registered for settled methods; drafts for the trial and for draft-only methods."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from kobling.engine.launch import poll_now
from kobling.engine.settings import validate_connection_settings
from kobling.store import repository as repo
from tests.engine.conftest import Engine


def configure(engine: Engine, **changes: Any) -> None:
    cfg = repo.load_connection(engine.rt.db, engine.rt.box, engine.connection_id)
    settings = {**cfg.settings}
    for key, value in changes.items():
        if key == "target":
            settings["target"] = {**settings["target"], **value}
        else:
            settings[key] = value
    repo.update_connection_settings(
        engine.rt.db,
        engine.connection_id,
        validate_connection_settings("woocommerce", "economic", settings),
    )


def test_settled_payment_is_registered_once(engine: Engine) -> None:
    configure(engine, settled_payment_methods=["stripe"], target={"payment_journal": 1})
    woo = engine.sandboxes.woo
    now = datetime.now(UTC)
    orders = woo.generate_orders(6, start=now, end=now, statuses={"processing": 1.0})
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(6))
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(6))
    econ = engine.sandboxes.economic
    booked = {str(b["references"]["other"]): b for b in econ.booked_invoices()}
    stripe = [o for o in orders if o["payment_method"] == "stripe"]
    others = [o for o in orders if o["payment_method"] != "stripe"]
    assert stripe, "the generator drew no stripe order; change the seed"
    for order in stripe:
        invoice = booked[str(order["number"])]
        [payment] = econ.payments_for_invoice(invoice["bookedInvoiceNumber"])
        # A payment is a credit on the customer: minus the order's total.
        assert Decimal(str(payment["amount"])) == -Decimal(order["total"])
        assert payment["currency"]["code"] == order["currency"]
    for order in others:
        invoice = booked[str(order["number"])]
        assert econ.payments_for_invoice(invoice["bookedInvoiceNumber"]) == []


def test_booking_trial_leaves_drafts(engine: Engine) -> None:
    # The fixture's connection was activated 30 days ago: a 60-day trial is still running,
    # a 14-day one is over (checked below).
    configure(engine, booking_trial_days=60)
    now = datetime.now(UTC)
    engine.sandboxes.woo.generate_orders(2, start=now, end=now, statuses={"processing": 1.0})
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(2))
    econ = engine.sandboxes.economic
    assert len(econ.draft_invoices()) == 2 and econ.booked_invoices() == []
    rows = repo.list_transfers(engine.rt.db, outcome="done")
    assert all("booking trial until" in t.reason for t in rows)
    assert all(t.target_document_id.startswith("draft:") for t in rows)
    configure(engine, booking_trial_days=14)
    engine.sandboxes.woo.generate_orders(1, start=now, end=now, statuses={"processing": 1.0})
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(3))
    assert len(econ.booked_invoices()) == 1


def test_draft_only_payment_method(engine: Engine) -> None:
    woo = engine.sandboxes.woo
    now = datetime.now(UTC)
    orders = woo.generate_orders(
        8, start=now - timedelta(minutes=1), end=now, statuses={"processing": 1.0}
    )
    methods = {o["payment_method"] for o in orders}
    draft_method = sorted(methods)[0]
    configure(engine, draft_payment_methods=[draft_method])
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(8))
    econ = engine.sandboxes.economic
    drafts = {str(d["references"]["other"]) for d in econ.draft_invoices()}
    booked = {str(b["references"]["other"]) for b in econ.booked_invoices()}
    for order in orders:
        where = drafts if order["payment_method"] == draft_method else booked
        assert str(order["number"]) in where
