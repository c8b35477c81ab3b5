"""The daily reconciliation of every active connection, stored for the dashboard and the
status report's "missing". It reads the last ``reconcile_days`` days up to yesterday; a
connection whose shop or accounting system cannot be read gets a run with the error.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from dbos import DBOS

from kobling.engine.reconcile import reconcile
from kobling.engine.runtime import runtime
from kobling.errors import TransferProblem
from kobling.store import reconciliations
from kobling.store import repository as repo

RECONCILE_CRON = "0 30 3 * * *"  # daily at 03:30 UTC (seconds first, as DBOS reads it)


def period(today: date, days: int) -> tuple[date, date]:
    return today - timedelta(days=days), today - timedelta(days=1)


def reconcile_and_record(connection_id: int, start: date, end: date) -> int:
    """Reconcile one connection for the period and store the result (or the error)."""
    db = runtime().db
    try:
        result = reconcile(connection_id, start, end)
    except TransferProblem as problem:
        error = f"{problem.reason}. {problem.fix}".strip(". ")
        return reconciliations.record(db, connection_id, str(start), str(end), None, error)
    return reconciliations.record(db, connection_id, str(start), str(end), result.report())


@DBOS.workflow()
def reconciliation_workflow(scheduled_time: datetime, context: Any) -> int:
    runs = 0
    for connection_id in repo.active_connection_ids(runtime().db):
        reconcile_step(connection_id)
        runs += 1
    return runs


@DBOS.step()
def reconcile_step(connection_id: int) -> int:
    start, end = period(datetime.now(UTC).date(), runtime().tuning.reconcile_days)
    return reconcile_and_record(connection_id, start, end)
