"""A database outage (PostgreSQL restarting) is waited out, never settled as a failure.

The chaos run found both: a transfer whose step met a refused connection was settled as
"failed", and an intake in error was never taken in again (the same order seen again gets the
same intake id). Here the store fails once at the worst moments, as a restart would.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from kobling.engine import intake, transfer
from kobling.engine.launch import poll_now
from kobling.store import repository as repo
from tests.engine.conftest import Engine

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _fail_once(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[str]:
    """Make ``module.name`` raise a connection error on its first call only."""
    real = getattr(module, name)
    failed: list[str] = []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        if not failed:
            failed.append(name)
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, flaky)
    return failed


def _order(engine: Engine) -> dict[str, Any]:
    now = datetime.now(UTC)
    [order] = engine.sandboxes.woo.generate_orders(
        1, start=now, end=now, statuses={"processing": 1.0}
    )
    return order


def test_an_outage_right_after_the_draft_was_created_books_it_once(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # create_step records the draft's id right after e-conomic answered: the worst moment.
    failed = _fail_once(monkeypatch, transfer.repo, "update_transfer")
    order = _order(engine)
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(1))

    assert failed == ["update_transfer"]
    key = repo.transfer_key(engine.connection_id, "order", str(order["id"]), "invoice")
    settled = repo.get_transfer(engine.rt.db, key)
    assert settled is not None and settled.outcome == "done", settled.reason
    [invoice] = engine.sandboxes.economic.booked_invoices()
    assert invoice["references"]["other"] == str(order["number"])
    assert engine.sandboxes.economic.draft_invoices() == []


def test_an_outage_during_intake_still_takes_the_order_in(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    failed = _fail_once(monkeypatch, intake, "_evaluate_invoice")
    order = _order(engine)
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(1))

    assert failed == ["_evaluate_invoice"]
    [invoice] = engine.sandboxes.economic.booked_invoices()
    assert invoice["references"]["other"] == str(order["number"])
