"""`explain`: one planted order per verdict, against the simulators and the engine on loopback.

Each test builds the situation by hand (an order in the sandbox shop, a switch, a planted
transfer row or snapshot, an invoice made in the ledger by "another tool") and checks the
verdict, the words a shop owner reads, and that the checks stopped where they should.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from kobling.accounting.plan import plan_invoice
from kobling.engine.connectors import connection, source_for, target_for
from kobling.engine.explain import Explanation, explain, filter_decision
from kobling.engine.launch import poll_now
from kobling.engine.transfer import policy_for
from kobling.sandbox import WOO_SECRET
from kobling.store import people
from kobling.store import repository as repo
from kobling.store.scope import AccountScope
from tests.accounting.test_scenarios import BY_ID
from tests.accounting.woo_payloads import redated, woo_order
from tests.engine.conftest import Engine

TOLERANCE_ORDER = "dk-custom-tolerance-payload-with-default-tolerance"  # 0.08 off: held
ORDER_ID = 7001
EVERY_CHECK = [
    "integration_active",
    "connection_active",
    "source_readable",
    "order_found",
    "state_eligible",
    "after_start_date",
    "not_filtered",
    "not_in_target",
    "transfer",
]


def _gmt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def add_order(
    engine: Engine,
    *,
    order_id: int = ORDER_ID,
    status: str = "processing",
    age: timedelta = timedelta(hours=2),
    number: str | None = None,
) -> dict[str, Any]:
    """A 100.00 + 25% VAT order in the shop, which Kobling has not seen (no webhook, no poll)."""
    payload = woo_order(
        order_id,
        lines=[("LAMP-1", "Desk lamp", 1, "100.00", "100.00", "25.00", "")],
        total="125.00",
        total_tax="25.00",
        country="DK",
        status=status,
    )
    payload = redated(payload, _gmt(datetime.now(UTC) - age))
    if number is not None:
        payload["number"] = number
    return engine.sandboxes.woo.add_order(payload, deliver_webhooks=False)


def key_of(engine: Engine, order_id: int = ORDER_ID) -> str:
    return repo.transfer_key(engine.connection_id, "order", str(order_id), "invoice")


def plant_transfer(engine: Engine, order_id: int = ORDER_ID) -> tuple[int, str]:
    """A transfer row for the order, as intake claims it (state new)."""
    row = repo.claim_transfer(
        engine.rt.db,
        connection_id=engine.connection_id,
        object_type="order",
        source_id=str(order_id),
        purpose="invoice",
        source_number=str(order_id),
    )
    return row.id, row.key


def names(result: Explanation) -> list[str]:
    return [check.name for check in result.checks]


def failed_checks(result: Explanation) -> list[str]:
    return [check.name for check in result.checks if not check.passed]


def assert_no_secret(result: Explanation, *secrets: str) -> None:
    text = json.dumps(result.as_json(), ensure_ascii=False)
    for secret in (WOO_SECRET, *secrets):
        assert secret not in text


def scope(engine: Engine) -> AccountScope:
    account = people.first_account_id(engine.rt.db)
    assert account is not None
    return AccountScope(engine.rt.db, account)


# --- 1. switched off ----------------------------------------------------------------------------


def test_integration_switched_off(engine: Engine) -> None:
    add_order(engine)
    cfg = connection(engine.connection_id)
    assert scope(engine).set_integration_active(cfg.integration_id, False)
    result = explain(engine.connection_id, str(ORDER_ID))
    assert result.verdict == "integration_inactive"
    assert "switched off" in result.title and "sandbox-orders" in result.title
    assert "Connections" in result.fix and "Switch the integration on" in result.fix
    assert names(result) == ["integration_active"] and failed_checks(result) == names(result)
    assert result.transfer_id is None and result.document is None


def test_connection_switched_off(engine: Engine) -> None:
    add_order(engine)
    assert scope(engine).set_connection_active(engine.connection_id, False)
    result = explain(engine.connection_id, str(ORDER_ID))
    assert result.verdict == "connection_inactive"
    assert result.title == (
        "The connection sandbox-orders is switched off, so Kobling transfers none of its orders."
    )
    assert "Connections" in result.fix and "Switch on" in result.fix
    assert names(result) == ["integration_active", "connection_active"]
    assert failed_checks(result) == ["connection_active"]


# --- 2. credentials -----------------------------------------------------------------------------


def test_shop_refusing_the_credentials(engine: Engine) -> None:
    add_order(engine)
    cfg = connection(engine.connection_id)
    wrong = {
        "consumer_key": "ck_" + "1" * 40,
        "consumer_secret": "cs_" + "2" * 40,
        "webhook_secret": "hook-secret-not-shown",
    }
    repo.set_system_credentials(engine.rt.db, engine.rt.box, cfg.source.id, wrong)
    result = explain(engine.connection_id, str(ORDER_ID))
    assert result.verdict == "source_credentials"
    assert result.title.startswith("Kobling cannot read orders from Sandbox WooCommerce:")
    assert "refused the API keys" in result.title
    assert "REST API" in result.fix and "system settings" in result.fix
    assert failed_checks(result) == ["source_readable"]
    assert_no_secret(result, *wrong.values())


# --- 3. not in the shop -------------------------------------------------------------------------


def test_unknown_order_number(engine: Engine) -> None:
    add_order(engine)
    result = explain(engine.connection_id, "99999")
    assert result.verdict == "not_found"
    assert result.title == "Sandbox WooCommerce has no order with the number 99999."
    assert result.fix.startswith("Check the number")
    assert names(result)[-2:] == ["source_readable", "order_found"]
    assert failed_checks(result) == ["order_found"]


# --- 4. and 5. eligibility ----------------------------------------------------------------------


def test_state_not_eligible(engine: Engine) -> None:
    add_order(engine, status="pending")
    result = explain(engine.connection_id, str(ORDER_ID))
    assert result.verdict == "not_eligible"
    assert result.title == (
        f"Order {ORDER_ID} is 'pending' in Sandbox WooCommerce, and this connection transfers "
        "only orders that are 'processing' or 'completed'."
    )
    assert "Eligible states (connection settings): processing, completed." in result.details
    assert "connection settings" in result.fix and "wait" in result.fix
    assert failed_checks(result) == ["state_eligible"]


def test_created_before_the_start_date(engine: Engine) -> None:
    add_order(engine, age=timedelta(days=40))
    cfg = connection(engine.connection_id)
    assert cfg.start_date is not None
    created = (datetime.now(UTC) - timedelta(days=40)).strftime("%Y-%m-%d")
    result = explain(engine.connection_id, str(ORDER_ID))
    assert result.verdict == "before_start"
    assert created in result.title and f"{cfg.start_date:%Y-%m-%d %H:%M} UTC" in result.title
    assert "backfill" in result.fix
    assert failed_checks(result) == ["after_start_date"]


# --- 6. filter rule -----------------------------------------------------------------------------


def test_filtered_by_a_rule_recorded_in_the_mapped_snapshot(engine: Engine) -> None:
    add_order(engine)
    transfer_id, key = plant_transfer(engine)
    rule = {
        "rule": "no orders for staff",
        "action": "filter",
        "matched": True,
        "reason": "the customer's e-mail ends in @shop.example",
    }
    repo.add_snapshot(engine.rt.db, key, "mapped", {"rules": [rule], "order": {}})
    repo.mark_skipped(engine.rt.db, key, "filtered by the rule 'no orders for staff'", "h")
    result = explain(engine.connection_id, str(ORDER_ID))
    assert result.verdict == "filtered"
    assert result.title == (
        f"Order {ORDER_ID} was left out by the filter rule 'no orders for staff': the "
        "customer's e-mail ends in @shop.example."
    )
    assert "mapping rules" in result.fix
    assert result.transfer_id == transfer_id
    assert failed_checks(result) == ["not_filtered"]


def test_a_mapped_snapshot_without_rules_filters_nothing() -> None:
    # What the transfer records today: no rules, so nothing can have been filtered.
    assert filter_decision({"rules": [], "order": {"number": "1"}}) is None
    assert filter_decision(None) is None
    unmatched = {"rule": "x", "action": "filter", "matched": False}
    rewrite = {"rule": "y", "action": "rewrite", "matched": True}
    assert filter_decision({"rules": [unmatched, rewrite]}) is None


# --- 7. already in the target -------------------------------------------------------------------


def book_by_hand(engine: Engine, payload: dict[str, Any]) -> str:
    """An invoice with the order's reference, booked in e-conomic by "another tool" (its API)."""
    cfg = connection(engine.connection_id)
    plan = plan_invoice(source_for(cfg).normalize(payload), policy_for(cfg.settings))
    target = target_for(cfg)
    customer = target.ensure_customer(plan.customer)
    target.ensure_products(plan)
    return target.book(target.create_document(plan, customer.number)).id


