"""The ``kobling`` command line (Typer). Every command accepts ``--data-dir``."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from kobling.backfill_cli import backfill
from kobling.chaos.cli import chaos as chaos_command
from kobling.cli_options import DataDir
from kobling.connectors.tryton.cli import tryton_app
from kobling.domain.serialize import to_jsonable
from kobling.plan_cli import plan_app
from kobling.reconcile_cli import reconcile_command
from kobling.worker_cli import worker as worker_command
from kobling.workers_cli import workers_app

app = typer.Typer(
    help="Kobling: webshop orders into the books, exactly once.", no_args_is_help=True
)
transfers_app = typer.Typer(help="Inspect transfers.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
connections_app = typer.Typer(help="Connections and their settings.", no_args_is_help=True)
app.add_typer(connections_app, name="connections")
app.add_typer(tryton_app, name="tryton")
app.add_typer(transfers_app, name="transfers")
app.add_typer(db_app, name="db")
users_app = typer.Typer(help="Users of the dashboard and API tokens.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(plan_app, name="plan")
app.command("backfill")(backfill)
app.command("reconcile")(reconcile_command)
app.command("worker")(worker_command)
app.command("chaos")(chaos_command)
app.add_typer(workers_app, name="workers")


@app.command()
def run(
    data_dir: DataDir = Path("var"),
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    sandbox: Annotated[
        bool, typer.Option(help="Create the sandbox integration on first run and serve it")
    ] = True,
    trickle: Annotated[float, typer.Option(help="Seconds between new sandbox orders")] = 8.0,
    tryton: Annotated[
        Path | None,
        typer.Option(
            help="Connect the sandbox shop to a real local Tryton in this directory (created "
            "and served as needed) instead of the e-conomic simulator"
        ),
    ] = None,
    worker: Annotated[
        bool,
        typer.Option(
            help="Also run the engine's work in this process. --no-worker serves only the "
            "dashboard, API and webhooks; `kobling worker` processes do the work (PostgreSQL)"
        ),
    ] = True,
) -> None:
    """Web server and worker in one process, on the embedded defaults."""
    if tryton is not None:
        from kobling.connectors.tryton.local import running_sandbox

        with running_sandbox(tryton):
            _run(data_dir, host, port, sandbox, trickle, tryton, worker)
        return
    _run(data_dir, host, port, sandbox, trickle, None, worker)


def _run(
    data_dir: Path,
    host: str,
    port: int,
    sandbox: bool,
    trickle: float,
    tryton: Path | None,
    worker: bool,
) -> None:
    import uvicorn

    from kobling.engine.launch import ExecutorIdTaken, poll_now, start_engine, stop_engine
    from kobling.engine.polling import request_poll
    from kobling.engine.runtime import configure
    from kobling.sandbox import (
        CONNECTION_NAME,
        Trickle,
        create_sandbox_integration,
        make_sandboxes,
        tryton_ledger,
    )
    from kobling.store import repository as repo
    from kobling.web.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    public_url = os.environ.get("KOBLING_PUBLIC_URL", f"http://{host}:{port}")
    rt = configure(data_dir, public_url=public_url)
    mounts: dict[str, Any] = {}
    feeder = None
    sandboxes = None
    if sandbox:
        connection_id = repo.find_connection_id(rt.db, CONNECTION_NAME)
        first_id = repo.next_source_id(rt.db, connection_id, 1001) if connection_id else None
        sandboxes = make_sandboxes(public_url, first_id=first_id)
        mounts = sandboxes.mounts()
        if connection_id is None and repo.count_integrations(rt.db) == 0:
            ledger = tryton_ledger(tryton) if tryton is not None else None
            connection_id = create_sandbox_integration(rt, sandboxes, ledger=ledger)
        feeder = Trickle(sandboxes.woo, interval=trickle)
    web = create_app(mounts)
    config = uvicorn.Config(web, host=host, port=port, log_level="info", lifespan="off")
    server = uvicorn.Server(config)

    def after_start() -> None:
        # The engine starts once the web server listens, so webhook registration (which makes
        # the shop ping our /hooks URL) and the first poll can reach us.
        while not server.started and not server.should_exit:
            threading.Event().wait(0.05)
        try:
            start_engine(rt, worker=worker, role="web+worker" if worker else "web")
        except ExecutorIdTaken as taken:
            typer.echo(f"kobling run: {taken}", err=True)
            refused.append(taken)
            server.should_exit = True
            return
        for cid in repo.active_connection_ids(rt.db):
            try:
                if worker:
                    poll_now(cid)
                else:
                    request_poll(cid)
            except Exception as exc:  # the scheduled poll retries; say why here
                logging.getLogger("kobling").warning("first poll of connection %s: %s", cid, exc)
        if feeder is not None:
            feeder.start()
        typer.echo(f"Kobling is running: {public_url}")

    refused: list[ExecutorIdTaken] = []
    threading.Thread(target=after_start, name="kobling-engine-start", daemon=True).start()
    try:
        server.run()
    finally:
        if feeder is not None:
            feeder.stop()
        if sandboxes is not None:
            sandboxes.close()
        stop_engine(rt)
    if refused:
        raise typer.Exit(2)


@app.command()
def demo(
    orders: Annotated[int, typer.Option(help="How many sandbox orders to transfer")] = 50,
    target: Annotated[str, typer.Option(help="Target system")] = "economic",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Keep the demo's data here")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the order generator")] = 7,
) -> None:
    """Transfer N sandbox orders end to end and print a summary read back from the target."""
    from kobling.demo import run_demo

    if target not in ("economic", "tryton"):
        raise typer.BadParameter(
            f"unknown target {target!r}: choose 'economic' (simulator) or 'tryton' (a real "
            "local Tryton, built with `make tryton-env`)"
        )
    logging.basicConfig(level=logging.WARNING)
    if data_dir is None:
        with tempfile.TemporaryDirectory(prefix="kobling-demo-") as tmp:
            summary = run_demo(orders, Path(tmp), seed=seed, target=target)
    else:
        summary = run_demo(orders, data_dir, seed=seed, target=target)
    if as_json:
        typer.echo(json.dumps(summary, sort_keys=False))
        return
    typer.echo(f"{summary['orders']} sandbox orders:")
    typer.echo(f"  transferred  {summary['transferred']}")
    for reason, count in sorted(summary["skipped"].items()):
        typer.echo(f"  skipped      {count}  ({reason})")
    typer.echo(f"  held         {summary['held']}")
    typer.echo(f"  failed       {summary['failed']}")
    typer.echo(
        f"in {'Tryton' if target == 'tryton' else 'e-conomic'}: "
        f"{summary['documents_in_target']} invoices, "
        f"{summary['duplicates_in_target']} duplicates, "
        f"{summary['totals_mismatched']} with totals that differ from the shop"
    )


@app.command()
def preview(
    payload: Annotated[
        Path, typer.Option("--payload", help="An order exactly as the shop's API returns it")
    ],
    settings: Annotated[
        Path | None, typer.Option("--settings", help="Connection settings as JSON")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    source: Annotated[str, typer.Option(help="The system the payload comes from")] = (
        "woocommerce"
    ),
    target: Annotated[str, typer.Option(help="The system the document is planned for")] = (
        "economic"
    ),
) -> None:
    """Dry run of one payload through normalize, eligibility, map, validate and plan."""
    from decimal import Decimal

    from kobling.engine.preview import preview as run_preview
    from kobling.engine.settings import SettingsError

    try:
        order = json.loads(payload.read_text(), parse_float=Decimal)
        options = json.loads(settings.read_text()) if settings else {}
    except (OSError, ValueError) as exc:
        typer.echo(f"cannot read the input: {exc}", err=True)
        raise typer.Exit(2) from exc
    try:
        result = run_preview(order, options, source_kind=source, target_kind=target)
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    typer.echo(f"eligible: {result['eligible']}")
    for reason in result["reasons"]:
        typer.echo(f"  - {reason}")
    for error in result["errors"]:
        typer.echo(f"held: {error['message']}\n  fix: {error['fix']}")
    document = result["document"]
    if document:
        for line in document["lines"]:
            typer.echo(
                f"  {line['quantity']:>6} × {line['unit_price_net']:>10}  {line['vat_rate']:>5}%"
                f"  {line['sku']:<14} {line['description']}"
            )
        totals = document["totals"]
        typer.echo(f"  net {totals['net']}  vat {totals['vat']}  gross {totals['gross']}")


def _open(data_dir: Path) -> Any:
    from kobling.engine.runtime import configure

    return configure(data_dir)


@app.command()
def explain(
    order_number: Annotated[str, typer.Argument(help="The order number as the shop shows it")],
    connection: Annotated[
        str, typer.Option("--connection", help="The connection's name (`kobling connections list`)")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    data_dir: DataDir = Path("var"),
) -> None:
    """Why an order was transferred, or why not, in plain words (reads only, writes nothing)."""
    from kobling.connectors.base import CHECK_TIMEOUT
    from kobling.connectors.http import set_default_timeout
    from kobling.engine.explain import explain as run_explain
    from kobling.store import repository as repo

    rt = _open(data_dir)
    connection_id = repo.find_connection_id(rt.db, connection)
    if connection_id is None:
        names = repo.connection_names(rt.db)
        known = f"the connections are: {', '.join(names)}" if names else "there are none yet"
        typer.echo(f"no connection named {connection!r} in {data_dir}: {known}", err=True)
        typer.echo("fix: give one of them with --connection NAME", err=True)
        raise typer.Exit(2)
    # Someone waits for the answer: a shop that hangs is reported after seconds, not minutes.
    set_default_timeout(CHECK_TIMEOUT)
    result = run_explain(connection_id, order_number)
    if as_json:
        typer.echo(json.dumps(result.as_json(), indent=2, ensure_ascii=False))
        return
    typer.echo(result.title)
    for detail in result.details:
        typer.echo(f"  {detail}")
    if result.fix:
        typer.echo(f"Fix: {result.fix}")


@transfers_app.command("list")
def transfers_list(
    data_dir: DataDir = Path("var"),
    limit: Annotated[int, typer.Option(help="How many, newest first")] = 20,
    outcome: Annotated[str | None, typer.Option(help="done, skipped, held or failed")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The latest transfers with their outcome and reason."""
    from kobling.store import repository as repo

    rt = _open(data_dir)
    rows = repo.list_transfers(rt.db, limit=limit, outcome=outcome)
    if as_json:
        typer.echo(json.dumps([_row(t) for t in rows]))
        return
    for t in rows:
        typer.echo(
            f"{t.id:>6}  order {t.source_number or t.source_id:<10} {t.outcome or t.state:<8} "
            f"{t.target_document_id or '':<10} {t.reason}"
        )


