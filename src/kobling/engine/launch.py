"""Starting and stopping the engine: DBOS, its queues and the per-connection schedules."""

from __future__ import annotations

import logging
from typing import Any

from dbos import DBOS, DBOSConfig, SetWorkflowID

from kobling.connectors.http import set_default_timeout
from kobling.engine import intake, polling, transfer  # noqa: F401  (registers workflows)
from kobling.engine.queues import register_queues
from kobling.engine.runtime import APPLICATION_VERSION, Runtime
from kobling.store import repository as repo

log = logging.getLogger("kobling.engine")


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
    if not rt.db.is_sqlite:
        config["dbos_system_schema"] = "dbos"
    return config


def start_engine(rt: Runtime, *, schedules: bool = True) -> None:
    """Launch DBOS (recovering this executor's unfinished workflows) and apply schedules."""
    set_default_timeout(rt.tuning.http_timeout)
    DBOS(config=dbos_config(rt))
    DBOS.launch()
    register_queues()
    rt.launched = True
    if schedules:
        apply_poll_schedules(rt)


def apply_poll_schedules(rt: Runtime) -> None:
    entries: list[Any] = []
    for connection_id in repo.active_connection_ids(rt.db):
        entries.append(
            {
                "schedule_name": f"poll-connection-{connection_id}",
                "workflow_fn": polling.poll_connection,
                "schedule": rt.tuning.poll_cron,
                "context": {"connection_id": connection_id},
            }
        )
    if entries:
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
