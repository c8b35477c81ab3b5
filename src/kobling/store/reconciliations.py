"""Stored reconciliation results: the dashboard's report and the status report's "missing"."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from kobling.store.database import Database
from kobling.store.models import Connection, Integration, ReconciliationRun


def record(
    db: Database,
    connection_id: int,
    start: str,
    end: str,
    report: dict[str, Any] | None,
    error: str = "",
) -> int:
    shown = report or {}
    with db.session() as s:
        row = ReconciliationRun(
            connection_id=connection_id,
            start=start,
            end=end,
            checked=int(shown.get("checked", 0)),
            missing=len(shown.get("missing", [])),
            duplicated=len(shown.get("duplicated", [])),
            mismatched=len(shown.get("mismatched", [])),
            report=shown,
            error=error,
        )
        s.add(row)
        s.flush()
        return row.id


def latest(db: Database, connection_id: int) -> ReconciliationRun | None:
    with db.session() as s:
        return s.scalar(
            select(ReconciliationRun)
            .where(ReconciliationRun.connection_id == connection_id)
            .order_by(ReconciliationRun.id.desc())
            .limit(1)
        )


def missing_in_account(db: Database, account_id: int) -> int | None:
    """What the latest run of each of the account's connections found missing (None: no run)."""
    newest = (
        select(func.max(ReconciliationRun.id))
        .join(Connection, Connection.id == ReconciliationRun.connection_id)
        .join(Integration, Integration.id == Connection.integration_id)
        .where(Integration.account_id == account_id, ReconciliationRun.error == "")
        .group_by(ReconciliationRun.connection_id)
    )
    with db.session() as s:
        counts = list(
            s.scalars(select(ReconciliationRun.missing).where(ReconciliationRun.id.in_(newest)))
        )
    return sum(counts) if counts else None
