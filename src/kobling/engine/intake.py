"""Intake: from a webhook hint or a poll to a started transfer (or a recorded skip).

    receipt or poll ─► fetch by id ─► normalize ─► eligible? ─► start the transfer workflow

Every order that reaches intake leaves a transfer row: skipped with its reason, held when its
data cannot be read, or queued. The transfer workflow's id is decided here, deterministically
(the transfer key; key#<content hash> for a new attempt after the shop changed a held order),
so concurrent intakes of the same order start one workflow.
"""

from __future__ import annotations

from typing import Any

from dbos import DBOS, SetEnqueueOptions, SetWorkflowID

from kobling.domain.order import Order
from kobling.domain.serialize import to_jsonable
from kobling.engine.amendments import amend_workflow, amendment_for
from kobling.engine.connectors import connection, source_for, transfer_queue_name
from kobling.engine.credit_notes import credit_note_workflow
from kobling.engine.eligibility import eligibility
from kobling.engine.queues import queue
from kobling.engine.retry import through_outages, with_retries
from kobling.engine.runtime import runtime
from kobling.engine.transfer import transfer_workflow
from kobling.errors import PermanentError, TransientError
from kobling.store import repository as repo

PURPOSE = "invoice"


@DBOS.step()
def fetch_step(connection_id: int, source_id: str) -> dict[str, Any]:
    return source_for(connection(connection_id)).fetch_order(source_id)


def _claim(connection_id: int, source_id: str, number: str) -> str:
    row = repo.claim_transfer(
        runtime().db,
        connection_id=connection_id,
        object_type="order",
        source_id=source_id,
        purpose=PURPOSE,
        source_number=number,
    )
    return row.key


@DBOS.step()
def hold_unreadable_step(
    connection_id: int, source_id: str, reason: str, fix: str, code: str = ""
) -> None:
    db = runtime().db
    key = _claim(connection_id, source_id, source_id)
    repo.add_snapshot(db, key, "fetch", {"error": reason, "code": code})
    if repo.mark_queued(db, key, key, "unreadable"):
        repo.settle(db, key, "held", reason=reason, fix=fix, code=code)


@DBOS.step()
def evaluate_step(connection_id: int, payload: dict[str, Any], origin: str) -> dict[str, Any]:
    """Normalize, decide eligibility, and claim the start of an attempt if there is one.

    Refunds of an order whose invoice is in the target (or on its way) are claimed as
    credit-note transfers in the same step.
    """
    decision = _evaluate_invoice(connection_id, payload, origin)
    order = decision.pop("_order", None)
    invoice_state = decision.pop("_invoice_state", "")
    decision["credit_notes"] = (
        _claim_credit_notes(connection_id, decision["key"], order, invoice_state)
        if order is not None
        else []
    )
    return decision


def _claim_credit_notes(
    connection_id: int, invoice_key: str, order: Order, invoice_state: str
) -> list[dict[str, Any]]:
    if not order.refunds or invoice_state not in ("done", "active"):
        return []
    db = runtime().db
    starts = []
    for refund in order.refunds:
        row = repo.claim_transfer(
            db,
            connection_id=connection_id,
            object_type="refund",
            source_id=refund.source_id,
            purpose="credit_note",
            source_number=order.number,
        )
        if row.state == "queued" and row.workflow_id:
            starts.append(
                {"key": row.key, "workflow_id": row.workflow_id, "refund_id": refund.source_id}
            )
            continue
        if row.outcome == "done" or row.state == "running":
            continue
        if row.outcome in ("held", "failed") and invoice_state != "done":
            continue  # retried once the invoice is in the target
        workflow_id = row.key if row.attempts == 0 else f"{row.key}#{row.attempts + 1}"
        if repo.mark_queued(db, row.key, workflow_id, f"refund:{refund.source_id}"):
            starts.append(
                {"key": row.key, "workflow_id": workflow_id, "refund_id": refund.source_id}
            )
    return starts


