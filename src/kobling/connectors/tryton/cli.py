"""``kobling tryton ...``: create, serve and check a local Tryton sandbox.

Registered in ``kobling.cli`` with::

    from kobling.connectors.tryton.cli import tryton_app
    app.add_typer(tryton_app, name="tryton")
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated

import typer

from kobling.connectors.tryton.local import (
    DEFAULT_PORT,
    LocalTryton,
    TrytonLocalError,
    configured_port,
    describe,
    existing_database,
    init_database,
    serve,
    stop,
    wait_until_listening,
)

tryton_app = typer.Typer(
    help="A local Tryton (accounting ERP) sandbox: its own virtualenv and server, over REST.",
    no_args_is_help=True,
)

Directory = Annotated[
    Path, typer.Argument(help="Directory of the Tryton database (config, SQLite file, key)")
]


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(1)


@tryton_app.command("init")
def init_command(
    directory: Directory,
    port: Annotated[int, typer.Option(help="Port the server will listen on")] = DEFAULT_PORT,
    country: Annotated[str, typer.Option(help="Company country (EU, ISO code)")] = "DK",
    currency: Annotated[str, typer.Option(help="Company currency: DKK, EUR or SEK")] = "DKK",
) -> None:
    """Create a Tryton database in DIR: modules, company, chart, fiscal years, taxes, REST key."""
    try:
        if existing_database(directory):
            init_database(directory)  # refuses, with the reason
        typer.echo(f"Creating a Tryton database in {directory.resolve()} (takes about 30 s) ...")
        local = init_database(directory, port=port, country=country, currency=currency)
    except TrytonLocalError as exc:
        raise _fail(exc) from None
    describe(local)


@tryton_app.command("serve")
def serve_command(
    directory: Directory,
    port: Annotated[
        int | None, typer.Option(help="Listen on this port instead of the configured one")
    ] = None,
) -> None:
    """Run the Tryton server for DIR on 127.0.0.1 until Ctrl-C."""
    try:
        local = LocalTryton.load(directory)
        listen = port or configured_port(local.directory)
        process = serve(local.directory, port=port)
    except TrytonLocalError as exc:
        raise _fail(exc) from None
    previous = signal.signal(signal.SIGTERM, lambda *_: stop(process))
    try:
        waited = wait_until_listening(listen, process=process)
        url = f"http://127.0.0.1:{listen}/{local.database}/"
        typer.echo(f"Tryton is serving {local.database} at {url} (ready in {waited:.1f} s)")
        typer.echo(f"REST: {url}rest/model/<model> with the key in {local.info_file}")
        process.wait()
    except TrytonLocalError as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        pass
    finally:
        stop(process)
        signal.signal(signal.SIGTERM, previous)


@tryton_app.command("status")
def status_command(directory: Directory) -> None:
    """Check that the server for DIR answers over REST with its key."""
    from kobling.connectors.tryton.client import TrytonClient
    from kobling.errors import TransferProblem

    try:
        local = LocalTryton.load(directory)
    except TrytonLocalError as exc:
        raise _fail(exc) from None
    with TrytonClient(local.url, local.key, company=local.company) as client:
        try:
            (company,) = client.search(
                "company.company", [("id", "=", local.company)], fields=["rec_name"]
            )
            invoices = client.search("account.invoice", [("state", "=", "posted")], fields=["id"])
        except TransferProblem as exc:
            typer.echo(f"error: {exc.reason}" + (f"\nfix: {exc.fix}" if exc.fix else ""), err=True)
            raise typer.Exit(1) from None
    typer.echo(f"{local.url}: company {company['rec_name']!r}, {len(invoices)} posted invoices")
