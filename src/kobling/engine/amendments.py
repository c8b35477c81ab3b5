"""Orders that change after their transfer: edited, or cancelled.

* A draft not booked yet is overwritten with the new data (or deleted when the order is
  cancelled).
* A booked invoice cannot be edited. By setting, Kobling either warns (the log keeps the
  original and the changed order side by side, and the transfer's reason says what to check)
  or corrects it: a credit note of the whole invoice and, for an edit, a new invoice.

Intake notices the change by the order's *document hash* (customer, lines, shipping, fees,
totals; not status or payments) and claims it with a conditional update, so one change is
handled once however many deliveries report it.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from dbos import DBOS

from kobling.accounting.vat import local_date
from kobling.domain.order import Order
from kobling.domain.serialize import to_jsonable
from kobling.engine.connectors import connection, target_for
from kobling.engine.retry import with_retries
from kobling.engine.runtime import runtime
from kobling.engine.transfer import (
    customer_step,
    plan_step,
    products_step,
    snapshot,
)
from kobling.errors import PermanentError, TransientError
from kobling.store import repository as repo


def amendment_for(
    settings: dict[str, Any], order: Order, seen: str, document_id: str | None
) -> tuple[str, str] | None:
    """``(mode, new document hash)`` for an order seen again after its transfer, or None."""
    if not seen or seen.startswith("cancelled:") or not document_id:
        return None
    draft = document_id.startswith("draft:")
    digest = order.document_hash()
    if order.status == "cancelled":
        if draft:
            return "cancel_draft", f"cancelled:{digest}"
        credit = settings.get("after_booking_cancellation", "warn") == "credit_note"
        return ("cancel_credit" if credit else "cancel_warn"), f"cancelled:{digest}"
    if digest == seen:
        return None
    if draft:
        return "update_draft", digest
    reissue = settings.get("after_booking_changes", "warn") == "credit_and_reissue"
    return ("reissue" if reissue else "warn"), digest


@DBOS.step()
def compare_step(key: str, order: Order, what: str) -> None:
    """Keep the original and the changed order side by side in the log."""
    original = repo.latest_snapshot(runtime().db, key, "canonical")
    snapshot(key, what, {"original": original, "changed": to_jsonable(order)})


@DBOS.step()
def reason_step(key: str, reason: str, fix: str, document_id: str | None = None) -> None:
    values: dict[str, Any] = {"reason": reason, "fix": fix}
    if document_id is not None:
        values["target_document_id"] = document_id
    repo.update_transfer(runtime().db, key, **values)


@DBOS.step()
def update_draft_step(
    key: str, connection_id: int, document_id: str, plan: Any, customer_number: str
) -> str:
    document = target_for(connection(connection_id)).update_document(
        document_id, plan, customer_number
    )
    snapshot(key, "document updated", {"document": document})
    return document.id


@DBOS.step()
def delete_draft_step(key: str, connection_id: int, document_id: str) -> None:
    target_for(connection(connection_id)).delete_document(document_id)
    snapshot(key, "document deleted", {"document": document_id})


@DBOS.step()
def credit_step(key: str, connection_id: int, document_id: str, reference: str, note: str) -> str:
    cfg = connection(connection_id)
    today = local_date(datetime.now(UTC), str(cfg.settings.get("timezone", "Europe/Copenhagen")))
    credit = target_for(cfg).credit_document(document_id, reference, note, today)
    snapshot(key, "credit note", {"credits": document_id, "document": credit})
    return credit.id


@DBOS.step()
def reissue_step(key: str, connection_id: int, plan: Any, customer_number: str) -> str:
    target = target_for(connection(connection_id))
    document = target.create_document(plan, customer_number)
    booked = target.book(document)
    snapshot(key, "reissued", {"document": booked})
    return booked.id


@DBOS.step()
def hold_step(key: str, reason: str, fix: str) -> None:
    # The target document stays recorded; a person has to reconcile it with the order.
    repo.settle(runtime().db, key, "held", reason=reason, fix=fix)


def _amend(key: str, connection_id: int, order: Order, mode: str, document_id: str) -> None:
    number = order.number
    if mode == "update_draft":
        compare_step(key, order, "changed before booking")
        plan = plan_step(key, connection_id, order)
        customer = with_retries(customer_step, key, connection_id, plan)
        with_retries(products_step, key, connection_id, plan)
        with_retries(update_draft_step, key, connection_id, document_id, plan, customer)
        reason_step(
            key,
            f"draft invoice {document_id.removeprefix('draft:')} updated after the "
            "order changed in the shop",
            "",
        )
    elif mode == "cancel_draft":
        with_retries(delete_draft_step, key, connection_id, document_id)
        reason_step(
            key,
            f"the order was cancelled: draft invoice {document_id.removeprefix('draft:')} deleted",
            "",
            "",
        )
    elif mode in ("warn", "cancel_warn"):
        what = "cancelled after booking" if mode == "cancel_warn" else "changed after booking"
        setting = "after_booking_cancellation" if mode == "cancel_warn" else "after_booking_changes"
        compare_step(key, order, what)
        reason_step(
            key,
            f"booked as invoice {document_id}; the order was {what.split()[0]} in the shop "
            "afterwards, and the invoice was left as it is",
            f"compare the original and the {what.split()[0]} order in the log; credit invoice "
            f"{document_id} by hand if needed, or let Kobling do it (connection setting "
            f"{setting})",
        )
    elif mode == "cancel_credit":
        credit = with_retries(
            credit_step,
            key,
            connection_id,
            document_id,
            f"{number}-cancelled",
            f"Order {number} cancelled",
        )
        reason_step(
            key,
            f"the order was cancelled after booking: invoice {document_id} "
            f"credited by credit note {credit}",
            "",
        )
    elif mode == "reissue":
        compare_step(key, order, "changed after booking")
        credit = with_retries(
            credit_step,
            key,
            connection_id,
            document_id,
            f"{number}-correction-{document_id}",
            f"Order {number} changed after booking",
        )
        plan = plan_step(key, connection_id, order)
        plan = dataclasses.replace(plan, reference=f"{number}-after-{document_id}")
        customer = with_retries(customer_step, key, connection_id, plan)
        with_retries(products_step, key, connection_id, plan)
        new = with_retries(reissue_step, key, connection_id, plan, customer)
        reason_step(
            key,
            f"the order changed after booking: invoice {document_id} credited by "
            f"credit note {credit} and replaced by invoice {new}",
            "",
            new,
        )


@DBOS.step()
def claim_step(key: str, seen: str, new: str) -> bool:
    db = runtime().db
    if repo.claim_amendment(db, key, seen, new):
        return True
    current = repo.get_transfer(db, key)
    # Already claimed for this very change (by this workflow before a restart).
    return current is not None and current.document_hash == new


@DBOS.workflow()
def amend_workflow(
    key: str, connection_id: int, order: Order, mode: str, document_id: str, seen: str, new: str
) -> str:
    if not claim_step(key, seen, new):
        return "superseded"
    try:
        _amend(key, connection_id, order, mode, document_id)
    except (PermanentError, TransientError) as problem:
        hold_step(
            key,
            f"the order changed after its transfer, and the document could not be brought in "
            f"line: {problem.reason}",
            problem.fix or "check the document in the accounting system against the order",
        )
        return "held"
    return mode
