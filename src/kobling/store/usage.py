"""Usage against the plan: orders transferred per month, each order counted once.

An order counts when its invoice transfer first settles as done, in the same transaction
(``count_done_order``); the transfer key is unique in ``usage_records``, so a retry, a re-run or
a re-transfer of the same order never counts again. Extra orders (beyond the plan) are
computed per month rather than marked one by one, so two transfers finishing at once cannot
both take the last included order. Months are UTC months.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kobling.store.database import Database
from kobling.store.models import (
    Account,
    Connection,
    Integration,
    Snapshot,
    Transfer,
    UsageRecord,
    utcnow,
)

OVER_LIMIT = ("continue", "pause")


@dataclass(frozen=True)
class MonthUsage:
    month: str
    orders: int
    included: int | None  # the plan's orders; None: unlimited
    extra: int

    @property
    def left(self) -> int | None:
        return None if self.included is None else max(0, self.included - self.orders)


@dataclass(frozen=True)
class Plan:
    orders_per_month: int | None
    over_limit: str


def month_of(at: datetime) -> str:
    return at.strftime("%Y-%m")


def count_done_order(s: Session, transfer: Transfer) -> None:
    """Count an order whose invoice transfer is done, once (inside the settling transaction)."""
    if transfer.object_type != "order" or transfer.purpose != "invoice":
        return
    if s.scalar(select(UsageRecord.id).where(UsageRecord.transfer_key == transfer.key)):
        return
    account_id = s.scalar(
        select(Integration.account_id)
        .join(Connection, Connection.integration_id == Integration.id)
        .where(Connection.id == transfer.connection_id)
    )
    origin = s.scalar(
        select(Snapshot.data)
        .where(Snapshot.transfer_id == transfer.id, Snapshot.stage == "received")
        .order_by(Snapshot.id)
        .limit(1)
    )
    now = utcnow()
    s.add(
        UsageRecord(
            account_id=account_id,
            transfer_key=transfer.key,
            month=month_of(now),
            origin="backfill" if (origin or {}).get("origin") == "backfill" else "live",
            counted_at=now,
        )
    )


def plan(db: Database, account_id: int) -> Plan:
    with db.session() as s:
        account = s.get(Account, account_id)
        if account is None:
            raise LookupError(f"account {account_id} does not exist")
        return Plan(account.orders_per_month, account.over_limit or "continue")


def set_plan(db: Database, account_id: int, orders_per_month: int | None, over_limit: str) -> None:
    if over_limit not in OVER_LIMIT:
        raise ValueError(f"over_limit is {over_limit!r}: use continue or pause")
    if orders_per_month is not None and orders_per_month < 0:
        raise ValueError("orders per month cannot be negative: use 0 or more, or unlimited")
    with db.session() as s:
        account = s.get(Account, account_id)
        if account is None:
            raise LookupError(f"account {account_id} does not exist")
        account.orders_per_month = orders_per_month
        account.over_limit = over_limit


def orders_in_month(db: Database, account_id: int, month: str) -> int:
    with db.session() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(UsageRecord)
                .where(UsageRecord.account_id == account_id, UsageRecord.month == month)
            )
            or 0
        )


def history(db: Database, account_id: int) -> list[MonthUsage]:
    """Every month with orders, oldest first, with the extra orders beyond the current plan."""
    included = plan(db, account_id).orders_per_month
    query = (
        select(UsageRecord.month, func.count())
        .where(UsageRecord.account_id == account_id)
        .group_by(UsageRecord.month)
        .order_by(UsageRecord.month)
    )
    with db.session() as s:
        rows = [(str(month), int(n)) for month, n in s.execute(query)]
    return [_month(month, n, included) for month, n in rows]


def this_month(db: Database, account_id: int, now: datetime) -> MonthUsage:
    month = month_of(now)
    included = plan(db, account_id).orders_per_month
    return _month(month, orders_in_month(db, account_id, month), included)


def _month(month: str, orders: int, included: int | None) -> MonthUsage:
    extra = 0 if included is None else max(0, orders - included)
    return MonthUsage(month, orders, included, extra)


def is_counted(db: Database, key: str) -> bool:
    with db.session() as s:
        return s.scalar(select(UsageRecord.id).where(UsageRecord.transfer_key == key)) is not None
