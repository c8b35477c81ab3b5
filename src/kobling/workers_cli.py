"""``kobling workers``: which processes run the engine, and recovery for one that is gone.

A worker killed on a machine that comes back recovers its own unfinished workflows when it
starts again under its executor id. A machine that is gone for good never does:
``kobling workers recover ID`` takes the dead worker's id (refused while it is alive), hands
its unfinished workflows back to their queues for the other workers, and lets the id go.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from kobling.cli_options import DataDir

workers_app = typer.Typer(help="Engine processes and their executor ids.", no_args_is_help=True)


@workers_app.command("list")
def workers_list(
    data_dir: DataDir = Path("var"),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Every executor id ever claimed: role, host, pid, last seen, and whether it stopped."""
    from kobling.engine.runtime import configure
    from kobling.engine.workflows import unfinished
    from kobling.store import workers

    rt = configure(data_dir)
    now = datetime.now(UTC)
    waiting = unfinished(rt) if (data_dir / "dbos.sqlite").exists() or not rt.db.is_sqlite else {}
    rows = [
        {
            "executor_id": w.executor_id,
            "role": w.role,
            "host": w.host,
            "pid": w.pid,
            "started_at": w.started_at.isoformat(),
            "seen_seconds_ago": int((now - w.seen_at).total_seconds()),
            "state": "stopped" if w.stopped_at else "running or killed",
            "running_workflows": sum(
                n
                for (e, status, _v), n in waiting.items()
                if e == w.executor_id and status == "PENDING"
            ),
        }
        for w in workers.listed(rt.db)
    ]
    versions: dict[str, int] = {}
    for (_e, _status, version), n in waiting.items():
        versions[version] = versions.get(version, 0) + n
    if as_json:
        typer.echo(json.dumps({"workers": rows, "unfinished_by_version": versions}))
        return
    for row in rows:
        typer.echo(
            f"{row['executor_id']:<28} {row['role']:<11} {row['host']}:{row['pid']:<8} "
            f"seen {row['seen_seconds_ago']} s ago, {row['state']}, "
            f"{row['running_workflows']} workflows running"
        )
    for version, n in sorted(versions.items()):
        typer.echo(f"unfinished workflows of {version or 'no version'}: {n}")
    if not versions:
        typer.echo("no unfinished workflows")


@workers_app.command("recover")
def workers_recover(
    executor_id: Annotated[str, typer.Argument(help="The executor id of the worker that is gone")],
    data_dir: DataDir = Path("var"),
) -> None:
    """Hand a gone worker's unfinished workflows to the other workers."""
    from dbos import DBOS

    from kobling.engine.launch import ExecutorIdTaken, start_engine, stop_engine
    from kobling.engine.runtime import configure

    rt = configure(data_dir, executor_id=executor_id)
    try:
        # Claims the id (refused while its worker is alive) and dequeues nothing itself.
        start_engine(rt, schedules=False, worker=False, role="recovery")
    except ExecutorIdTaken as taken:
        typer.echo(f"kobling workers recover: {taken}", err=True)
        raise typer.Exit(2) from None
    try:
        # DBOS's own recovery, the call its admin server makes for a dead executor: each
        # pending workflow goes back to its queue, where exactly one live worker takes it.
        handles = DBOS._recover_pending_workflows([executor_id])
    finally:
        stop_engine(rt)
    typer.echo(f"{len(handles)} unfinished workflows of {executor_id} handed to the workers")
