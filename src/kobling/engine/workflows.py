"""What DBOS holds unfinished, per executor and application version (for `kobling workers`)."""

from __future__ import annotations

from collections import Counter

from dbos import DBOSClient

from kobling.engine.runtime import Runtime

UNFINISHED = ["PENDING", "ENQUEUED"]


def unfinished(rt: Runtime) -> Counter[tuple[str, str, str]]:
    """Counts of unfinished workflows by (executor id, status, application version).

    PENDING ones run (or ran, until their process died) on that executor; ENQUEUED ones wait
    for any worker of their version.
    """
    from kobling.engine.launch import sqlite_system_engine

    engine = sqlite_system_engine(rt.dbos_url) if rt.db.is_sqlite else None
    client = DBOSClient(
        system_database_url=rt.dbos_url,
        system_database_engine=engine,
        dbos_system_schema="dbos",
    )
    try:
        rows = client.list_workflows(status=UNFINISHED, load_input=False, load_output=False)
        return Counter((w.executor_id or "", w.status, w.app_version or "") for w in rows)
    finally:
        client.destroy()
        if engine is not None:
            engine.dispose()
