"""The credit-note workflow: a refund in the shop becomes a credit note against the invoice.

    wait for the invoice ─► fetch the refund ─► normalize ─► plan ─► find by reference
        ─► customer ─► products ─► create document ─► book ─► done

Its transfer key is ``(connection, "refund", refund id, "credit_note")``. A refund that arrives
before its invoice is in the target waits for it (a durable sleep, so a restart does not lose
the wait); if the invoice ends up held or skipped, the credit note is held saying so.
"""

from __future__ import annotations

from typing import Any

from dbos import DBOS

from kobling.accounting.credit_note import plan_credit_note
from kobling.accounting.plan import DocumentPlan
from kobling.domain.order import Order, Refund
from kobling.domain.serialize import to_jsonable
from kobling.engine.connectors import connection, source_for
from kobling.engine.retry import with_retries
from kobling.engine.runtime import runtime
from kobling.engine.transfer import policy_for, run_settled, snapshot, write_document
from kobling.errors import PermanentError
from kobling.store import repository as repo


@DBOS.step()
def invoice_state_step(invoice_key: str) -> dict[str, Any]:
    row = repo.get_transfer(runtime().db, invoice_key)
    if row is None:
        return {"state": "missing", "outcome": None, "document": None, "reason": ""}
    return {
        "state": row.state,
        "outcome": row.outcome,
        "document": row.target_document_id,
        "reason": row.reason,
    }


def wait_for_invoice(key: str, invoice_key: str) -> str:
    tuning = runtime().tuning
    for _ in range(tuning.invoice_wait_checks):
        state = invoice_state_step(invoice_key)
        if state["outcome"] == "done" and state["document"]:
            return str(state["document"])
        if state["state"] == "settled":
            raise PermanentError(
                f"the order's invoice was not transferred ({state['outcome']}: "
                f"{state['reason']}), so there is nothing to credit yet",
                "resolve the invoice's transfer first; the credit note follows on the order's "
                "next update",
                code="invoice_missing",
            )
        DBOS.sleep(tuning.invoice_wait_interval)
    raise PermanentError(
        "the order's invoice did not reach the target in time, so the credit note waited in vain",
        "check the invoice's transfer; the credit note follows on the order's next update",
        code="invoice_missing",
    )


@DBOS.step()
def fetch_refund_step(key: str, connection_id: int, order_id: str, refund_id: str) -> Any:
    payload = source_for(connection(connection_id)).fetch_refund(order_id, refund_id)
    snapshot(key, "received", {"origin": "refund", "payload": payload})
    return payload


@DBOS.step()
def normalize_refund_step(
    key: str, connection_id: int, payload: dict[str, Any], currency: str
) -> Refund:
    refund = source_for(connection(connection_id)).normalize_refund(payload, currency)
    snapshot(key, "canonical", to_jsonable(refund))
    return refund


@DBOS.step()
def credit_plan_step(
    key: str, connection_id: int, order: Order, refund: Refund, invoice_id: str
) -> DocumentPlan:
    try:
        plan = plan_credit_note(
            order, refund, policy_for(connection(connection_id).settings), invoice_id
        )
    except PermanentError as problem:
        snapshot(key, "plan", {"held": problem.reason, "fix": problem.fix})
        raise
    snapshot(key, "plan", {"plan": plan, "net": plan.net, "vat": plan.vat, "gross": plan.gross})
    return plan


def _credit(
    key: str, connection_id: int, invoice_key: str, order: Order, refund_id: str
) -> tuple[str, str]:
    invoice_id = wait_for_invoice(key, invoice_key)
    payload = with_retries(fetch_refund_step, key, connection_id, order.source_id, refund_id)
    refund = normalize_refund_step(key, connection_id, payload, order.currency)
    plan = credit_plan_step(key, connection_id, order, refund, invoice_id)
    return write_document(key, connection_id, plan, order)


@DBOS.workflow()
def credit_note_workflow(
    key: str, connection_id: int, invoice_key: str, order: Order, refund_id: str
) -> str:
    return run_settled(key, lambda: _credit(key, connection_id, invoice_key, order, refund_id))
