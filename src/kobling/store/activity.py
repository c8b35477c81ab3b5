"""What an account's transfers did, day by day, and what needs a person: the home page's data.

Counted from the snapshots, which are an append-only log of every stage: a transfer that
settled on a day was *handled* that day; a "document" snapshot is a document *created* in the
target; "document updated", "reissued" and "credit note" are documents *updated*; a transfer
settling as held or failed is an *error*.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from kobling.store.models import Connection, Integration, Snapshot, Transfer
from kobling.store.scope import AccountScope

SETTLED = ("done", "skipped", "held", "failed")
ERRORS = ("held", "failed")
CREATED = ("document",)
UPDATED = ("document updated", "reissued", "credit note")


@dataclass
class Day:
    day: date
    handled: Counter[str] = field(default_factory=Counter)  # settled transfers by object type
    created: int = 0
    updated: int = 0
    errors: int = 0


def daily_activity(scope: AccountScope, days: int, today: date) -> list[Day]:
    """One ``Day`` for each of the ``days`` days up to and including ``today`` (UTC)."""
    first = today - timedelta(days=days - 1)
    result = {first + timedelta(days=n): Day(first + timedelta(days=n)) for n in range(days)}
    query = (
        select(Snapshot.stage, Snapshot.created_at, Transfer.object_type)
        .join(Transfer, Transfer.id == Snapshot.transfer_id)
        .join(Connection, Connection.id == Transfer.connection_id)
        .join(Integration, Integration.id == Connection.integration_id)
        .where(
            Integration.account_id == scope.account_id,
            Snapshot.created_at >= datetime.combine(first, time(), tzinfo=UTC),
            Snapshot.stage.in_(SETTLED + CREATED + UPDATED),
        )
    )
    with scope.db.session() as s:
        for stage, at, object_type in s.execute(query):
            day = result.get(at.astimezone(UTC).date())
            if day is not None:
                _count(day, stage, object_type)
    return list(result.values())


def _count(day: Day, stage: str, object_type: str) -> None:
    if stage in SETTLED:
        day.handled[object_type] += 1
    if stage in ERRORS:
        day.errors += 1
    elif stage in CREATED:
        day.created += 1
    elif stage in UPDATED:
        day.updated += 1
