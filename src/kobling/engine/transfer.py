"""The transfer workflow: one DBOS step per arrow of the transfer, a snapshot per step.

    map ─► validate ─► plan ─► find by reference in target ─► customer ─► products
        ─► create document ─► book (if allowed) ─► register payment ─► send e-mail ─► done

(receipt/poll, fetch by id, normalize and "eligible?" run in the intake workflow, which starts
this one only for an eligible order; see docs/architecture.md for why.)

The workflow id is the transfer key, so the same order can start it only once. Steps that
write to the target record the attempt before they send it; a step that runs again after a
crash or a lost response finds that record and looks its earlier work up by reference before
it creates anything (store/write_attempts.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from dbos import DBOS

from kobling.accounting.plan import DocumentPlan, PlanPolicy, plan_invoice, plan_payment
from kobling.connectors.base import TargetDocument
from kobling.domain.order import Order
from kobling.domain.serialize import to_jsonable
from kobling.engine.booking import BookingDecision, booking_decision
from kobling.engine.connectors import connection, target_for
from kobling.engine.retry import through_outages, with_retries
from kobling.engine.runtime import runtime
from kobling.engine.usage_limit import plan_limit_step
from kobling.errors import PermanentError, StaleReference, TransientError
from kobling.store import repository as repo
from kobling.store import write_attempts
from kobling.store.database import is_outage


def snapshot(key: str, stage: str, data: Any) -> None:
    """Store the dataset of one stage of a transfer (JSON-safe, never a secret)."""
    repo.add_snapshot(runtime().db, key, stage, to_jsonable(data))


def policy_for(settings: dict[str, Any]) -> PlanPolicy:
    """The plan policy from validated connection settings (defaults as in engine.settings)."""
    target = settings.get("target", {})
    return PlanPolicy(
        seller_country=str(settings.get("seller_country", "DK")),
        oss=bool(settings.get("oss", False)),
        tax_point=str(settings.get("tax_point", "order_date")),
        tax_classes=dict(settings.get("tax_classes", {})),
        rounding_tolerance=Decimal(str(settings.get("rounding_tolerance", "0.05"))),
        shipping_product=str(target.get("shipping_product", "SHIPPING")),
        untaxed_shipping_product=str(target.get("untaxed_shipping_product", "SHIPPING0")),
        fee_product=str(target.get("fee_product", "FEE")),
        untaxed_fee_product=str(target.get("untaxed_fee_product", "FEE0")),
        timezone=str(settings.get("timezone", "Europe/Copenhagen")),
        rounding_product=str(target.get("rounding_product", "ROUNDING")),
        fallback_product=str(settings.get("fallback_product", "")),
        gift_card_product=str(settings.get("gift_card_product", "")),
        gift_card_skus=tuple(settings.get("gift_card_skus", ())),
        customer_match_field=str(target.get("customer_match_field", "email")),
    )


@DBOS.step()
def start_step(key: str) -> None:
    repo.mark_running(runtime().db, key)


@DBOS.step()
def map_step(key: str, order: Order) -> Order:
    # The mapping module (user filters and field rewrites) plugs in here; until a connection
    # has rules, the mapped order is the canonical one.
    snapshot(key, "mapped", {"rules": [], "order": order})
    return order


@DBOS.step()
def validate_step(key: str, order: Order) -> None:
    problems = []
    if not order.lines and not order.fees:
        problems.append("the order has no lines")
    if order.totals.gross.currency != order.currency:
        problems.append("the totals are in another currency than the order")
    snapshot(key, "validated", {"problems": problems})
    if problems:
        raise PermanentError(
            f"order {order.number} cannot be invoiced: {'; '.join(problems)}",
            "check the order in the shop",
            code="invalid_order",
        )


@DBOS.step()
def plan_step(key: str, connection_id: int, order: Order) -> DocumentPlan:
    cfg = connection(connection_id)
    try:
        plan = plan_invoice(order, policy_for(cfg.settings))
    except PermanentError as problem:
        snapshot(key, "plan", {"held": problem.reason, "fix": problem.fix})
        raise
    snapshot(key, "plan", {"plan": plan, "net": plan.net, "vat": plan.vat, "gross": plan.gross})
    return plan


@DBOS.step()
def find_step(key: str, connection_id: int, reference: str) -> TargetDocument | None:
    found = target_for(connection(connection_id)).find_document(reference)
    snapshot(key, "lookup", {"reference": reference, "found": found})
    return found


@DBOS.step()
def customer_step(key: str, connection_id: int, plan: DocumentPlan) -> str:
    rt = runtime()
    cfg = connection(connection_id)
    cache_key = _customer_cache_key(plan)
    known = repo.get_binding(rt.db, cfg.target.id, "customer", cache_key)
    if known is not None:
        snapshot(key, "customer", {"number": known, "action": "bound", "match": cache_key})
        return known
    result = target_for(cfg).ensure_customer(plan.customer)
    repo.put_binding(rt.db, cfg.target.id, "customer", cache_key, result.number)
    snapshot(
        key,
        "customer",
        {
            "number": result.number,
            "action": result.action,
            "match": cache_key,
            "notes": list(result.notes),
        },
    )
    return result.number


def _customer_cache_key(plan: DocumentPlan) -> str:
    return f"{plan.customer.match_field}:{plan.customer.match_value.lower()}"


@DBOS.step()
def forget_customer_step(key: str, connection_id: int, plan: DocumentPlan) -> None:
    cfg = connection(connection_id)
    repo.delete_binding(runtime().db, cfg.target.id, "customer", _customer_cache_key(plan))
    snapshot(
        key,
        "customer",
        {
            "forgotten": _customer_cache_key(plan),
            "why": "the bound customer no longer exists in the target",
        },
    )


@DBOS.step()
def products_step(key: str, connection_id: int, plan: DocumentPlan) -> None:
    """Find or create the products; those found or created before are bound and cost no call."""
    db, cfg = runtime().db, connection(connection_id)
    known = [n for n in plan.product_numbers() if repo.get_binding(db, cfg.target.id, "product", n)]
    report = target_for(cfg).ensure_products(plan, known)
    # ensure_products raises unless every product now exists in the target.
    for number in plan.product_numbers():
        if number not in known:
            repo.put_binding(db, cfg.target.id, "product", number, number)
    snapshot(key, "products", {"products": report, "bound": known})


@DBOS.step()
def forget_products_step(key: str, connection_id: int, plan: DocumentPlan) -> None:
    cfg = connection(connection_id)
    for number in plan.product_numbers():
        repo.delete_binding(runtime().db, cfg.target.id, "product", number)
    snapshot(
        key,
        "products",
        {
            "forgotten": plan.product_numbers(),
            "why": "a bound product no longer exists in the target",
        },
    )


@DBOS.step()
def look_up_step(key: str, created_at: datetime | None) -> bool:
    """Whether to look the document up by reference before creating it, and why."""
    look, why = _look_up_first(key, created_at, datetime.now(UTC))
    snapshot(key, "lookup decision", {"look_up": look, "why": why})
    return look


def _look_up_first(key: str, created_at: datetime | None, now: datetime) -> tuple[bool, str]:
    """Only a fresh order that no earlier run tried to write can skip the lookup.

    Anything else may already be in the target: an earlier attempt's outcome is uncertain; an
    old order may have been transferred before the records began (a backfill, a new or lost
    database, one restored from a backup: ``kobling db restored``).
    """
    db = runtime().db
    if write_attempts.attempted(db, key):
        return True, "an earlier attempt wrote to the target, its outcome is uncertain"
    if created_at is None:
        return True, "the order has no creation date"
    begin = write_attempts.records_begin(db)
    if begin is not None and created_at <= begin[1]:
        event = "restored" if begin[0] == write_attempts.RESTORED else "created"
        return True, f"the order is older than this database ({event} {begin[1]:%Y-%m-%d %H:%M})"
    hours = runtime().tuning.fresh_order_hours
    if now - created_at > timedelta(hours=hours):
        return True, f"the order is older than {hours:g} hours, it may have been transferred before"
    return False, "a new order that no earlier attempt wrote: nothing to find"


@DBOS.step()
def create_step(
    key: str, connection_id: int, plan: DocumentPlan, customer_number: str
) -> TargetDocument:
    first = write_attempts.first_attempt(runtime().db, key, "create")
    document = target_for(connection(connection_id)).create_document(
        plan, customer_number, first_attempt=first
    )
    repo.update_transfer(runtime().db, key, target_document_id=f"draft:{document.id}")
    snapshot(key, "document", {"document": document})
    return document


@DBOS.step()
def book_step(key: str, connection_id: int, document: TargetDocument) -> TargetDocument:
    first = write_attempts.first_attempt(runtime().db, key, "book")
    booked = target_for(connection(connection_id)).book(document, first_attempt=first)
    repo.update_transfer(runtime().db, key, target_document_id=booked.id)
    snapshot(key, "booking", {"document": booked})
    return booked


@DBOS.step()
def note_step(key: str, stage: str, data: dict[str, Any]) -> None:
    snapshot(key, stage, data)


@DBOS.step()
def settle_step(
    key: str, outcome: str, reason: str, fix: str, document_id: str | None, code: str = ""
) -> None:
    repo.settle(
        runtime().db,
        key,
        outcome,
        reason=reason,
        fix=fix,
        target_document_id=document_id,
        code=code,
    )
    data = {"reason": reason, "fix": fix, "document": document_id}
    snapshot(key, outcome, {**data, "code": code} if code else data)


@DBOS.step()
def booking_step(key: str, connection_id: int, order: Order) -> BookingDecision:
    cfg = connection(connection_id)
    decision = booking_decision(cfg.settings, order, cfg.activated_at, datetime.now(UTC))
    snapshot(key, "booking decision", {"book": decision.book, "reason": decision.reason})
    return decision


def write_document(
    key: str, connection_id: int, plan: DocumentPlan, order: Order
) -> tuple[str, str]:
    """find by reference → customer → products → create → book; returns (document id, why)."""
    document, why = _write(key, connection_id, plan, order)
    return (document.id if document.state == "booked" else f"draft:{document.id}"), why


def _write(
    key: str, connection_id: int, plan: DocumentPlan, order: Order
) -> tuple[TargetDocument, str]:
    noun = "credit note" if plan.kind == "credit_note" else "invoice"
    # A fresh order's first run knows nothing of its own can exist yet (write attempts are
    # recorded before the request is sent), which saves the lookups on nearly every transfer.
    found = None
    if look_up_step(key, order.created_at):
        found = with_retries(find_step, key, connection_id, plan.reference)
        if found is not None and found.state == "booked":
            return found, f"already in the target as {noun} {found.id} (found by reference)"
    if plan.kind == "invoice":
        plan_limit_step(key, connection_id)
    if found is not None:  # a draft made earlier: book that one, make no other
        document = found
    else:
        customer_number = with_retries(customer_step, key, connection_id, plan)
        with_retries(products_step, key, connection_id, plan)
        document = _create(key, connection_id, plan, customer_number)
    booking = booking_step(key, connection_id, order)
    if booking.book:
        document = with_retries(book_step, key, connection_id, document)
        return document, f"booked as {noun} {document.id}"
    return document, f"created as draft {noun} {document.id} ({booking.reason})"


def _create(
    key: str, connection_id: int, plan: DocumentPlan, customer_number: str
) -> TargetDocument:
    """Create the document; a bound customer or product the target lost is found or created
    again (once per kind) before the transfer is held."""
    renewed: set[str] = set()
    while True:
        try:
            return with_retries(create_step, key, connection_id, plan, customer_number)
        except StaleReference as stale:
            if stale.kind in renewed:
                raise
            renewed.add(stale.kind)
            if stale.kind == "product":
                forget_products_step(key, connection_id, plan)
                with_retries(products_step, key, connection_id, plan)
            else:
                forget_customer_step(key, connection_id, plan)
                customer_number = with_retries(customer_step, key, connection_id, plan)


def _deliver(key: str, connection_id: int, order: Order) -> tuple[str, str]:
    """The transfer proper; returns (document id, reason). Raises to hold or fail."""
    mapped = map_step(key, order)
    validate_step(key, mapped)
    plan = plan_step(key, connection_id, mapped)
    document, reason = _write(key, connection_id, plan, mapped)
    if document.state != "booked":
        note_step(key, "payment", {"registered": False, "why": "the invoice is a draft"})
    else:
        with_retries(payment_step, key, connection_id, document, mapped)
    note_step(key, "email", {"sent": False, "why": "invoice e-mail not configured"})
    return (document.id if document.state == "booked" else f"draft:{document.id}"), reason


@DBOS.step()
def payment_step(key: str, connection_id: int, document: TargetDocument, order: Order) -> None:
    cfg = connection(connection_id)
    payment, why = plan_payment(
        order,
        list(cfg.settings.get("settled_payment_methods", [])),
        str(cfg.settings.get("timezone", "Europe/Copenhagen")),
    )
    if payment is None:
        snapshot(key, "payment", {"registered": False, "why": why})
        return
    first = write_attempts.first_attempt(runtime().db, key, "payment")
    result = target_for(cfg).register_payment(document, payment, first_attempt=first)
    snapshot(key, "payment", {"registered": True, "why": why, "payment": payment, **result})


def run_settled(key: str, work: Callable[[], tuple[str, str]]) -> str:
    """Run a transfer's work and settle it: done, held (permanent) or failed (retries spent).

    A database outage (PostgreSQL restarting) is waited out, not settled as a failure."""
    return through_outages(lambda: _run_settled(key, work))


def _run_settled(key: str, work: Callable[[], tuple[str, str]]) -> str:
    start_step(key)
    try:
        document_id, reason = work()
    except PermanentError as problem:
        settle_step(key, "held", problem.reason, problem.fix, None, problem.code)
        return "held"
    except TransientError as problem:
        settle_step(
            key,
            "failed",
            f"gave up after retries: {problem.reason}",
            problem.fix or "retry the transfer once the remote system works again",
            None,
            problem.code or "unreachable",
        )
        return "failed"
    except Exception as error:  # a bug must settle the transfer, not leave it running
        if is_outage(error):
            raise  # waited out by through_outages
        settle_step(
            key,
            "failed",
            f"unexpected error: {error.__class__.__name__}: {error}",
            "report this to the Kobling maintainers with the transfer's log",
            None,
        )
        return "failed"
    settle_step(key, "done", reason, "", document_id)
    return "done"


@DBOS.workflow()
def transfer_workflow(key: str, connection_id: int, order: Order) -> str:
    return run_settled(key, lambda: _deliver(key, connection_id, order))
