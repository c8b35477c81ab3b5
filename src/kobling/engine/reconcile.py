"""Reconciliation: what the shop says the books should hold for a period, against what the
accounting system actually holds.

    the shop's orders created in the period ─► eligible (or already in the books)?
        ─► one invoice each (the order's total) + one credit note per refund (minus the amount
           paid back)
    the target's documents dated in the period (and a month after it) ─► by reference
        ─► missing | duplicated | mismatched

The comparison trusts the target alone (``InvoiceTarget.documents_between``, and
``find_document`` for a document dated outside the window, such as a credit note for a refund
made weeks later). Kobling's own records are read only to say *why* something is missing and
to repair it: ``repair_missing`` starts the ordinary intake for each missing order, the same
entry point as a poll, so every write to the target still looks up by reference first.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from dbos import DBOS

from kobling.accounting.credit_note import credit_note_reference
from kobling.accounting.vat import local_date
from kobling.connectors.base import InvoiceTarget, TargetDocument, TargetDocumentSummary
from kobling.domain.order import Order
from kobling.engine.connectors import connection, source_for, target_for
from kobling.engine.eligibility import eligibility
from kobling.engine.intake import start_intake
from kobling.engine.runtime import runtime
from kobling.errors import PermanentError
from kobling.store import repository as repo
from kobling.store.models import Transfer
from kobling.store.repository import ConnectionConfig

Kind = Literal["invoice", "credit_note"]

# A reissued invoice's reference is ``<order>-after-<credited invoice>`` (engine/amendments.py).
REISSUED = "-after-"
# Documents are dated by the order's local date, a credit note by its refund's, and a late
# Tryton invoice like the last posted one: the target is read a little beyond the period.
READ_BEFORE = timedelta(days=1)
READ_AFTER = timedelta(days=31)
DEFAULT_TIMEZONE = "Europe/Copenhagen"
# How a transfer reopened by a repair begins its reason, until its next attempt.
REOPENED = "reconciliation of"
_WAITING = ("PENDING", "ENQUEUED")


@dataclass(frozen=True)
class Expected:
    """A document the shop's data calls for; ``gross`` as the ledger carries it (a credit
    note's negative)."""

    kind: Kind
    order: str
    source_id: str
    refund_id: str | None
    reference: str
    currency: str
    gross: Decimal


@dataclass(frozen=True)
class Found:
    """A document in the target carrying an expected reference."""

    number: str
    kind: Kind
    gross: Decimal | None
    currency: str = ""


@dataclass
class Reconciliation:
    connection_id: int
    connection_name: str
    source_name: str
    target_name: str
    start: date
    end: date
    checked_at: datetime
    checked: int = 0
    missing: list[dict[str, Any]] = field(default_factory=list)
    duplicated: list[dict[str, Any]] = field(default_factory=list)
    mismatched: list[dict[str, Any]] = field(default_factory=list)
    # Orders the shop served that could not be read (so not placed in or out of the period).
    unreadable: list[dict[str, str]] = field(default_factory=list)

    def report(self) -> dict[str, Any]:
        """The result as ``kobling reconcile --json`` prints it (amounts stay Decimal)."""
        return {
            "checked": self.checked,
            "missing": self.missing,
            "duplicated": self.duplicated,
            "mismatched": self.mismatched,
        }


# -- reading ----------------------------------------------------------------------------------


def reconcile(connection_id: int, start: date, end: date) -> Reconciliation:
    """Compare the period's eligible orders and refunds with the target's documents."""
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    cfg = connection(connection_id)
    result = Reconciliation(
        connection_id,
        cfg.name,
        cfg.source.name,
        cfg.target.name,
        start,
        end,
        datetime.now(UTC),
    )
    orders = _orders_of_period(cfg, start, end, result.unreadable)
    target = target_for(cfg)
    documents = target.documents_between(start - READ_BEFORE, end + READ_AFTER)
    books = Books.of(documents)
    expected = [item for order in orders for item in _expected(order, cfg, books)]
    result.checked = len(expected)
    for item in expected:
        _compare(result, item, _found_for(item, books, target), cfg)
    result.duplicated = _duplicates(documents, start, end, expected, cfg.target.name)
    return result


def _timezone(cfg: ConnectionConfig) -> str:
    return str(cfg.settings.get("timezone") or DEFAULT_TIMEZONE)