def test_already_in_the_target_made_by_another_tool(engine: Engine) -> None:
    order = add_order(engine)
    number = book_by_hand(engine, order)
    booked = engine.sandboxes.economic.booked_invoices()
    assert [str(b["references"]["other"]) for b in booked] == [str(ORDER_ID)]
    result = explain(engine.connection_id, str(ORDER_ID))
    assert result.verdict == "in_target"
    assert result.title == (
        f"Order {ORDER_ID} is already in Sandbox e-conomic as invoice {number} (found by its "
        f"reference {ORDER_ID}), so Kobling does not create it again."
    )
    assert any("by hand or by another tool" in d for d in result.details)
    assert result.document == number and result.transfer_id is None
    assert result.fix.startswith("Nothing to do")
    assert failed_checks(result) == ["not_in_target"]


# --- 8. to 11. Kobling's transfer ----------------------------------------------------------------


def test_held_with_its_reason_and_fix(engine: Engine) -> None:
    yesterday = _gmt(datetime.now(UTC) - timedelta(days=1))
    order = BY_ID[TOLERANCE_ORDER].payload
    engine.sandboxes.woo.add_order(redated(order, yesterday), deliver_webhooks=False)
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(1))
    result = explain(engine.connection_id, str(order["number"]))
    assert result.verdict == "held"
    assert result.title.startswith(f"Order {order['number']} is held:")
    assert "125.08" in result.title and "0.05" in result.title
    assert "raise the rounding tolerance in the connection settings" in result.fix
    assert "press Retry on the transfer's page in the log" in result.fix
    assert result.transfer_id is not None and result.document is None
    assert names(result) == EVERY_CHECK and failed_checks(result) == ["transfer"]