@transfers_app.command("show")
def transfers_show(
    ident: Annotated[str, typer.Argument(help="Transfer id or key")],
    data_dir: DataDir = Path("var"),
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """One transfer with the data of every stage."""
    from kobling.store import repository as repo

    rt = _open(data_dir)
    found = repo.transfer_with_snapshots(rt.db, ident)
    if found is None:
        typer.echo(f"no transfer {ident!r}: see `kobling transfers list`", err=True)
        raise typer.Exit(1)
    transfer, snapshots = found
    data = {
        **_row(transfer),
        "stages": [
            {"stage": s.stage, "at": s.created_at.isoformat(), "data": s.data} for s in snapshots
        ],
    }
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    typer.echo(json.dumps({k: v for k, v in data.items() if k != "stages"}, indent=2))
    for stage in data["stages"]:
        typer.echo(f"--- {stage['stage']} ({stage['at']})")
        typer.echo(json.dumps(stage["data"], indent=2)[:4000])


@users_app.command("add")
def users_add(
    email: Annotated[str, typer.Argument(help="E-mail address (the sign-in name)")],
    role: Annotated[str, typer.Option(help="owner, member or read_only")] = "owner",
    account: Annotated[
        int | None, typer.Option(help="Account id (default: the first account)")
    ] = None,
    data_dir: DataDir = Path("var"),
) -> None:
    """Add a user; the password is read from standard input (never from the command line)."""
    from kobling.store import people
    from kobling.store import repository as repo

    rt = _open(data_dir)
    password = sys.stdin.readline().rstrip("\n")
    if len(password) < 10:
        typer.echo("the password (on standard input) must have at least 10 characters", err=True)
        raise typer.Exit(1)
    account_id = account or people.first_account_id(rt.db) or repo.create_account(rt.db, "Shop")
    person = people.create_user(rt.db, account_id, email, password, role)
    typer.echo(f"user {person.email} ({person.role}) added to account {person.account_id}")


@users_app.command("token")
def users_token(
    email: Annotated[str, typer.Argument(help="The user the token acts as")],
    name: Annotated[str, typer.Option(help="What the token is for")] = "cli",
    data_dir: DataDir = Path("var"),
) -> None:
    """Create an API token for a user and print it (shown once; only a digest is stored)."""
    from kobling.store import people

    rt = _open(data_dir)
    found = people.user_by_email(rt.db, email)
    if found is None:
        typer.echo(f"no active user {email!r}", err=True)
        raise typer.Exit(1)
    typer.echo(people.create_api_token(rt.db, found[0], name))


@connections_app.command("list")
def connections_list(data_dir: DataDir = Path("var")) -> None:
    """Integrations and their connections."""
    from kobling.store import repository as repo

    rt = _open(data_dir)
    for integration in repo.list_integrations(rt.db):
        typer.echo(f"{integration['name']} ({'active' if integration['active'] else 'inactive'})")
        for c in integration["connections"]:
            typer.echo(f"  {c['name']}: {c['entity']}s")


@connections_app.command("confirm-booking")
def connections_confirm_booking(
    name: Annotated[str, typer.Argument(help="Connection name")],
    data_dir: DataDir = Path("var"),
) -> None:
    """End the booking trial: the drafts were checked, book invoices from now on."""
    from kobling.engine.settings import validate_connection_settings
    from kobling.store import repository as repo

    rt = _open(data_dir)
    connection_id = repo.find_connection_id(rt.db, name)
    if connection_id is None:
        typer.echo(f"no connection {name!r}: see `kobling connections list`", err=True)
        raise typer.Exit(1)
    cfg = repo.load_connection(rt.db, rt.box, connection_id)
    settings = validate_connection_settings(
        cfg.source.kind, cfg.target.kind, {**cfg.settings, "booking_confirmed": True}
    )
    repo.update_connection_settings(rt.db, connection_id, settings)
    typer.echo(f"booking is on for {name}: new invoices are booked")


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = Path("var")) -> None:
    """Create or upgrade the database schema."""
    _open(data_dir)
    typer.echo("database is up to date")