def _evaluate_invoice(connection_id: int, payload: dict[str, Any], origin: str) -> dict[str, Any]:
    db = runtime().db
    cfg = connection(connection_id)
    source = source_for(cfg)
    source_id = str(payload.get("id"))
    try:
        order = source.normalize(payload)
    except PermanentError as problem:
        key = _claim(connection_id, source_id, str(payload.get("number") or source_id))
        repo.add_snapshot(db, key, "received", {"origin": origin, "payload": payload})
        if repo.mark_queued(db, key, key, "unreadable"):
            repo.settle(db, key, "held", reason=problem.reason, fix=problem.fix)
        return {"action": "held", "key": key}
    key = _claim(connection_id, order.source_id, order.number)
    current = repo.get_transfer(db, key)
    assert current is not None
    digest = order.content_hash()
    if current.outcome == "done" and current.state == "settled":
        amendment = amendment_for(
            cfg.settings, order, current.document_hash, current.target_document_id
        )
        if amendment is not None:
            # Claimed by the amend workflow itself (its first step), so a crash between this
            # step and the enqueue below cannot lose the change: the enqueue is replayed.
            return {
                "action": "amend",
                "key": key,
                "mode": amendment[0],
                "workflow_id": f"{key}#amend-{amendment[1][-12:]}",
                "document_id": current.target_document_id,
                "seen": current.document_hash,
                "new": amendment[1],
                "queue": transfer_queue_name(cfg.target.kind),
                "partition": str(cfg.target.id),
                "order": order,
                "_order": order,
                "_invoice_state": "done",
            }
    if current.outcome == "done" or (current.state in ("queued", "running")):
        state = "done" if current.outcome == "done" else "active"
        if current.state == "queued" and current.content_hash == digest and current.workflow_id:
            # A retry of this step after a crash: the attempt was claimed, start it again
            # (DBOS deduplicates the workflow id).
            started = _start(key, cfg.target.kind, cfg.target.id, current.workflow_id, order)
            return {**started, "_order": order, "_invoice_state": state}
        return {
            "action": "none",
            "key": key,
            "why": f"transfer is {current.outcome or current.state}",
            "_order": order,
            "_invoice_state": state,
        }
    if current.outcome == "skipped" and current.reason.startswith(repo.SKIPPED_BY):
        # A person set it aside: seeing the order again (a poll, a re-read) does not undo that.
        return {"action": "none", "key": key, "why": current.reason}
    if current.outcome in ("held", "failed") and current.content_hash == digest:
        return {"action": "none", "key": key, "why": "unchanged since it was held"}
    repo.add_snapshot(db, key, "received", {"origin": origin, "payload": payload})
    repo.add_snapshot(db, key, "canonical", to_jsonable(order))
    verdict = eligibility(order, cfg, origin)
    repo.add_snapshot(
        db, key, "eligibility", {"eligible": verdict.eligible, "reason": verdict.reason}
    )
    if not verdict.eligible:
        repo.mark_skipped(db, key, verdict.reason, digest)
        return {"action": "skipped", "key": key, "reason": verdict.reason}
    # Each attempt its own workflow id: a DBOS workflow id runs once, and the same content may
    # be attempted again (a retry asked for after fixing a setting).
    workflow_id = key if current.attempts == 0 else f"{key}#{digest[:12]}.{current.attempts}"
    if not repo.mark_queued(db, key, workflow_id, digest, order.document_hash()):
        return {
            "action": "none",
            "key": key,
            "why": "another intake started it",
            "_order": order,
            "_invoice_state": "active",
        }
    started = _start(key, cfg.target.kind, cfg.target.id, workflow_id, order)
    return {**started, "_order": order, "_invoice_state": "active"}


def _start(key: str, kind: str, partition: int, workflow_id: str, order: Any) -> dict[str, Any]:
    return {
        "action": "start",
        "key": key,
        "workflow_id": workflow_id,
        "queue": transfer_queue_name(kind),
        "partition": str(partition),
        "order": order,
    }


@DBOS.workflow()
def intake_workflow(
    connection_id: int, source_id: str, origin: str, payload: dict[str, Any] | None
) -> str:
    # An intake in error would be lost: the same order seen again gets the same intake id,
    # which DBOS does not start twice. So a database outage is waited out.
    return through_outages(lambda: _intake(connection_id, source_id, origin, payload))


def _intake(connection_id: int, source_id: str, origin: str, payload: dict[str, Any] | None) -> str:
    if payload is None:
        try:
            payload = with_retries(fetch_step, connection_id, source_id)
        except (PermanentError, TransientError) as problem:
            hold_unreadable_step(
                connection_id,
                source_id,
                f"order {source_id} could not be fetched: {problem.reason}",
                problem.fix or "check that the order exists in the shop",
                problem.code,
            )
            return "held"
    decision = evaluate_step(connection_id, payload, origin)
    if decision["action"] == "start":
        enqueue_on_target(
            decision["queue"],
            decision["partition"],
            decision["workflow_id"],
            transfer_workflow,
            decision["key"],
            connection_id,
            decision["order"],
        )
    if decision["action"] == "amend":
        enqueue_on_target(
            decision["queue"],
            decision["partition"],
            decision["workflow_id"],
            amend_workflow,
            decision["key"],
            connection_id,
            decision["order"],
            decision["mode"],
            decision["document_id"],
            decision["seen"],
            decision["new"],
        )
    for credit in decision["credit_notes"]:
        start_credit_note(connection_id, decision["key"], credit, payload)
    return str(decision["action"])


def enqueue_on_target(
    queue_name: str, partition: str, workflow_id: str, workflow: Any, *args: Any
) -> None:
    """Enqueue on a target's queue, in the target account's partition, under a fixed id.

    The same id twice starts the workflow once (DBOS), which is what makes racing intakes safe.
    """
    with SetWorkflowID(workflow_id), SetEnqueueOptions(queue_partition_key=partition):
        queue(queue_name).enqueue(workflow, *args)


def start_credit_note(
    connection_id: int, invoice_key: str, credit: dict[str, Any], payload: dict[str, Any]
) -> None:
    """Enqueue a credit-note workflow on the target's queue (same partition as invoices)."""
    order = normalize_step(connection_id, payload)
    target = target_info_step(connection_id)
    enqueue_on_target(
        target["queue"],
        target["partition"],
        credit["workflow_id"],
        credit_note_workflow,
        credit["key"],
        connection_id,
        invoice_key,
        order,
        credit["refund_id"],
    )


@DBOS.step()
def normalize_step(connection_id: int, payload: dict[str, Any]) -> Order:
    return source_for(connection(connection_id)).normalize(payload)


@DBOS.step()
def target_info_step(connection_id: int) -> dict[str, str]:
    cfg = connection(connection_id)
    return {"queue": transfer_queue_name(cfg.target.kind), "partition": str(cfg.target.id)}


def start_intake(
    connection_id: int,
    source_id: str,
    origin: str,
    workflow_id: str,
    payload: dict[str, Any] | None = None,
) -> None:
    """Enqueue an intake; the same ``workflow_id`` twice starts it once."""
    from kobling.engine.queues import INTAKE_QUEUE

    with SetWorkflowID(workflow_id):
        queue(INTAKE_QUEUE).enqueue(intake_workflow, connection_id, source_id, origin, payload)
