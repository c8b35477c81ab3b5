"""Executor ids claimed by live processes: one process per id, and who runs where.

A process claims its executor id when it starts the engine and shows it is alive by updating
``seen_at`` every :data:`HEARTBEAT_SECONDS`. Another process asking for the same id is refused
while the holder is alive: on the same host, while its pid runs; on another host, until it
has not been seen for :data:`STALE_SECONDS`. A process killed with SIGKILL can therefore be
restarted under its id at once on its own host, which is what recovery needs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from kobling.store.database import Database
from kobling.store.models import Worker

HEARTBEAT_SECONDS = 10.0
STALE_SECONDS = 45.0


@dataclass(frozen=True)
class Holder:
    """The live process that holds an executor id."""

    executor_id: str
    host: str
    pid: int
    seen_at: datetime

    def explain(self) -> str:
        return (
            f"another process runs as executor id {self.executor_id!r} (pid {self.pid} on "
            f"{self.host}, seen {self.seen_at:%Y-%m-%d %H:%M:%S} UTC): give each worker its own "
            "id with --executor-id or KOBLING_EXECUTOR_ID (docs/deploy.md), or stop the other"
        )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def _alive(row: Worker, host: str, now: datetime) -> bool:
    if row.stopped_at is not None:
        return False
    if row.host == host:
        return row.pid != os.getpid() and _pid_alive(row.pid)
    return now - row.seen_at < timedelta(seconds=STALE_SECONDS)


def claim(db: Database, executor_id: str, host: str, pid: int, role: str) -> Holder | None:
    """Take the executor id for this process; the live holder instead, if there is one."""
    now = datetime.now(UTC)
    try:
        with db.session() as s:
            row = s.get(Worker, executor_id, with_for_update=True)
            if row is not None and _alive(row, host, now):
                return Holder(row.executor_id, row.host, row.pid, row.seen_at)
            if row is None:
                s.add(
                    Worker(
                        executor_id=executor_id,
                        host=host,
                        pid=pid,
                        role=role,
                        started_at=now,
                        seen_at=now,
                    )
                )
            else:
                row.host, row.pid, row.role = host, pid, role
                row.started_at, row.seen_at, row.stopped_at = now, now, None
    except IntegrityError:  # claimed by a process that started at the same moment
        return claim(db, executor_id, host, pid, role)
    return None


def beat(db: Database, executor_id: str, pid: int) -> None:
    with db.session() as s:
        s.execute(
            update(Worker)
            .where(Worker.executor_id == executor_id, Worker.pid == pid)
            .values(seen_at=datetime.now(UTC))
        )


def release(db: Database, executor_id: str, pid: int) -> None:
    with db.session() as s:
        s.execute(
            update(Worker)
            .where(Worker.executor_id == executor_id, Worker.pid == pid)
            .values(stopped_at=datetime.now(UTC), seen_at=datetime.now(UTC))
        )


def listed(db: Database) -> list[Worker]:
    with db.session() as s:
        rows = list(s.scalars(select(Worker).order_by(Worker.executor_id)))
        s.expunge_all()
    return rows