@db_app.command("restored")
def db_restored(data_dir: DataDir = Path("var")) -> None:
    """Say the database was restored from a backup (run before starting Kobling again).

    Transfers made after the backup are missing from it, while their invoices are in the
    ledger; from now on every order created before this moment is looked up in the ledger by
    reference before anything is created for it, so none is booked twice.
    """
    from datetime import UTC, datetime

    from kobling.store import write_attempts

    rt = _open(data_dir)
    now = datetime.now(UTC)
    write_attempts.mark_restored(rt.db, now)
    typer.echo(
        f"marked restored at {now:%Y-%m-%d %H:%M:%S} UTC: orders created before then are "
        "looked up in the ledger before anything is created for them"
    )


def _row(t: Any) -> dict[str, Any]:
    return {
        "id": t.id,
        "key": t.key,
        "order": t.source_number,
        "source_id": t.source_id,
        "state": t.state,
        "outcome": t.outcome,
        "stage": t.stage,
        "reason": t.reason,
        "fix": t.fix,
        "document": t.target_document_id,
        "attempts": t.attempts,
        "updated_at": to_jsonable(t.updated_at),
    }


def main() -> None:
    # httpx logs every request URL at INFO: URLs can carry customer e-mails (lookups) and,
    # for shops using query-string authentication, the consumer secret. Never log them.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # SIGTERM ends `kobling run` like Ctrl-C, so DBOS shuts down cleanly.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    app()


if __name__ == "__main__":
    main()