def _orders_of_period(
    cfg: ConnectionConfig, start: date, end: date, unreadable: list[dict[str, str]]
) -> list[Order]:
    """The shop's orders created from ``start`` to ``end`` in the connection's time zone.

    An order created in the period was modified at or after its creation, so every one of
    them is among the orders modified since the period's first instant.
    """
    zone = _timezone(cfg)
    first = datetime.combine(start, datetime.min.time(), ZoneInfo(zone))
    source = source_for(cfg)
    orders: list[Order] = []
    for payload in source.changed_orders(first.astimezone(UTC) - timedelta(seconds=1)):
        try:
            order = source.normalize(payload)
        except PermanentError as problem:
            unreadable.append(
                {"source_id": str(payload.get("id")), "why": problem.reason, "fix": problem.fix}
            )
            continue
        if start <= local_date(order.created_at, zone) <= end:
            orders.append(order)
    return orders


@dataclass(frozen=True)
class Books:
    """The target's documents by reference, and reissued invoices by their order's number."""

    held: dict[str, list[TargetDocumentSummary]]
    reissued: dict[str, list[TargetDocumentSummary]]

    @classmethod
    def of(cls, documents: Iterable[TargetDocumentSummary]) -> Books:
        held: dict[str, list[TargetDocumentSummary]] = defaultdict(list)
        reissued: dict[str, list[TargetDocumentSummary]] = defaultdict(list)
        for document in documents:
            if document.reference:
                held[document.reference].append(document)
            if REISSUED in document.reference:
                reissued[document.reference.rpartition(REISSUED)[0]].append(document)
        return cls(dict(held), dict(reissued))

    def current(self, reference: str) -> str:
        """The reference of an order's invoice now: the newest reissue if it was reissued."""
        reissues = self.reissued.get(reference)
        if not reissues:
            return reference
        return max(reissues, key=lambda d: (d.date, d.number.zfill(20))).reference


def _expected(order: Order, cfg: ConnectionConfig, books: Books) -> list[Expected]:
    """An eligible order's invoice and its refunds' credit notes; an order that is no longer
    eligible (refunded, cancelled) counts when its invoice is in the books anyway."""
    in_books = books.current(order.number) in books.held
    if not (in_books or eligibility(order, cfg).eligible):
        return []
    invoice = Expected(
        "invoice",
        order.number,
        order.source_id,
        None,
        order.number,
        order.currency,
        order.totals.gross.amount,
    )
    credit_notes = [
        Expected(
            "credit_note",
            order.number,
            order.source_id,
            refund.source_id,
            credit_note_reference(order, refund),
            order.currency,
            -refund.amount.amount,
        )
        for refund in order.refunds
    ]
    return [invoice, *credit_notes]


def _found_for(item: Expected, books: Books, target: InvoiceTarget) -> list[Found]:
    reference = books.current(item.reference) if item.kind == "invoice" else item.reference
    documents = books.held.get(reference, [])
    if documents:
        return [Found(d.number, d.kind, d.gross, d.currency) for d in documents]
    # Dated outside the window read (a refund credited weeks later): ask by reference.
    document = target.find_document(item.reference)
    return [] if document is None else [_found(document)]


def _found(document: TargetDocument) -> Found:
    gross = None if document.gross is None else Decimal(str(document.gross))
    kind: Kind = "credit_note" if gross is not None and gross < 0 else "invoice"
    return Found(document.id, kind, gross)


# -- comparing --------------------------------------------------------------------------------


def _differs(item: Expected, found: Found) -> bool:
    if found.gross is None or (found.currency and found.currency != item.currency):
        return True
    if item.kind == "credit_note":  # targets differ in the sign they give a credit note
        return abs(found.gross) != abs(item.gross)
    return found.gross != item.gross


def _compare(
    result: Reconciliation, item: Expected, found: list[Found], cfg: ConnectionConfig
) -> None:
    if not found:
        transfer = repo.get_transfer(runtime().db, _transfer_key(cfg.id, item))
        if transfer is not None and transfer.state in ("queued", "running"):
            # On its way right now: not missing (yet); the next reconciliation sees it.
            return
        result.missing.append(_row(item, [], _why_missing(item, transfer, cfg.target.name)))
        return
    wrong = [document for document in found if _differs(item, document)]
    if wrong:
        result.mismatched.append(_row(item, found, _why_mismatched(item, wrong, cfg.target.name)))


