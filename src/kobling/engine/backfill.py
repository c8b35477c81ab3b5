"""Importing previous orders (backfill): select, estimate, dry run, then run, pausably.

1. ``scan``: one pass over the shop's orders created since a date (and from an order number
   on), oldest first, that keeps only their ids and the estimate: how many, how many eligible,
   already transferred, calls to the target, time at the target's rate limit, and how many
   count against this month's plan or as extra orders.
2. ``dry_run``: each order as ``kobling preview`` shows it, problems with their reasons.
3. ``start``: a durable workflow hands the orders to the normal intake in batches, waiting for
   each batch to settle; ``pause`` stops after the current batch, ``resume`` goes on from
   there (should the paused run still be finishing its batch, both hand out the same ids:
   intake ids and the cursor make that harmless). The connection's current settings apply.
   Orders already transferred are found as such by intake (one transfer per order), so a
   second run creates and counts nothing.

A backfill imports orders from before the integration's start date on purpose: intake with the
origin "backfill" does not apply the start date (the state must still be eligible).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dbos import DBOS, SetWorkflowID

from kobling.accounting.plan import DocumentPlan, plan_invoice
from kobling.connectors import registry
from kobling.connectors.http import CallLimitable
from kobling.domain.order import Order
from kobling.engine.connectors import call_interval, connection, source_for, target_for
from kobling.engine.eligibility import decide_eligibility, eligible_states
from kobling.engine.intake import start_intake
from kobling.engine.preview import preview
from kobling.engine.queues import WORK_QUEUE, queue
from kobling.engine.runtime import runtime
from kobling.engine.transfer import policy_for
from kobling.errors import PermanentError
from kobling.store import backfills, usage
from kobling.store import repository as repo
from kobling.store.repository import ConnectionConfig, transfer_key

BATCH = 50
WAIT_SECONDS = 300.0  # per batch, before handing out the next one anyway


@dataclass(frozen=True)
class Estimate:
    orders: int
    eligible: int
    already: int
    to_transfer: int
    problems: int
    target_calls: int
    seconds: float
    plan_left: int | None
    in_plan: int
    extra: int
    notes: list[str] = field(default_factory=list)
    duration: str = ""  # ``seconds`` in words: "about 2 h 5 min"
    # What the user must know before starting: an import beyond the target's fair use.
    warnings: list[str] = field(default_factory=list)


def progress_interval(counting: float) -> float:
    """Seconds until a watcher (the CLI's progress bar, the dashboard's import page) counts a
    backfill's progress again, given that counting took ``counting`` seconds.

    Counting looks up every order handed so far (about 5 µs each; 0.5 s at 100,000): every
    2 s, or less often for large imports, so that counting takes under 2 % of the time."""
    return max(2.0, 50 * counting)


@dataclass(frozen=True)
class Scan:
    """One pass over the shop: the chosen ids in order, the estimate, the first orders."""

    ids: list[str]
    estimate: Estimate
    first: list[dict[str, Any]]  # the first orders in full, for a dry run


def scan(
    connection_id: int,
    since: datetime,
    from_number: str = "",
    keep: int = 10,
    *,
    estimating: bool = True,
) -> Scan:
    """The chosen orders' ids and the estimate in one pass that keeps no order: about 0.3 KiB
    per order (id, sort key, the estimate's customer key), 28 MiB for 100,000 (measured,
    docs/benchmarks.md). The first ``keep`` orders (for a dry run) are fetched again by id
    afterwards. ``estimating=False`` only selects (the estimate stays empty)."""
    source = source_for(connection(connection_id))
    tally = _Tally()
    count = _counter(connection_id, tally) if estimating else (lambda _payload: None)
    chosen: list[tuple[datetime, tuple[int, str], str]] = []
    for payload in source.changed_orders(since):
        order = _normalized(source, payload)
        created = order.created_at if order is not None else since
        number = str(payload.get("number") or payload.get("id"))
        if created >= since and _from(number, from_number):
            source_id = str(payload.get("id"))
            chosen.append((created, _numeric(source_id), source_id))
            count(payload)
    chosen.sort(key=lambda item: (item[0], item[1]))
    ids = [source_id for _, _, source_id in chosen]
    first = [source.fetch_order(source_id) for source_id in ids[: max(0, keep)]]
    return Scan(ids, _estimate(connection_id, tally), first)


def _from(number: str, from_number: str) -> bool:
    if not from_number:
        return True
    if number.isdigit() and from_number.isdigit():
        return int(number) >= int(from_number)
    return number >= from_number


def _numeric(source_id: str) -> tuple[int, str]:
    return (int(source_id), "") if source_id.isdigit() else (0, source_id)


def _normalized(source: Any, payload: dict[str, Any]) -> Order | None:
    try:
        order: Order = source.normalize(payload)
    except PermanentError:
        return None
    return order


@dataclass
class _Tally:
    """The estimate's counts, kept while the orders stream past (nothing per order is kept
    but the customer and product keys, so 100,000 orders fit in little memory)."""

    orders: int = 0
    eligible: int = 0
    already: int = 0
    problems: int = 0
    documents: int = 0
    payments: int = 0
    customers: set[str] = field(default_factory=set)
    products: set[str] = field(default_factory=set)

    def add_plan(self, plan: DocumentPlan) -> None:
        self.documents += 1
        self.payments += 1 if plan.payment_method else 0
        self.customers.add(f"{plan.customer.match_field}:{plan.customer.match_value.lower()}")
        self.products.update(line.product_number for line in plan.lines if line.kind == "product")


def _counter(connection_id: int, tally: _Tally) -> Callable[[dict[str, Any]], None]:
    db = runtime().db
    cfg = connection(connection_id)
    source = source_for(cfg)
    states = eligible_states(cfg.settings)
    policy = policy_for(cfg.settings)

    def count(payload: dict[str, Any]) -> None:
        tally.orders += 1
        order = _normalized(source, payload)
        if order is None:
            tally.problems += 1
            return
        if not decide_eligibility(order, states, None).eligible:
            return
        tally.eligible += 1
        key = transfer_key(connection_id, "order", order.source_id, "invoice")
        found = repo.get_transfer(db, key)
        if found is not None and found.outcome == "done":
            tally.already += 1
            return
        try:
            tally.add_plan(plan_invoice(order, policy))
        except PermanentError:
            tally.problems += 1

    return count


def _estimate(connection_id: int, tally: _Tally) -> Estimate:
    db = runtime().db
    cfg = connection(connection_id)
    to_transfer = tally.eligible - tally.already
    book = cfg.settings.get("target", {}).get("invoice_mode", "book") == "book"
    calls, notes = _target_calls(cfg.target.id, tally, book)
    per_minute = _calls_per_minute(cfg)
    seconds = _seconds(cfg, to_transfer, calls, per_minute)
    spec = registry.get(cfg.target.kind)
    account_id = repo.account_of_connection(db, connection_id)
    month = usage.this_month(db, account_id, datetime.now(UTC))
    left = month.left
    in_plan = to_transfer if left is None else min(to_transfer, left)
    return Estimate(
        orders=tally.orders,
        eligible=tally.eligible,
        already=tally.already,
        to_transfer=to_transfer,
        problems=tally.problems,
        target_calls=calls,
        seconds=seconds,
        plan_left=left,
        in_plan=in_plan,
        extra=to_transfer - in_plan,
        notes=notes,
        duration=in_words(seconds),
        warnings=over_daily_budget(calls, spec.daily_call_budget, per_minute, spec.title),
    )


def _target_calls(target_id: int, tally: _Tally, book: bool) -> tuple[int, list[str]]:
    """Calls to the target: a look-up by reference, create, book and a payment per order, plus
    a look-up (and perhaps a create) per customer and product the target does not know yet."""
    db = runtime().db
    new_customers = [
        c for c in tally.customers if repo.get_binding(db, target_id, "customer", c) is None
    ]
    products = tally.products
    per_order = 2 + (1 if book else 0)
    payments = tally.payments
    calls = tally.documents * per_order + payments + 2 * len(new_customers) + 2 * len(products)
    notes = [
        f"{tally.documents} documents × {per_order} calls (look-up by reference, create"
        + (", book" if book else "")
        + f"), {payments} payments",
        f"{len(new_customers)} customers and {len(products)} products to look up or create "
        "(at most 2 calls each)",
    ]
    return calls, notes


def _seconds(cfg: ConnectionConfig, transfers: int, calls: int, per_minute: int | None) -> float:
    """At the target's own limit of calls a minute when it has one, else at the connector's
    pace."""
    if per_minute and calls:
        return round(calls * call_interval(per_minute), 1)
    limit = registry.get(cfg.target.kind).transfer_rate_limit
    if limit is None or transfers == 0:
        return 0.0
    return round(transfers * limit.period / limit.limit, 1)


def _calls_per_minute(cfg: ConnectionConfig) -> int | None:
    """The built target says what its limit is: the engine knows no connector's settings."""
    try:
        target = target_for(cfg)
    except ValueError:  # settings the connector refuses: the transfers will say so, with a fix
        return None
    return target.calls_per_minute if isinstance(target, CallLimitable) else None


