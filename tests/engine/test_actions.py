"""Retry, re-transfer and skip, as a person asks for them from the dashboard or the API."""

from __future__ import annotations

import httpx
import pytest
from dbos import DBOS

from kobling.engine import actions
from kobling.engine.launch import poll_now
from kobling.store import repository as repo
from tests.engine.conftest import Engine
from tests.engine.test_transfers import _one_order, _transfer

HEADERS = {
    "X-AppSecretToken": "sandbox-app-secret",
    "X-AgreementGrantToken": "sandbox-agreement-grant",
}


def _held_by_a_barred_product(engine: Engine) -> tuple[dict, str]:
    order = _one_order(engine)
    sku = order["line_items"][0]["sku"]
    response = httpx.post(
        f"{engine.sandboxes.economic_url}/products",
        json={"productNumber": sku, "name": "Old", "productGroup": {"productGroupNumber": 1}},
        headers=HEADERS,
    )
    assert response.status_code == 201, response.text
    engine.sandboxes.economic.set_product_barred(sku)
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(1))
    assert _transfer(engine, order).outcome == "held"
    return order, sku


def test_retry_after_the_fix_transfers_the_held_order_once(engine: Engine) -> None:
    order, sku = _held_by_a_barred_product(engine)
    held = _transfer(engine, order)
    # Retrying before the fix: held again, with the same reason, and nothing booked.
    actions.retry(held, "owner@example.test")
    engine.wait(lambda: _transfer(engine, order).attempts == 2 and engine.settled(1))
    again = _transfer(engine, order)
    assert again.outcome == "held" and "barred" in again.reason
    # The fix (lift the bar), then retry: done, one invoice.
    engine.sandboxes.economic.set_product_barred(sku, barred=False)
    actions.retry(again, "owner@example.test")
    engine.wait(lambda: _transfer(engine, order).outcome == "done")
    assert len(engine.sandboxes.economic.booked_invoices()) == 1
    done = _transfer(engine, order)
    with pytest.raises(actions.ActionRefused):
        actions.retry(done, "owner@example.test")  # nothing to retry
    # Re-transfer of a done order: the invoice is found by reference, not booked again.
    actions.retransfer(done, "owner@example.test")
    engine.wait(lambda: _transfer(engine, order).attempts == 4 and engine.settled(1))
    final = _transfer(engine, order)
    assert final.outcome == "done" and "already in the target" in final.reason
    assert len(engine.sandboxes.economic.booked_invoices()) == 1


def test_skip_sets_a_held_transfer_aside_with_who_did_it(engine: Engine) -> None:
    order, sku = _held_by_a_barred_product(engine)
    actions.skip(_transfer(engine, order), "owner@example.test")
    skipped = _transfer(engine, order)
    assert skipped.outcome == "skipped"
    assert skipped.reason.startswith("skipped by owner@example.test: ")
    assert "barred" in skipped.reason
    with pytest.raises(actions.ActionRefused):
        actions.skip(skipped, "owner@example.test")
    assert repo.unsettled_count(engine.rt.db, engine.connection_id) == 0
    # Seeing the order again (a poll, the re-read of open orders) does not undo the skip,
    # even once the problem is gone and the order changed.
    engine.sandboxes.economic.set_product_barred(sku, barred=False)
    engine.sandboxes.woo.set_status(int(order["id"]), "completed")
    poll_now(engine.connection_id)
    engine.wait(lambda: not DBOS.list_workflows(status=["PENDING", "ENQUEUED"], load_input=False))
    assert _transfer(engine, order).outcome == "skipped"
    assert engine.sandboxes.economic.booked_invoices() == []