def _duplicates(
    documents: Sequence[TargetDocumentSummary],
    start: date,
    end: date,
    expected: Sequence[Expected],
    target_name: str,
) -> list[dict[str, Any]]:
    """References held by two or more documents of one kind: among the documents dated in
    the period, and those of the period's orders dated after it."""
    wanted = {item.reference: item for item in expected}
    groups: dict[tuple[str, str], list[TargetDocumentSummary]] = defaultdict(list)
    for d in documents:
        if d.reference and (start <= d.date <= end or d.reference in wanted):
            groups[(d.reference, d.kind)].append(d)
    rows = []
    for (reference, kind), found in sorted(groups.items()):
        if len(found) < 2:
            continue
        numbers = ", ".join(d.number for d in found)
        noun = "credit notes" if kind == "credit_note" else "invoices"
        why = (
            f"{len(found)} {noun} in {target_name} carry reference {reference} ({numbers}), "
            f"where there should be one; credit or delete all but one of them in {target_name}"
        )
        item = wanted.get(reference)
        summary = [Found(d.number, d.kind, d.gross, d.currency) for d in found]
        rows.append(_row(item, summary, why) if item else _orphan_row(reference, found, why))
    return rows


def _row(item: Expected, found: Sequence[Found], why: str) -> dict[str, Any]:
    return {
        "kind": item.kind,
        "order": item.order,
        "source_id": item.source_id,
        "refund_id": item.refund_id,
        "reference": item.reference,
        "currency": item.currency,
        "expected_gross": item.gross,
        "found_gross": [d.gross for d in found],
        "numbers": [d.number for d in found],
        "why": why,
    }


def _orphan_row(reference: str, found: Sequence[TargetDocumentSummary], why: str) -> dict[str, Any]:
    """A duplicate whose order is not one of the period's (or not eligible)."""
    return {
        "kind": found[0].kind,
        "order": None,
        "source_id": None,
        "refund_id": None,
        "reference": reference,
        "currency": found[0].currency,
        "expected_gross": None,
        "found_gross": [d.gross for d in found],
        "numbers": [d.number for d in found],
        "why": why,
    }


def _what(item: Expected) -> str:
    if item.kind == "credit_note":
        return f"the credit note for refund {item.refund_id} of order {item.order}"
    return f"the invoice for order {item.order}"


def _why_missing(item: Expected, transfer: Transfer | None, target_name: str) -> str:
    what = _what(item)
    absent = f"{target_name} has no document with reference {item.reference}"
    if transfer is None or transfer.state == "new":
        return (
            f"{absent}, and Kobling never saw {what} (a lost webhook or a missed poll); "
            "repair transfers it"
        )
    if transfer.outcome == "done":
        return (
            f"{absent}: Kobling transferred {what} as document {transfer.target_document_id}, "
            f"which was deleted in {target_name} or lost its reference; repair transfers it again"
        )
    if transfer.outcome == "held":
        return f"{absent}: Kobling holds {what}: {transfer.reason}; fix: {transfer.fix}"
    return (
        f"{absent}: Kobling {transfer.outcome or 'left'} {what} ({transfer.reason}); repair tries "
        "again"
    )


def _why_mismatched(item: Expected, wrong: Sequence[Found], target_name: str) -> str:
    first = wrong[0]
    if first.gross is None:
        return f"{target_name} did not say the total of document {first.number}; check it there"
    if first.currency and first.currency != item.currency:
        return (
            f"document {first.number} in {target_name} is in {first.currency}, the shop's order "
            f"in {item.currency}; correct the document in {target_name}"
        )
    if item.kind == "credit_note":
        said = f"the shop's refund {item.refund_id} paid back {abs(item.gross)} {item.currency}"
        held = f"credit note {first.number} credits {abs(first.gross)}"
        difference = abs(first.gross) - abs(item.gross)
    else:
        said = f"order {item.order} totals {item.gross} {item.currency} in the shop"
        held = f"invoice {first.number} totals {first.gross}"
        difference = first.gross - item.gross
    return (
        f"{held} in {target_name}, but {said} (a difference of {difference:+}); compare the "
        f"document with the order and correct it in {target_name} (credit it and invoice "
        "again), or correct the order in the shop"
    )


# -- repairing --------------------------------------------------------------------------------


def _transfer_key(connection_id: int, item: Expected | dict[str, Any]) -> str:
    kind = item.kind if isinstance(item, Expected) else item["kind"]
    if kind == "credit_note":
        refund = item.refund_id if isinstance(item, Expected) else item["refund_id"]
        return repo.transfer_key(connection_id, "refund", str(refund), "credit_note")
    source_id = item.source_id if isinstance(item, Expected) else item["source_id"]
    return repo.transfer_key(connection_id, "order", str(source_id), "invoice")