def test_failed_with_the_last_error(engine: Engine) -> None:
    add_order(engine)
    transfer_id, key = plant_transfer(engine)
    db = engine.rt.db
    assert repo.mark_queued(db, key, key, "h")
    repo.add_snapshot(db, key, "lookup", {"reference": str(ORDER_ID)})
    repo.settle(
        db,
        key,
        "failed",
        reason="gave up after retries: e-conomic could not be reached (ConnectError)",
        fix="check that e-conomic is online; Kobling retries by itself",
    )
    result = explain(engine.connection_id, str(ORDER_ID))
    assert result.verdict == "failed"
    assert result.title == (
        f"Order {ORDER_ID} failed: gave up after retries: e-conomic could not be reached "
        "(ConnectError)."
    )
    assert result.fix.startswith("Check that e-conomic is online")
    assert "press Retry" in result.fix
    assert any("'lookup'" in d for d in result.details)
    assert result.transfer_id == transfer_id and failed_checks(result) == ["transfer"]


def test_in_progress_with_its_state_and_stage(engine: Engine) -> None:
    add_order(engine)
    transfer_id, key = plant_transfer(engine)
    db = engine.rt.db
    assert repo.mark_queued(db, key, key, "h")
    repo.mark_running(db, key)
    repo.add_snapshot(db, key, "plan", {"plan": {}})
    result = explain(engine.connection_id, str(ORDER_ID))
    assert result.verdict == "in_progress"
    assert result.title == (
        f"Kobling is transferring order {ORDER_ID} right now: it is running, at the stage 'plan'."
    )
    assert result.transfer_id == transfer_id
    # A transfer under way is not second-guessed: no filter or target lookup is made.
    assert "not_in_target" not in names(result)
    assert len(engine.sandboxes.economic.requests) == 0


def test_done_with_its_invoice_number(engine: Engine) -> None:
    add_order(engine)
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(1))
    [invoice] = engine.sandboxes.economic.booked_invoices()
    number = str(invoice["bookedInvoiceNumber"])
    result = explain(engine.connection_id, str(ORDER_ID))
    assert result.verdict == "done"
    assert result.title == (
        f"Order {ORDER_ID} was transferred: it is invoice {number} in Sandbox e-conomic."
    )
    assert result.details == [f"Booked as invoice {number}."]
    assert result.document == number and result.fix == ""
    transfer = repo.get_transfer(engine.rt.db, key_of(engine))
    assert transfer is not None and result.transfer_id == transfer.id
    assert failed_checks(result) == []
    assert_no_secret(result)


def change_unnoticed(engine: Engine, status: str) -> None:
    """Change the order's state in the shop with its webhook lost, so Kobling does not know."""
    engine.sandboxes.woo.faults.configure_webhooks(drop_rate=1.0)
    engine.sandboxes.woo.set_status(ORDER_ID, status)


def test_done_order_refunded_later_is_still_done(engine: Engine) -> None:
    # Checks 4 to 7 explain why an order was *not* transferred; a done one stays done.
    add_order(engine)
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(1))
    change_unnoticed(engine, "refunded")
    result = explain(engine.connection_id, str(ORDER_ID))
    assert result.verdict == "done"
    state = next(c for c in result.checks if c.name == "state_eligible")
    assert state.passed and "'refunded' now" in state.result


def test_not_yet_seen_by_its_shop_number(engine: Engine) -> None:
    # A sequential-numbering plugin: the number the shop shows is not the id.
    add_order(engine, number="2026-0042")
    result = explain(engine.connection_id, "2026-0042")
    assert result.verdict == "not_yet_seen"
    assert result.title == (
        "Kobling has not seen order 2026-0042 yet: it is 'processing' and created after the "
        "start date, so the next poll, at most 5 minutes away, picks it up."
    )
    assert result.fix == (
        'To transfer it now, press "Poll now" for this connection on the Connections page.'
    )
    found = next(c for c in result.checks if c.name == "order_found")
    assert found.passed and f"(id {ORDER_ID})" in found.result
    assert names(result) == EVERY_CHECK and failed_checks(result) == ["transfer"]
    assert result.transfer_id is None and result.document is None


def test_seen_when_pending_and_paid_since(engine: Engine) -> None:
    add_order(engine, status="pending")
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(1))
    change_unnoticed(engine, "processing")
    result = explain(engine.connection_id, str(ORDER_ID))
    assert result.verdict == "not_yet_seen"
    assert "state 'pending' is not eligible" in result.title
    assert "'processing' now" in result.title and "Poll now" in result.fix
