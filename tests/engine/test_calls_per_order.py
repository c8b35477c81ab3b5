"""Calls to the target per order: a repeat customer with known products costs draft + book.

A fresh order's first run creates without looking up by reference (every write attempt is
recorded before its request is sent); a lookup comes first after an attempt whose outcome is
unknown, for orders older than a day, and for orders older than a database restore.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kobling.engine.launch import poll_now
from kobling.sandbox import create_sandbox_integration
from kobling.store import repository as repo
from kobling.store import write_attempts
from tests.engine.conftest import Engine

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _order(engine: Engine) -> dict[str, Any]:
    now = datetime.now(UTC)
    [order] = engine.sandboxes.woo.generate_orders(
        1, start=now, end=now, statuses={"processing": 1.0}
    )
    return order


def _again(engine: Engine, order: dict[str, Any]) -> dict[str, Any]:
    """A new order by the same customer for the same products."""
    copied = copy.deepcopy(order)
    for field in ("id", "number", "date_created", "date_created_gmt", "date_modified"):
        copied.pop(field, None)
    copied.pop("date_modified_gmt", None)
    return engine.sandboxes.woo.add_order(copied, deliver_webhooks=False)


def _calls(engine: Engine, since: int) -> list[tuple[str, str]]:
    return [(m, p.split("?")[0]) for m, p, _status in engine.sandboxes.economic.requests[since:]]


def test_a_repeat_customer_with_known_products_costs_two_calls(engine: Engine) -> None:
    first = _order(engine)
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(1))
    before = len(engine.sandboxes.economic.requests)
    second = _again(engine, first)
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(2))

    assert _calls(engine, before) == [("POST", "/invoices/drafts"), ("POST", "/invoices/booked")]
    booked = {b["references"]["other"] for b in engine.sandboxes.economic.booked_invoices()}
    assert booked == {str(first["number"]), str(second["number"])}


def test_a_lost_response_is_looked_up_before_a_second_create(engine: Engine) -> None:
    order = _order(engine)
    engine.sandboxes.economic.faults.fail_next("POST", "/invoices/drafts", "lost_response")
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(1))

    key = repo.transfer_key(engine.connection_id, "order", str(order["id"]), "invoice")
    transfer = repo.get_transfer(engine.rt.db, key)
    assert transfer is not None and transfer.outcome == "done", transfer
    calls = _calls(engine, 0)
    # The draft was written once; the retry found it by reference instead of posting again.
    assert calls.count(("POST", "/invoices/drafts")) == 1
    assert ("GET", "/invoices/drafts") in calls
    [invoice] = engine.sandboxes.economic.booked_invoices()
    assert invoice["references"]["other"] == str(order["number"])
    assert engine.sandboxes.economic.draft_invoices() == []


def test_an_order_older_than_a_day_is_looked_up_before_it_is_created(engine: Engine) -> None:
    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    [order] = engine.sandboxes.woo.generate_orders(
        1, start=two_days_ago, end=two_days_ago, statuses={"processing": 1.0}
    )
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(1))

    calls = _calls(engine, 0)
    first_post = calls.index(("POST", "/invoices/drafts"))
    assert ("GET", "/invoices/booked") in calls[:first_post]
    key = repo.transfer_key(engine.connection_id, "order", str(order["id"]), "invoice")
    assert repo.get_transfer(engine.rt.db, key).outcome == "done"


def test_after_a_restore_an_order_already_booked_is_found_not_booked_again(
    engine: Engine,
) -> None:
    order = _order(engine)
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(1))
    # The database is restored from a backup older than this transfer: its records are gone,
    # the invoice is in the ledger. A second connection to the same shop and ledger has no
    # records of it either, which is what the restored database looks like to the engine.
    write_attempts.mark_restored(engine.rt.db, datetime.now(UTC))
    restored = create_sandbox_integration(
        engine.rt,
        engine.sandboxes,
        start_date=datetime.now(UTC) - timedelta(days=30),
        connection_name="after-restore",
        use_webhooks=False,
    )
    poll_now(restored)
    key = repo.transfer_key(restored, "order", str(order["id"]), "invoice")
    engine.wait(lambda: getattr(repo.get_transfer(engine.rt.db, key), "outcome", None) is not None)

    transfer = repo.get_transfer(engine.rt.db, key)
    assert transfer.outcome == "done" and "already in the target" in transfer.reason
    [invoice] = engine.sandboxes.economic.booked_invoices()
    assert invoice["references"]["other"] == str(order["number"])