def repair_intake_id(connection_id: int, source_id: str, reconciliation: Reconciliation) -> str:
    """The intake's workflow id: one per order and reconciliation, so repairing the same
    findings twice starts one intake, and a later reconciliation can repair again."""
    return f"reconcile:{connection_id}:{source_id}:{reconciliation.checked_at.isoformat()}"


def repair_missing(connection_id: int, reconciliation: Reconciliation) -> list[str]:
    """Start the ordinary intake for each order with a missing invoice or credit note.

    A transfer Kobling settled (done but deleted in the target, held, failed) is reopened
    first, as the dashboard's re-transfer does; one in progress is left alone. Nothing is
    written to the target here: the transfer looks up by reference before it creates.
    Needs the engine launched (``start_engine``). Returns the references whose intake was
    started.
    """
    by_order: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in reconciliation.missing:
        by_order[str(row["source_id"])].append(row)
    repaired: list[str] = []
    for source_id, rows in by_order.items():
        reopened = [row for row in rows if _reopen(connection_id, row, reconciliation)]
        if reopened:
            workflow_id = repair_intake_id(connection_id, source_id, reconciliation)
            start_intake(connection_id, source_id, "reconcile", workflow_id)
            repaired += [str(row["reference"]) for row in reopened]
    return repaired


def _reopen(connection_id: int, row: dict[str, Any], reconciliation: Reconciliation) -> bool:
    """Whether an intake may bring this document: no transfer yet, or one settled."""
    db = runtime().db
    transfer = repo.get_transfer(db, _transfer_key(connection_id, row))
    if transfer is None or transfer.state == "new" or transfer.outcome == "skipped":
        return True
    if transfer.state != "settled":
        return False  # in progress
    reason = (
        f"{REOPENED} {reconciliation.start} to {reconciliation.end} found no document "
        f"with reference {row['reference']} in {reconciliation.target_name}: transferring again"
    )
    return repo.reopen_transfer(db, transfer.id, reason, ("done", "held", "failed"))


def wait_for_repairs(
    connection_id: int, reconciliation: Reconciliation, references: Sequence[str], timeout: float
) -> list[dict[str, Any]]:
    """Wait until the repaired transfers settle; how each ended, in plain words.

    A credit note whose invoice was itself being repaired waits for the next intake of its
    order (intake/credit_notes): once the invoice is done, its order is taken in once more.
    """
    rows = [row for row in reconciliation.missing if row["reference"] in set(references)]
    deadline = time.monotonic() + timeout
    _settle(connection_id, reconciliation, rows, "", deadline)
    late = {str(row["source_id"]) for row in rows if _still_waiting(connection_id, row)}
    if late:
        for source_id in late:
            workflow_id = repair_intake_id(connection_id, source_id, reconciliation) + ":again"
            start_intake(connection_id, source_id, "reconcile", workflow_id)
        _settle(connection_id, reconciliation, rows, ":again", deadline)
    return [_outcome(connection_id, row) for row in rows]


def _still_waiting(connection_id: int, row: dict[str, Any]) -> bool:
    """A credit note not attempted since it was reopened (its invoice was not in yet)."""
    if row["kind"] != "credit_note":
        return False
    outcome = _outcome(connection_id, row)
    return outcome["outcome"] == "new" or (
        outcome["outcome"] == "held" and str(outcome["reason"]).startswith(REOPENED)
    )


def _settle(
    connection_id: int,
    reconciliation: Reconciliation,
    rows: Sequence[dict[str, Any]],
    suffix: str,
    deadline: float,
) -> None:
    intakes = {
        repair_intake_id(connection_id, str(row["source_id"]), reconciliation) + suffix
        for row in rows
    }
    while time.monotonic() < deadline:
        if not any(_running(workflow_id) for workflow_id in intakes) and all(
            _outcome(connection_id, row)["outcome"] not in ("queued", "running") for row in rows
        ):
            return
        time.sleep(0.2)


def _running(workflow_id: str) -> bool:
    status = DBOS.get_workflow_status(workflow_id)
    return status is not None and status.status in _WAITING


def _outcome(connection_id: int, row: dict[str, Any]) -> dict[str, Any]:
    transfer = repo.get_transfer(runtime().db, _transfer_key(connection_id, row))
    outcome = "new" if transfer is None else transfer.outcome or transfer.state
    return {
        "kind": row["kind"],
        "order": row["order"],
        "reference": row["reference"],
        "outcome": outcome,
        "document": None if transfer is None else transfer.target_document_id,
        "reason": "" if transfer is None else transfer.reason,
        "fix": "" if transfer is None else transfer.fix,
    }