MINUTES_A_DAY = 24 * 60


def over_daily_budget(
    calls: int, budget: int | None, per_minute: int | None, target: str
) -> list[str]:
    """A warning when an import needs more calls than the target's daily fair use and is not
    paced within it, with the pace that fits.

    e-conomic, for one, sends no 429 when an agreement goes over its 50,000 calls a day; it may
    restrict the integration instead. At Kobling's own pace (several transfers a second) a
    large import would spend days of that budget in hours."""
    if budget is None or calls <= budget:
        return []
    if per_minute is not None and per_minute * MINUTES_A_DAY <= budget:
        return []  # paced within fair use: the estimate's time already says how many days
    over = (
        f"This import needs about {calls:,} calls to {target}, more than its fair use of "
        f"{budget:,} calls a day, and {target} may restrict an integration that goes over it."
    )
    parts = "import by date in parts that each need fewer calls, one part a day."
    fits = budget // MINUTES_A_DAY
    if fits < 1:  # under one call a minute: no pace fits, only parts
        return [f"{over} Please {parts}"]
    pace = f" (now {per_minute})" if per_minute is not None else ""
    return [
        f"{over} Set 'calls per minute' in the {target} settings to at most {fits}{pace}, "
        f"fewer if your daily orders need calls too; the import then takes "
        f"{in_words(calls * call_interval(fits))}. Or {parts}"
    ]


