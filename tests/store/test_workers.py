"""Executor ids: one live process per id; a dead or stopped holder gives its id up."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from kobling.store import workers
from kobling.store.database import Database
from kobling.store.models import Worker

HOST = "host-a"


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def test_a_live_process_on_the_same_host_keeps_its_id(db: Database) -> None:
    other = os.getppid()  # alive: the process that started this test run
    assert workers.claim(db, "w1", HOST, other, "worker") is None
    holder = workers.claim(db, "w1", HOST, os.getpid(), "worker")
    assert holder is not None and holder.pid == other
    assert "--executor-id" in holder.explain() and "w1" in holder.explain()
    # A different id is free.
    assert workers.claim(db, "w2", HOST, os.getpid(), "worker") is None


def test_a_killed_process_gives_its_id_up_at_once_on_its_host(db: Database) -> None:
    assert workers.claim(db, "w1", HOST, _dead_pid(), "worker") is None
    assert workers.claim(db, "w1", HOST, os.getpid(), "worker") is None
    [row] = workers.listed(db)
    assert (row.executor_id, row.pid, row.stopped_at) == ("w1", os.getpid(), None)


def test_on_another_host_the_id_is_held_until_the_holder_is_not_seen(db: Database) -> None:
    assert workers.claim(db, "w1", "host-b", 4242, "worker") is None
    assert workers.claim(db, "w1", HOST, os.getpid(), "worker") is not None
    stale = datetime.now(UTC) - timedelta(seconds=workers.STALE_SECONDS + 5)
    with db.session() as s:
        s.execute(update(Worker).where(Worker.executor_id == "w1").values(seen_at=stale))
    assert workers.claim(db, "w1", HOST, os.getpid(), "worker") is None


def test_a_stopped_process_gives_its_id_up(db: Database) -> None:
    other = os.getppid()
    assert workers.claim(db, "w1", HOST, other, "worker") is None
    workers.release(db, "w1", other)
    assert workers.claim(db, "w1", HOST, os.getpid(), "worker") is None


def test_the_heartbeat_moves_only_the_holders_row(db: Database) -> None:
    assert workers.claim(db, "w1", HOST, os.getpid(), "worker") is None
    [before] = workers.listed(db)
    workers.beat(db, "w1", os.getpid() + 1)  # not the holder: nothing changes
    [unchanged] = workers.listed(db)
    assert unchanged.seen_at == before.seen_at
    workers.beat(db, "w1", os.getpid())
    [after] = workers.listed(db)
    assert after.seen_at > before.seen_at
