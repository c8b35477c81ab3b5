"""Who is e-mailed what, which alerts are open, and what happened since a moment (for mails)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select

from kobling.store.database import Database
from kobling.store.models import (
    Alert,
    Connection,
    Integration,
    NotificationPrefs,
    Snapshot,
    Transfer,
    User,
    utcnow,
)

ERRORS = ("off", "immediate", "hourly", "daily")
REPORTS = ("off", "daily", "weekly")


@dataclass(frozen=True)
class Recipient:
    user_id: int
    email: str
    role: str
    errors: str
    reports: str
    errors_sent_at: datetime | None
    report_sent_at: datetime | None


@dataclass(frozen=True)
class ErrorEvent:
    transfer_id: int
    number: str
    object_type: str
    outcome: str
    reason: str
    fix: str
    at: datetime


def set_prefs(db: Database, user_id: int, errors: str, reports: str) -> None:
    if errors not in ERRORS or reports not in REPORTS:
        raise ValueError(
            f"errors must be one of {', '.join(ERRORS)} and reports one of {', '.join(REPORTS)}"
        )
    with db.session() as s:
        row = s.get(NotificationPrefs, user_id) or NotificationPrefs(user_id=user_id)
        row.errors, row.reports = errors, reports
        s.add(row)


def recipients(db: Database, account_id: int) -> list[Recipient]:
    """Active users of the account with their preferences (defaults where none were set)."""
    query = (
        select(User, NotificationPrefs)
        .outerjoin(NotificationPrefs, NotificationPrefs.user_id == User.id)
        .where(User.account_id == account_id, User.active.is_(True))
        .order_by(User.id)
    )
    with db.session() as s:
        return [
            Recipient(
                u.id,
                u.email,
                u.role,
                p.errors if p else "immediate",
                p.reports if p else "off",
                p.errors_sent_at if p else None,
                p.report_sent_at if p else None,
            )
            for u, p in s.execute(query)
        ]


def mark_sent(
    db: Database, user_id: int, *, errors: datetime | None, report: datetime | None
) -> None:
    with db.session() as s:
        row = s.get(NotificationPrefs, user_id)
        if row is None:
            row = NotificationPrefs(user_id=user_id, errors="immediate", reports="off")
            s.add(row)
        if errors is not None:
            row.errors_sent_at = errors
        if report is not None:
            row.report_sent_at = report


# -- alerts -------------------------------------------------------------------------------------


def open_alerts(db: Database, account_id: int) -> list[Alert]:
    with db.session() as s:
        query = select(Alert).where(Alert.account_id == account_id, Alert.resolved_at.is_(None))
        return list(s.scalars(query.order_by(Alert.id)))


def raise_alert(
    db: Database, account_id: int, cause: str, subject: str, detail: str, fix: str, link: str
) -> Alert | None:
    """Open an alert for ``cause`` unless one is open already (then None: no second mail)."""
    with db.session() as s:
        exists = s.scalar(
            select(Alert.id).where(
                Alert.account_id == account_id, Alert.cause == cause, Alert.resolved_at.is_(None)
            )
        )
        if exists is not None:
            return None
        alert = Alert(
            account_id=account_id, cause=cause, subject=subject, detail=detail, fix=fix, link=link
        )
        s.add(alert)
        s.flush()
        return alert


def resolve_alerts(db: Database, account_id: int, present: Iterable[str]) -> list[str]:
    """Resolve the open alerts whose cause is gone; their causes."""
    still = set(present)
    resolved = []
    with db.session() as s:
        query = select(Alert).where(Alert.account_id == account_id, Alert.resolved_at.is_(None))
        for alert in s.scalars(query):
            if alert.cause not in still:
                alert.resolved_at = utcnow()
                resolved.append(alert.cause)
    return resolved


def mark_alert_mailed(db: Database, alert_id: int) -> None:
    with db.session() as s:
        alert = s.get(Alert, alert_id)
        if alert is not None:
            alert.mailed_at = utcnow()


# -- what happened -------------------------------------------------------------------------------


def _account_snapshots(
    account_id: int, since: datetime, stages: tuple[str, ...]
) -> Select[str, datetime, Transfer]:
    return (
        select(Snapshot.stage, Snapshot.created_at, Transfer)
        .join(Transfer, Transfer.id == Snapshot.transfer_id)
        .join(Connection, Connection.id == Transfer.connection_id)
        .join(Integration, Integration.id == Connection.integration_id)
        .where(
            Integration.account_id == account_id,
            Snapshot.created_at > since,
            Snapshot.stage.in_(stages),
        )
        .order_by(Snapshot.id)
    )


def errors_since(db: Database, account_id: int, since: datetime) -> list[ErrorEvent]:
    """Transfers that were held or failed after ``since`` (each time it happened)."""
    with db.session() as s:
        rows = s.execute(_account_snapshots(account_id, since, ("held", "failed")))
        return [
            ErrorEvent(
                t.id, t.source_number or t.source_id, t.object_type, stage, t.reason, t.fix, at
            )
            for stage, at, t in rows
        ]


def outcomes_since(db: Database, account_id: int, since: datetime) -> Counter[str]:
    """How the transfers that settled after ``since`` stand now: done, skipped, held, failed."""
    query = (
        select(Transfer.outcome, func.count())
        .join(Connection, Connection.id == Transfer.connection_id)
        .join(Integration, Integration.id == Connection.integration_id)
        .where(
            Integration.account_id == account_id,
            Transfer.state == "settled",
            Transfer.updated_at > since,
        )
        .group_by(Transfer.outcome)
    )
    with db.session() as s:
        return Counter({str(outcome): int(n) for outcome, n in s.execute(query)})
