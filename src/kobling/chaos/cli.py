"""``kobling chaos``: the chaos run from the command line (docs/chaos.md)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer

from kobling.domain.serialize import to_jsonable


def chaos(
    orders: Annotated[int, typer.Option(min=1, help="How many sandbox orders to send")] = 300,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes (more than 1 needs PostgreSQL)")
    ] = 1,
    database: Annotated[
        str | None,
        typer.Option(
            envvar="KOBLING_DATABASE_URL",
            help="PostgreSQL URL (postgresql+psycopg://…); default SQLite in a temporary dir",
        ),
    ] = None,
    restart_database: Annotated[
        str | None,
        typer.Option(
            envvar="KOBLING_CHAOS_RESTART_DATABASE",
            help="Shell command that restarts the PostgreSQL server; run once, halfway",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of orders, faults and kills")] = 7,
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds")] = 1800.0,
    keep: Annotated[
        Path | None, typer.Option(help="Keep data and process logs in this directory")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Send orders through faults and killed workers; reconcile; exit 1 unless all is right."""
    from kobling.chaos.run import ChaosError, ChaosPlan, passed, run_chaos

    logging.basicConfig(level=logging.WARNING)
    if database is not None and not database.startswith("postgresql"):
        raise typer.BadParameter(
            f"--database must be a PostgreSQL URL (postgresql+psycopg://…), not {database!r}; "
            "leave it out for SQLite"
        )
    plan = ChaosPlan(orders, workers, seed, database, restart_database, timeout, keep)
    try:
        summary = run_chaos(plan)
    except ChaosError as exc:
        typer.echo(f"chaos: {exc}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(to_jsonable(summary)))
    else:
        for key in (
            "orders",
            "missing",
            "duplicated",
            "mismatched",
            "kills",
            "faults_injected",
            "database_restarts",
            "seconds",
        ):
            typer.echo(f"{key:>18}: {summary[key]}")
        typer.echo(f"{'verdict':>18}: {'all right' if passed(summary) else 'PROBLEMS'}")
    if not passed(summary):
        raise typer.Exit(1)
