"""Reconciliation in the dashboard: compare, see what is missing, transfer it, compare again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from kobling.engine.launch import poll_now
from kobling.engine.reconcile_schedule import reconciliation_workflow
from kobling.store import people, reconciliations
from kobling.store import repository as repo
from kobling.web.app import create_app
from tests.engine.conftest import Engine
from tests.web.conftest import PASSWORD
from tests.web.test_pages import csrf_of, sign_in


def test_missing_orders_are_found_and_transferred_from_the_dashboard(engine: Engine) -> None:
    woo, cid = engine.sandboxes.woo, engine.connection_id
    now = datetime.now(UTC)
    woo.generate_orders(3, start=now, end=now, statuses={"processing": 1.0})
    poll_now(cid)
    engine.wait(lambda: engine.settled(3))
    [unseen] = woo.generate_orders(1, start=now, end=now, statuses={"processing": 1.0})
    account = repo.account_of_connection(engine.rt.db, cid)
    people.create_user(engine.rt.db, account, "owner@shop.test", PASSWORD, "owner")
    period = {
        "start": (now - timedelta(days=1)).date().isoformat(),
        "end": (now + timedelta(days=1)).date().isoformat(),
    }
    with TestClient(create_app()) as client:
        assert sign_in(client, "owner@shop.test") == 303
        page = client.get(f"/connections/{cid}/reconcile", params=period).text
        summary = page[page.index('id="summary"') :]
        assert "4 checked" in summary and "1 missing" in summary and "0 duplicated" in summary
        assert str(unseen["number"]) in page
        assert reconciliations.missing_in_account(engine.rt.db, account) == 1
        repaired = client.post(
            f"/connections/{cid}/reconcile/repair", data={**period, "csrf": csrf_of(page)}
        )
        assert "Transferring 1 missing" in repaired.text
        engine.wait(lambda: engine.settled(4))
        again = client.get(f"/connections/{cid}/reconcile", params=period).text
        assert "0 missing" in again[again.index('id="summary"') :]
        wrong = client.get(
            f"/connections/{cid}/reconcile", params={"start": "2026-02-01", "end": "2026-01-01"}
        ).text
        assert "before it starts" in wrong
    assert reconciliations.missing_in_account(engine.rt.db, account) == 0
    assert len(engine.sandboxes.economic.booked_invoices()) == 4


def test_the_nightly_run_records_every_active_connection(engine: Engine) -> None:
    assert reconciliations.latest(engine.rt.db, engine.connection_id) is None
    assert reconciliation_workflow(datetime.now(UTC), {}) == 1
    run = reconciliations.latest(engine.rt.db, engine.connection_id)
    assert run is not None and run.error == "" and run.missing == 0


def test_an_order_on_its_way_is_not_missing(engine: Engine) -> None:
    from kobling.engine.reconcile import reconcile

    now = datetime.now(UTC)
    [order] = engine.sandboxes.woo.generate_orders(
        1, start=now, end=now, statuses={"processing": 1.0}
    )
    transfer = repo.claim_transfer(
        engine.rt.db,
        connection_id=engine.connection_id,
        object_type="order",
        source_id=str(order["id"]),
        purpose="invoice",
        source_number=str(order["number"]),
    )
    repo.update_transfer(engine.rt.db, transfer.key, state="running")
    day = now.date()
    on_its_way = reconcile(engine.connection_id, day - timedelta(days=1), day + timedelta(days=1))
    assert (on_its_way.checked, on_its_way.missing) == (1, [])
    repo.settle(engine.rt.db, transfer.key, "held", reason="r", fix="f")
    held = reconcile(engine.connection_id, day - timedelta(days=1), day + timedelta(days=1))
    assert [row["order"] for row in held.missing] == [str(order["number"])]
