"""One poll of a connection at a time: a poll that finds another running does nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kobling.engine.launch import poll_now
from kobling.store import poll_leases
from tests.engine.conftest import Engine

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_a_poll_waits_its_turn_and_leaves_the_lease_free(engine: Engine) -> None:
    db, cid = engine.rt.db, engine.connection_id
    now = datetime.now(UTC)
    engine.sandboxes.woo.generate_orders(2, start=now, end=now, statuses={"processing": 1.0})
    assert poll_leases.take(db, cid, "poll-running-elsewhere", 60)

    assert poll_now(cid)["busy"] is True
    assert engine.sandboxes.economic.booked_invoices() == []

    poll_leases.release(db, cid, "poll-running-elsewhere")
    result = poll_now(cid)
    assert result["orders"] == 2 and "busy" not in result
    engine.wait(lambda: engine.settled(2))
    assert len(engine.sandboxes.economic.booked_invoices()) == 2
    # The finished poll gave the lease back: anyone may take it.
    assert poll_leases.take(db, cid, "next", 60)


def test_an_expired_lease_does_not_hold_polls_up(engine: Engine) -> None:
    db, cid = engine.rt.db, engine.connection_id
    assert poll_leases.take(db, cid, "a-poll-whose-worker-died", -1)  # already expired
    assert "busy" not in poll_now(cid)
