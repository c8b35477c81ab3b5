"""Backfills in the store: create, hand out the next batch, pause, resume, progress."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update

from kobling.store.database import Database
from kobling.store.models import Backfill, Transfer
from kobling.store.repository import transfer_key

CHUNK = 500  # ids per IN (...) when counting progress


@dataclass(frozen=True)
class Progress:
    total: int
    handed: int  # handed to intake
    done: int
    skipped: int
    held: int
    failed: int
    pending: int  # handed, not settled yet
    state: str

    @property
    def settled(self) -> int:
        return self.done + self.skipped + self.held + self.failed


def create(
    db: Database,
    connection_id: int,
    since: datetime,
    from_number: str,
    order_ids: Sequence[str],
    requested_by: str,
) -> int:
    with db.session() as s:
        row = Backfill(
            connection_id=connection_id,
            since=since,
            from_number=from_number,
            order_ids=list(order_ids),
            cursor=0,
            state="running",
            requested_by=requested_by,
        )
        s.add(row)
        s.flush()
        return row.id


def get(db: Database, backfill_id: int) -> Backfill | None:
    with db.session() as s:
        return s.get(Backfill, backfill_id)


def for_connection(db: Database, connection_id: int) -> list[Backfill]:
    with db.session() as s:
        query = select(Backfill).where(Backfill.connection_id == connection_id)
        return list(s.scalars(query.order_by(Backfill.id.desc())))


def next_batch(db: Database, backfill_id: int, size: int) -> tuple[int, list[str]]:
    """Where the backfill stands and the next ids to hand to intake (none: paused or done)."""
    with db.session() as s:
        row = s.get(Backfill, backfill_id)
        if row is None or row.state != "running":
            return (row.cursor if row else 0), []
        return row.cursor, [str(i) for i in row.order_ids[row.cursor : row.cursor + size]]


def advance(db: Database, backfill_id: int, cursor: int) -> None:
    with db.session() as s:
        s.execute(
            update(Backfill)
            .where(Backfill.id == backfill_id, Backfill.cursor < cursor)
            .values(cursor=cursor)
        )


def set_state(db: Database, backfill_id: int, state: str, *, when: Sequence[str]) -> bool:
    """Move to ``state`` if the backfill is in one of ``when``; False if it was not."""
    with db.session() as s:
        done = s.execute(
            update(Backfill)
            .where(Backfill.id == backfill_id, Backfill.state.in_(list(when)))
            .values(state=state)
        )
        return bool(done.rowcount)  # type: ignore[attr-defined]


def progress(db: Database, backfill_id: int) -> Progress:
    row = get(db, backfill_id)
    if row is None:
        raise LookupError(f"backfill {backfill_id} does not exist")
    handed = [str(i) for i in row.order_ids[: row.cursor]]
    counts = _outcomes(db, row.connection_id, handed)
    settled = sum(counts[k] for k in SETTLED)
    return Progress(
        total=len(row.order_ids),
        handed=row.cursor,
        done=counts["done"],
        skipped=counts["skipped"],
        held=counts["held"],
        failed=counts["failed"],
        pending=len(handed) - settled,
        state=row.state,
    )


SETTLED = ("done", "skipped", "held", "failed")


def _outcomes(db: Database, connection_id: int, ids: Sequence[str]) -> Counter[str]:
    """Outcomes of the invoice transfers of these orders ("pending" for unsettled ones).

    Looked up by transfer key, through its unique index: a filter on the connection and the
    source id walks every transfer of the connection, which made each check of a batch, and
    each progress count, slower the further a large backfill got."""
    counts: Counter[str] = Counter()
    with db.session() as s:
        for start in range(0, len(ids), CHUNK):
            keys = [
                transfer_key(connection_id, "order", source_id, "invoice")
                for source_id in ids[start : start + CHUNK]
            ]
            query = (
                select(Transfer.state, Transfer.outcome, func.count())
                .where(Transfer.key.in_(keys))
                .group_by(Transfer.state, Transfer.outcome)
            )
            for state, outcome, n in s.execute(query):
                counts[str(outcome) if state == "settled" else "pending"] += int(n)
    return counts


def unsettled(db: Database, connection_id: int, ids: Sequence[str]) -> int:
    """How many of these orders have no settled invoice transfer yet (one batch's wait)."""
    counts = _outcomes(db, connection_id, ids)
    return len(ids) - sum(counts[k] for k in SETTLED)
