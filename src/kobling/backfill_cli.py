"""`kobling backfill`: import previous orders — estimate, dry run, then the run with progress.

Without ``--yes`` nothing is transferred: the estimate (and with ``--dry-run`` each order's
preview) is shown. With ``--yes`` the engine runs in this process until the backfill is
finished; Ctrl-C pauses it after the current batch, and ``--resume ID`` goes on.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from datetime import UTC, date, datetime
from datetime import time as day_time
from pathlib import Path
from typing import Annotated, Any

import typer

from kobling.cli_options import DataDir


def parse_since(text: str) -> datetime:
    """``2026-01-31`` (midnight UTC) or an ISO date and time; a clear error otherwise."""
    try:
        if "T" in text:
            moment = datetime.fromisoformat(text)
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return datetime.combine(date.fromisoformat(text), day_time(0), tzinfo=UTC)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-01-01"
        ) from None


def backfill(
    connection: Annotated[str, typer.Option(help="The connection's name, e.g. sandbox-orders")],
    since: Annotated[str, typer.Option(help="Orders created on or after this date (YYYY-MM-DD)")],
    from_number: Annotated[str, typer.Option(help="Only orders from this number on")] = "",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Preview the orders")] = False,
    limit: Annotated[int, typer.Option(help="How many orders the dry run shows")] = 10,
    yes: Annotated[bool, typer.Option("--yes", help="Run it (after the estimate)")] = False,
    resume: Annotated[int | None, typer.Option(help="Resume the paused backfill ID")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
    data_dir: DataDir = Path("var"),
) -> None:
    """Import previous orders: estimate, dry run (--dry-run), run (--yes), resume (--resume)."""
    from kobling.engine import backfill as engine_backfill
    from kobling.engine.runtime import configure, default_executor_id
    from kobling.errors import TransferProblem
    from kobling.store import repository as repo

    if dry_run and yes:
        raise typer.BadParameter("choose --dry-run or --yes, not both")
    start = parse_since(since)
    # Its own executor id: `kobling run` may be running on the same data directory.
    rt = configure(data_dir, executor_id=default_executor_id(data_dir) + ":backfill")
    connection_id = repo.find_connection_id(rt.db, connection)
    if connection_id is None:
        names = ", ".join(
            c["name"] for i in repo.list_integrations(rt.db) for c in i["connections"]
        )
        typer.echo(
            f"no connection {connection!r}; the connections are: {names or 'none'}", err=True
        )
        raise typer.Exit(2)
    if resume is not None:
        _run(rt, lambda: engine_backfill.resume(resume) and resume, as_json, {})
        return
    try:
        found = engine_backfill.scan(
            connection_id, start, from_number, keep=max(0, limit) if dry_run else 0
        )
        estimate = found.estimate
        shown = engine_backfill.dry_run(connection_id, found.first) if dry_run else []
    except TransferProblem as problem:
        typer.echo(f"the shop could not be read: {problem.reason}", err=True)
        typer.echo(f"fix: {problem.fix or 'check the shop in the dashboard (Systems)'}", err=True)
        raise typer.Exit(1) from None
    result: dict[str, Any] = {"estimate": asdict(estimate)}
    if dry_run:
        result["dry_run"] = [{k: v for k, v in s.items() if k != "preview"} for s in shown]
    if not yes:
        _show(result, as_json)
        return
    ids = found.ids
    _run(
        rt,
        lambda: engine_backfill.start(connection_id, start, from_number, ids, "cli"),
        as_json,
        result,
    )


def _run(rt: Any, begin: Any, as_json: bool, result: dict[str, Any]) -> None:
    from kobling.engine import backfill as engine_backfill
    from kobling.engine.launch import start_engine, stop_engine
    from kobling.store import backfills

    start_engine(rt, schedules=False)
    try:
        backfill_id = begin()
        if not backfill_id:
            typer.echo("that backfill is not paused (or does not exist)", err=True)
            raise typer.Exit(2)
        try:
            progress = _follow(rt, backfill_id, quiet=as_json)
        except KeyboardInterrupt:
            engine_backfill.pause(backfill_id)
            progress = backfills.progress(rt.db, backfill_id)
            typer.echo(f"paused; go on with: kobling backfill --resume {backfill_id}", err=True)
        result.update({"backfill": backfill_id, "progress": asdict(progress)})
    finally:
        stop_engine(rt)
    _show(result, as_json)


def _follow(rt: Any, backfill_id: int, *, quiet: bool) -> Any:
    """Wait for the backfill to finish, with a progress bar unless ``quiet``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from kobling.engine import backfill as engine_backfill
    from kobling.store import backfills

    current = backfills.progress(rt.db, backfill_id)
    columns = (BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, disable=quiet, transient=True) as bar:
        task = bar.add_task("orders", total=current.total)
        counting = 0.0
        while current.state == "running" or current.pending:
            bar.update(task, completed=current.settled)
            time.sleep(engine_backfill.progress_interval(counting))
            began = time.monotonic()
            current = backfills.progress(rt.db, backfill_id)
            counting = time.monotonic() - began
        bar.update(task, completed=current.settled)
    return current


def _show(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result, default=str))
        return
    e = result["estimate"]
    typer.echo(
        f"{e['orders']} orders; {e['eligible']} eligible, {e['already']} already transferred, "
        f"{e['to_transfer']} to transfer, {e['problems']} with problems"
    )
    typer.echo(
        f"about {e['target_calls']} calls to the accounting system, {e['duration']} at its "
        f"rate limit; {e['in_plan']} count in this month's plan, {e['extra']} as extra orders"
    )
    for warning in e["warnings"]:
        typer.echo(f"warning: {warning}", err=True)
    for shown in result.get("dry_run", []):
        problems = "; ".join(shown["problems"]) or "ok"
        typer.echo(f"  order {shown['number']}: {problems}")
    if "progress" in result:
        p = result["progress"]
        typer.echo(
            f"backfill {result['backfill']} {p['state']}: {p['done']} done, {p['skipped']} "
            f"skipped, {p['held']} held, {p['failed']} failed of {p['total']}"
        )
    elif "dry_run" not in result:
        typer.echo("nothing transferred yet: add --dry-run to preview, --yes to run")
