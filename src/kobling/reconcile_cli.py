"""``kobling reconcile``: the shop's orders of a period against the accounting system's books.

Registered on the main app in ``cli.py``. Reading needs only the database and the two remote
systems; ``--repair`` also starts the engine (DBOS), as ``kobling demo`` does, under its own
executor id, so it never recovers the workflows of a ``kobling run`` on the same data.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from kobling.cli_options import DataDir
from kobling.connectors.jsonutil import dumps

REPAIR_TIMEOUT = 600.0


def _fail(message: str) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(2)


def _day(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        _fail(
            f"{option} {text!r} is not a date: write it as YYYY-MM-DD, e.g. {option} "
            f"{date.today().replace(day=1).isoformat()}"
        )


def _period(start: str, end: str) -> tuple[date, date]:
    first, last = _day("--from", start), _day("--to", end)
    if last < first:
        _fail(
            f"--from {first} comes after --to {last}: give the period's first day with --from "
            "and its last day with --to"
        )
    return first, last


def reconcile_command(
    connection: Annotated[
        str,
        typer.Option("--connection", help="The connection's name (see `kobling connections list`)"),
    ],
    start: Annotated[str, typer.Option("--from", help="First day of the period, YYYY-MM-DD")],
    end: Annotated[str, typer.Option("--to", help="Last day of the period (included)")],
    repair: Annotated[
        bool, typer.Option("--repair", help="Transfer what is missing, then say how it went")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    data_dir: DataDir = Path("var"),
) -> None:
    """Compare the shop's eligible orders and refunds of a period with the documents in the
    accounting system: what is missing, in it twice, or off by even a cent."""
    from kobling.engine.reconcile import reconcile, repair_missing, wait_for_repairs
    from kobling.engine.runtime import configure, default_executor_id
    from kobling.errors import PermanentError, TransientError
    from kobling.store import repository as repo

    first, last = _period(start, end)
    logging.basicConfig(level=logging.WARNING)
    rt = configure(data_dir, executor_id=f"{default_executor_id(data_dir)}:reconcile")
    connection_id = repo.find_connection_id(rt.db, connection)
    if connection_id is None:
        _fail(
            f"no connection {connection!r} in {data_dir}: see `kobling connections list "
            f"--data-dir {data_dir}` for the names"
        )
    try:
        found = reconcile(connection_id, first, last)
    except (PermanentError, TransientError) as problem:
        typer.echo(f"the reconciliation stopped: {problem.reason}", err=True)
        typer.echo(f"fix: {problem.fix}", err=True)
        raise typer.Exit(1) from problem
    report = found.report()
    if repair:
        from kobling.engine.launch import start_engine, stop_engine

        start_engine(rt, schedules=False)
        try:
            references = repair_missing(connection_id, found)
            report["repaired"] = wait_for_repairs(connection_id, found, references, REPAIR_TIMEOUT)
        finally:
            stop_engine(rt)
    for unreadable in found.unreadable:
        typer.echo(
            f"order {unreadable['source_id']} could not be read, so it is not in this check: "
            f"{unreadable['why']}; fix: {unreadable['fix']}",
            err=True,
        )
    if as_json:
        typer.echo(dumps(report).decode())
        return
    _print_table(found, report)


def _amount(value: Any, currency: str) -> str:
    return "—" if value is None else f"{value} {currency}"


def _print_rows(title: str, rows: list[dict[str, Any]]) -> None:
    typer.echo(f"{title}: {len(rows)}")
    for row in rows:
        order = f"order {row['order']}" if row["order"] else "no order of the period"
        found = ", ".join(
            f"{number} ({_amount(gross, row['currency'])})"
            for number, gross in zip(row["numbers"], row["found_gross"], strict=True)
        )
        typer.echo(
            f"  {row['kind']:<11} {order:<22} reference {row['reference']:<16} "
            f"expected {_amount(row['expected_gross'], row['currency'])}"
            + (f"  found {found}" if found else "")
        )
        typer.echo(f"      {row['why']}")


def _print_table(found: Any, report: dict[str, Any]) -> None:
    typer.echo(
        f"{found.connection_name} ({found.source_name} → {found.target_name}), "
        f"orders created {found.start} to {found.end}"
    )
    typer.echo(f"checked: {report['checked']} invoices and credit notes the shop's data calls for")
    _print_rows("missing", report["missing"])
    _print_rows("duplicated", report["duplicated"])
    _print_rows("mismatched", report["mismatched"])
    if "repaired" in report:
        typer.echo(f"repaired: {len(report['repaired'])}")
        for item in report["repaired"]:
            detail = item["reason"] or (f"document {item['document']}" if item["document"] else "")
            typer.echo(f"  {item['kind']:<11} reference {item['reference']:<16} {item['outcome']}")
            if detail:
                typer.echo(f"      {detail}" + (f"; fix: {item['fix']}" if item["fix"] else ""))
    if not (report["missing"] or report["duplicated"] or report["mismatched"]):
        typer.echo(f"All in {found.target_name} once, to the cent.")
