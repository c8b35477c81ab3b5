"""Starting and stopping the engine: DBOS, its queues and the per-connection schedules."""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Any

import sqlalchemy as sa
from dbos import DBOS, DBOSConfig, SetWorkflowID
from sqlalchemy import event

from kobling.connectors.http import set_default_timeout
from kobling.engine import (  # noqa: F401  (registers workflows)
    backfill,
    intake,
    notifications,
    polling,
    reconcile_schedule,
    transfer,
)
from kobling.engine.queues import WORK_QUEUE, register_queues
from kobling.engine.runtime import APPLICATION_VERSION, Runtime
from kobling.store import repository as repo
from kobling.store import workers

log = logging.getLogger("kobling.engine")


def sqlite_system_engine(url: str) -> sa.Engine:
    """DBOS's SQLite system database in WAL mode.

    DBOS opens SQLite with a rollback journal by default, where every checkpoint costs several
    fsyncs and readers block the writer; a transfer writes a few dozen checkpoints. WAL with
    ``synchronous=NORMAL`` survives a killed process intact; after a power cut the last
    checkpoints may be lost, which only makes a step run again, and every step that writes
    to a target looks up before it creates.
    """
    engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        # The same as DBOS's own engine (IMMEDIATE transactions serialize writers), plus WAL.
        dbapi_conn.isolation_level = "IMMEDIATE"
        dbapi_conn.execute("PRAGMA journal_mode=WAL")
        dbapi_conn.execute("PRAGMA synchronous=NORMAL")
        dbapi_conn.execute("PRAGMA busy_timeout=30000")
        dbapi_conn.execute("PRAGMA foreign_keys=ON")

    return engine


def dbos_config(rt: Runtime) -> DBOSConfig:
    config: DBOSConfig = {
        "name": "kobling",
        "system_database_url": rt.dbos_url,
        # Pinned: the default (a hash of the code) would strand in-flight workflows after an
        # upgrade (ARCHITECTURE, "Engine").
        "application_version": APPLICATION_VERSION,
        "executor_id": rt.executor_id,
        "scheduler_polling_interval_sec": rt.tuning.scheduler_interval,
        "log_level": "WARNING",
    }
    if rt.db.is_sqlite:
        config["system_database_engine"] = sqlite_system_engine(rt.dbos_url)
    else:
        config["dbos_system_schema"] = "dbos"
    return config


class ExecutorIdTaken(RuntimeError):
    """Another live process runs under this process's executor id."""


def _claim_executor_id(rt: Runtime, role: str) -> None:
    holder = workers.claim(rt.db, rt.executor_id, socket.gethostname(), os.getpid(), role)
    if holder is not None:
        raise ExecutorIdTaken(holder.explain())
    stop = threading.Event()
    rt.heartbeat = stop

    def _beat() -> None:
        while not stop.wait(workers.HEARTBEAT_SECONDS):
            try:
                workers.beat(rt.db, rt.executor_id, os.getpid())
            except Exception as exc:  # the database may be restarting; beat again later
                log.warning("heartbeat of %s failed: %s", rt.executor_id, exc)

    threading.Thread(target=_beat, name="kobling-heartbeat", daemon=True).start()


def start_engine(
    rt: Runtime, *, schedules: bool = True, worker: bool = True, role: str = ""
) -> None:
    """Launch DBOS (recovering this executor's unfinished workflows) and apply schedules.

    ``worker=False`` launches DBOS only to enqueue: the process dequeues nothing (polls,
    intakes, transfers and schedules run in ``kobling worker`` processes), as
    ``kobling run --no-worker`` does to serve the dashboard and webhooks on its own.
    """
    _claim_executor_id(rt, role or ("worker" if worker else "web"))
    set_default_timeout(rt.tuning.http_timeout)
    DBOS(config=dbos_config(rt))
    if not worker:
        DBOS.listen_queues([])
    DBOS.launch()
    register_queues()
    rt.launched = True
    _warn_of_other_versions(rt)
    if schedules:
        apply_poll_schedules(rt)


def _warn_of_other_versions(rt: Runtime) -> None:
    """Say so when unfinished workflows belong to another application version: no process of
    this version will run them, and a stranded transfer holds up its whole account."""
    from kobling.engine.workflows import unfinished

    others: dict[str, int] = {}
    for (_executor, _status, version), n in unfinished(rt).items():
        if version and version != APPLICATION_VERSION:
            others[version] = others.get(version, 0) + n
    for version, n in sorted(others.items()):
        log.warning(
            "%d unfinished workflows belong to %s, not to this %s: only processes of that "
            "version run them, so keep one running until they are done (docs/deploy.md, "
            "Upgrades)",
            n,
            version,
            APPLICATION_VERSION,
        )


def apply_poll_schedules(rt: Runtime) -> None:
    entries: list[Any] = []
    # Every connection is scheduled; a poll of one that is switched off does nothing. So
    # switching a connection on or off in the dashboard needs no change of schedules.
    for connection_id in repo.connection_ids(rt.db):
        entries.append(
            {
                "schedule_name": f"poll-connection-{connection_id}",
                "workflow_fn": polling.poll_connection,
                "schedule": rt.tuning.poll_cron,
                "context": {"connection_id": connection_id},
                "queue_name": WORK_QUEUE,
            }
        )
    entries.append(
        {
            "schedule_name": "notifications",
            "workflow_fn": notifications.notifications_workflow,
            "schedule": notifications.NOTIFICATIONS_CRON,
            "context": {},
            "queue_name": WORK_QUEUE,
        }
    )
    entries.append(
        {
            "schedule_name": "reconciliation",
            "workflow_fn": reconcile_schedule.reconciliation_workflow,
            "schedule": reconcile_schedule.RECONCILE_CRON,
            "context": {},
            "queue_name": WORK_QUEUE,
        }
    )
    DBOS.apply_schedules(entries)


def poll_now(connection_id: int, workflow_id: str | None = None) -> dict[str, Any]:
    """Run one poll of a connection right away and wait for it."""
    if workflow_id is None:
        return polling.poll_now(connection_id)
    with SetWorkflowID(workflow_id):
        return polling.poll_now(connection_id)


def stop_engine(rt: Runtime) -> None:
    if rt.launched:
        DBOS.destroy(destroy_registry=False)
        rt.launched = False
    if rt.heartbeat is not None:
        rt.heartbeat.set()
        rt.heartbeat = None
        workers.release(rt.db, rt.executor_id, os.getpid())
