"""The engine end to end against the simulators: exactly once, to the cent, explained."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx

from kobling.engine.launch import poll_now
from kobling.store import repository as repo
from kobling.store.models import Connection
from kobling.store.scope import AccountScope
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
    assert all(
        "not eligible" in r or "start date" in r or r == "cancelled before transfer"
        for r in reasons
    )
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


def test_duplicated_reordered_and_dropped_webhooks(engine: Engine) -> None:
    woo = engine.sandboxes.woo
    poll_now(engine.connection_id)  # registers the webhooks
    woo.faults.configure_webhooks(duplicate_rate=0.5, reorder=True, drop_rate=0.2, seed=2)
    now = datetime.now(UTC)
    orders = woo.generate_orders(
        12, start=now, end=now, statuses={"processing": 1.0}, deliver_webhooks=True
    )
    for order in orders[:4]:
        woo.set_status(order["id"], "completed")
    woo.wait_for_deliveries()
    duplicated = [d for d in woo.webhooks_delivered if d.get("duplicate")]
    assert duplicated, "the fault injection sent no duplicate"
    # Dropped deliveries are found by the next poll: webhooks are hints, polling is the net.
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(12))
    assert_exactly_once_to_the_cent(engine)
    assert repo.transfer_count(engine.rt.db, engine.connection_id) == 12


def test_webhook_disabled_by_the_shop_is_reactivated(engine: Engine) -> None:
    first = poll_now(engine.connection_id)["webhooks"]
    assert sorted(w["action"] for w in first) == ["created", "created"]
    hook_id = first[0]["remote_id"]
    response = httpx.put(
        f"{engine.sandboxes.woo_url}wp-json/wc/v3/webhooks/{hook_id}",
        json={"status": "disabled"},
        auth=("ck_sandbox", "cs_sandbox"),
    )
    assert response.status_code == 200 and response.json()["status"] == "disabled"
    second = {w["remote_id"]: w for w in poll_now(engine.connection_id)["webhooks"]}
    assert second[hook_id]["action"] == "reactivated"
    assert "disabled" in second[hook_id]["detail"]
    assert engine.sandboxes.woo.webhook(int(hook_id))["status"] == "active"


def _one_order(engine: Engine, country: str | None = None) -> dict:
    now = datetime.now(UTC)
    [order] = engine.sandboxes.woo.generate_orders(
        1, start=now, end=now, statuses={"processing": 1.0}
    )
    return order


def _transfer(engine: Engine, order: dict):
    key = repo.transfer_key(engine.connection_id, "order", str(order["id"]), "invoice")
    return repo.get_transfer(engine.rt.db, key)


def test_barred_product_is_held_with_the_fix(engine: Engine) -> None:
    order = _one_order(engine)
    sku = order["line_items"][0]["sku"]
    # The product exists in e-conomic but is barred.
    econ = engine.sandboxes.economic
    response = httpx.post(
        f"{engine.sandboxes.economic_url}/products",
        json={"productNumber": sku, "name": "Old", "productGroup": {"productGroupNumber": 1}},
        headers={
            "X-AppSecretToken": "sandbox-app-secret",
            "X-AgreementGrantToken": "sandbox-agreement-grant",
        },
    )
    assert response.status_code == 201, response.text
    econ.set_product_barred(sku)
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(1))
    transfer = _transfer(engine, order)
    assert transfer.outcome == "held"
    assert sku in transfer.reason and "barred" in transfer.reason
    assert "lift the bar" in transfer.fix
    assert econ.booked_invoices() == [] and econ.draft_invoices() == []


def test_closed_accounting_year_is_held_naming_it(engine: Engine) -> None:
    order = _one_order(engine)
    # The invoice is dated with the seller's local date (Copenhagen), not the UTC one.
    local = (
        datetime.fromisoformat(order["date_created_gmt"])
        .replace(tzinfo=UTC)
        .astimezone(ZoneInfo("Europe/Copenhagen"))
        .date()
    )
    engine.sandboxes.economic.close_accounting_year(str(local.year))
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(1))
    transfer = _transfer(engine, order)
    assert transfer.outcome == "held", transfer.reason
    assert local.isoformat() in transfer.fix
    assert "accounting year" in transfer.fix
    assert engine.sandboxes.economic.booked_invoices() == []


def test_scheduled_poll_transfers_without_being_asked(engine: Engine) -> None:
    from dataclasses import replace

    from kobling.engine.launch import apply_poll_schedules

    order = _one_order(engine)
    engine.rt.tuning = replace(engine.rt.tuning, poll_cron="* * * * * *")  # every second
    apply_poll_schedules(engine.rt)
    engine.wait(
        lambda: (
            (_transfer(engine, order) or None) is not None
            and _transfer(engine, order).outcome == "done"
        ),
        timeout=30,
    )
    assert repo.get_poll_cursor(engine.rt.db, engine.connection_id) is not None


def test_no_secret_reaches_snapshots_or_receipts(engine: Engine) -> None:
    from sqlalchemy import text

    poll_now(engine.connection_id)
    _one_order(engine)
    engine.sandboxes.woo.wait_for_deliveries()
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(1))
    cfg = repo.load_connection(engine.rt.db, engine.rt.box, engine.connection_id)
    secrets = [
        cfg.source.credentials["consumer_secret"],
        cfg.source.credentials["webhook_secret"],
        cfg.target.credentials["app_secret_token"],
        cfg.target.credentials["agreement_grant_token"],
    ]
    with engine.rt.db.engine.connect() as conn:
        stored = " ".join(
            str(row)
            for table in ("snapshots", "receipts", "transfers")
            for row in conn.execute(text(f"select * from {table}"))
        )
    assert "received" in stored  # the tables were really read
    for secret in secrets:
        assert secret not in stored


def test_a_customer_deleted_in_the_target_is_found_or_created_again(engine: Engine) -> None:
    import copy

    first = _one_order(engine)
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(1))
    # The ledger loses everything (as if the bookkeeper deleted the customer), while Kobling
    # still has the customer's number cached as a binding.
    engine.sandboxes.economic.reset()
    again = copy.deepcopy(first)
    for field in (
        "id",
        "number",
        "date_created",
        "date_created_gmt",
        "date_modified",
        "date_modified_gmt",
    ):
        again.pop(field, None)
    second = engine.sandboxes.woo.add_order(again, deliver_webhooks=False)
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(2))
    transfer = _transfer(engine, second)
    assert transfer.outcome == "done", transfer.reason
    [invoice] = engine.sandboxes.economic.booked_invoices()
    assert invoice["references"]["other"] == str(second["number"])
    assert len(engine.sandboxes.economic.customers()) == 1


def test_a_disabled_webhook_is_remembered_for_the_dashboard(engine: Engine) -> None:
    first = poll_now(engine.connection_id)["webhooks"]
    hook_id = first[0]["remote_id"]
    httpx.put(
        f"{engine.sandboxes.woo_url}wp-json/wc/v3/webhooks/{hook_id}",
        json={"status": "disabled"},
        auth=("ck_sandbox", "cs_sandbox"),
    ).raise_for_status()
    poll_now(engine.connection_id)
    poll_now(engine.connection_id)  # a later check finds all well, and still remembers
    check = AccountScope(engine.rt.db, _account_of(engine)).webhook_checks()[engine.connection_id]
    assert check.error == "" and check.disabled_at is not None
    assert first[0]["topic"] in check.disabled_detail and "'disabled'" in check.disabled_detail
    assert {h["action"] for h in check.hooks} == {"present"}


def test_a_switched_off_connection_waits_and_then_catches_up(engine: Engine) -> None:
    woo = engine.sandboxes.woo
    poll_now(engine.connection_id)  # registers the webhooks
    AccountScope(engine.rt.db, _account_of(engine)).set_connection_active(
        engine.connection_id, False
    )
    now = datetime.now(UTC)
    [order] = woo.generate_orders(
        1, start=now, end=now, statuses={"processing": 1.0}, deliver_webhooks=True
    )
    woo.wait_for_deliveries()
    assert poll_now(engine.connection_id).get("off") is True
    # The delivery was stored, but nothing was transferred while off.
    receipts = repo.list_receipts(engine.rt.db, engine.connection_id)
    assert any(r.object_id == str(order["id"]) for r in receipts)
    assert _transfer(engine, order) is None
    AccountScope(engine.rt.db, _account_of(engine)).set_connection_active(
        engine.connection_id, True
    )
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(1))
    found = _transfer(engine, order)
    assert found is not None and found.outcome == "done"
    assert _ledger_by_reference(engine)[str(order["number"])] == 1


def _account_of(engine: Engine) -> int:
    with engine.rt.db.session() as s:
        connection = s.get(Connection, engine.connection_id)
        assert connection is not None
        return connection.integration.account_id