def in_words(seconds: float) -> str:
    """A duration as people say it: "about 40 s", "about 2 h 5 min", "about 3 days 4 h"."""
    whole = round(seconds)
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        parts = [f"{days} day{'s' if days != 1 else ''}", f"{hours} h" if hours else ""]
    elif hours:
        parts = [f"{hours} h", f"{minutes} min" if minutes else ""]
    elif minutes:
        parts = [f"{minutes} min", f"{secs} s" if secs else ""]
    else:
        parts = [f"{secs} s"]
    return "about " + " ".join(p for p in parts if p)


def dry_run(connection_id: int, payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each order as ``kobling preview`` shows it (start date not applied), problems first."""
    cfg = connection(connection_id)
    shown = []
    for payload in payloads:
        result = preview(
            payload,
            cfg.settings,
            source_kind=cfg.source.kind,
            target_kind=cfg.target.kind,
        )
        problems = [f"{e['message']}; {e['fix']}".strip("; ") for e in result["errors"]]
        if not result["eligible"] and not problems:
            problems = [r for r in result["reasons"] if "not eligible" in r or "cancelled" in r]
        shown.append(
            {
                "id": str(payload.get("id")),
                "number": str(payload.get("number") or payload.get("id")),
                "eligible": result["eligible"],
                "problems": problems,
                "preview": result,
            }
        )
    return shown


# -- the run --------------------------------------------------------------------------------


def start(
    connection_id: int, since: datetime, from_number: str, order_ids: list[str], by: str
) -> int:
    backfill_id = backfills.create(runtime().db, connection_id, since, from_number, order_ids, by)
    _launch(backfill_id, connection_id, 0)
    return backfill_id


def pause(backfill_id: int) -> bool:
    return backfills.set_state(runtime().db, backfill_id, "paused", when=("running",))


def resume(backfill_id: int) -> bool:
    db = runtime().db
    row = backfills.get(db, backfill_id)
    if row is None or not backfills.set_state(db, backfill_id, "running", when=("paused",)):
        return False
    _launch(backfill_id, row.connection_id, row.cursor)
    return True


def _launch(backfill_id: int, connection_id: int, cursor: int) -> None:
    # A new workflow for each start and resume: only one caller can move the backfill from
    # paused to running (``set_state``), so a double click on "resume" starts one.
    run = uuid.uuid4().hex[:8]
    # Queued, not started here: the dashboard process may serve only the web.
    with SetWorkflowID(f"backfill:{backfill_id}:from-{cursor}:{run}"):
        queue(WORK_QUEUE).enqueue(backfill_workflow, backfill_id, connection_id)


@DBOS.workflow()
def backfill_workflow(backfill_id: int, connection_id: int) -> str:
    while True:
        cursor, ids = batch_step(backfill_id)
        if not ids:
            return finish_step(backfill_id)
        for source_id in ids:
            start_intake(
                connection_id, source_id, "backfill", f"backfill:{backfill_id}:{source_id}", None
            )
        advance_step(backfill_id, cursor + len(ids))
        wait_step(connection_id, ids)


@DBOS.step()
def batch_step(backfill_id: int) -> tuple[int, list[str]]:
    return backfills.next_batch(runtime().db, backfill_id, BATCH)


@DBOS.step()
def advance_step(backfill_id: int, cursor: int) -> None:
    backfills.advance(runtime().db, backfill_id, cursor)


@DBOS.step()
def wait_step(connection_id: int, ids: list[str]) -> None:
    """Until the batch's orders settled (bounded: a stuck order must not stop the backfill).

    Only the batch is counted: counting everything handed so far made each check, and so the
    whole backfill, slower the further it got."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if backfills.unsettled(runtime().db, connection_id, ids) == 0:
            return
        time.sleep(0.2)


@DBOS.step()
def finish_step(backfill_id: int) -> str:
    db = runtime().db
    row = backfills.get(db, backfill_id)
    assert row is not None
    if row.cursor >= len(row.order_ids):
        backfills.set_state(db, backfill_id, "finished", when=("running",))
        return "finished"
    return row.state
