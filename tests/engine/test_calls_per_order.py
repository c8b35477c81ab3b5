"""Calls to the target per order: a repeat customer with known products costs draft + book.

Lookups by reference happen only after an attempt whose outcome is unknown (a lost response,
a crash), because every write attempt is recorded before its request is sent.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from kobling.engine.launch import poll_now
from kobling.store import repository as repo
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
