"""The engine end to end against the simulators: exactly once, to the cent, explained."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx

from kobling.engine.launch import poll_now
from kobling.store import repository as repo
from tests.engine.conftest import Engine

ELIGIBLE = {"processing", "completed"}


def _ledger_by_reference(engine: Engine) -> Counter[str]:
    docs = engine.sandboxes.economic.booked_invoices() + engine.sandboxes.economic.draft_invoices()
    return Counter(str(d["references"]["other"]) for d in docs)


def assert_exactly_once_to_the_cent(engine: Engine) -> None:
    woo = engine.sandboxes.woo
    booked = {str(b["references"]["other"]): b for b in engine.sandboxes.economic.booked_invoices()}
    refs = _ledger_by_reference(engine)
    start = datetime.now(UTC) - timedelta(days=30)
    for order in woo.orders():
        created = datetime.fromisoformat(order["date_created_gmt"]).replace(tzinfo=UTC)
        number = str(order["number"])
        if order["status"] in ELIGIBLE and created >= start:
            assert refs[number] == 1, f"order {number} is in the ledger {refs[number]} times"
            assert Decimal(str(booked[number]["grossAmount"])) == Decimal(order["total"])
        else:
            assert refs[number] == 0, f"ineligible order {number} was invoiced"


def test_polled_orders_become_booked_invoices_exactly_once(engine: Engine) -> None:
    now = datetime.now(UTC)
    engine.sandboxes.woo.generate_orders(40, start=now - timedelta(days=35), end=now)
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(40), timeout=120)
    assert_exactly_once_to_the_cent(engine)
    counts = repo.outcome_counts(engine.rt.db, engine.connection_id)
    assert counts.get("failed", 0) == 0 and counts.get("held", 0) == 0
    reasons = repo.skip_reasons(engine.rt.db, engine.connection_id)
    assert all("not eligible" in r or "start date" in r for r in reasons)
    # A second poll over the same window creates nothing new.
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(40))
    assert sum(_ledger_by_reference(engine).values()) == counts["done"]


def test_same_order_three_times_gives_one_transfer_and_one_invoice(engine: Engine) -> None:
    woo = engine.sandboxes.woo
    poll_now(engine.connection_id)  # registers the webhooks in the shop
    now = datetime.now(UTC)
    [order] = woo.generate_orders(
        1, start=now, end=now, statuses={"processing": 1.0}, deliver_webhooks=True
    )
    woo.deliver(order["id"], "order.updated")
    poll_now(engine.connection_id)
    woo.wait_for_deliveries()
    engine.wait(lambda: engine.settled(1))
    assert repo.transfer_count(engine.rt.db, engine.connection_id) == 1
    assert _ledger_by_reference(engine)[str(order["number"])] == 1
    accepted = [
        r for r in repo.list_receipts(engine.rt.db, engine.connection_id) if r.status == "accepted"
    ]
    assert len(accepted) == 2


def test_order_paid_later_is_transferred_after_being_skipped(engine: Engine) -> None:
    woo = engine.sandboxes.woo
    now = datetime.now(UTC)
    [order] = woo.generate_orders(1, start=now, end=now, statuses={"pending": 1.0})
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(1))
    key = repo.transfer_key(engine.connection_id, "order", str(order["id"]), "invoice")
    assert repo.get_transfer(engine.rt.db, key).outcome == "skipped"
    woo.set_status(order["id"], "processing")
    poll_now(engine.connection_id)
    engine.wait(lambda: repo.get_transfer(engine.rt.db, key).outcome == "done")
    assert _ledger_by_reference(engine)[str(order["number"])] == 1


def test_faults_everywhere_lose_nothing_and_duplicate_nothing(engine: Engine) -> None:
    sb = engine.sandboxes
    sb.economic.faults.configure(rate=0.1, seed=3, timeout_delay=2.0)
    sb.woo.faults.configure(rate=0.1, seed=4, timeout_delay=2.0)
    now = datetime.now(UTC)
    sb.woo.generate_orders(
        30, start=now - timedelta(days=2), end=now, statuses={"processing": 0.8, "pending": 0.2}
    )
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(30), timeout=240)
    injected = Counter(kind for kind, _, _ in sb.economic.faults.injected)
    assert injected["lost_response"] > 0, injected  # the test exercised what it claims
    sb.economic.faults.clear()
    problems = [
        (t.outcome, t.reason)
        for t in repo.list_transfers(engine.rt.db, limit=100)
        if t.outcome in ("held", "failed")
    ]
    assert not problems, problems
    assert_exactly_once_to_the_cent(engine)


def test_webhook_signatures(engine: Engine) -> None:
    url = f"{engine.server.url}/hooks/sandbox-orders"
    body = b'{"id": 1001}'
    bad = httpx.post(
        url,
        content=body,
        headers={
            "X-WC-Webhook-Signature": "bm90IHRoZSByaWdodCBzaWduYXR1cmU=",
            "X-WC-Webhook-Topic": "order.updated",
            "X-WC-Webhook-Delivery-ID": "abc",
            "Content-Type": "application/json",
        },
    )
    missing = httpx.post(url, content=body, headers={"Content-Type": "application/json"})
    ping = httpx.post(
        url, content=b"webhook_id=5", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert (bad.status_code, missing.status_code, ping.status_code) == (401, 401, 200)
    statuses = sorted(r.status for r in repo.list_receipts(engine.rt.db, engine.connection_id))
    assert statuses == ["ping", "rejected", "rejected"]
    assert repo.transfer_count(engine.rt.db, engine.connection_id) == 0
