"""``kobling worker``: a process that runs the engine's work and serves nothing.

Start as many as the machine has cores for, on as many machines as needed, against one
PostgreSQL (docs/deploy.md). Each needs an executor id of its own that stays the same across
restarts: DBOS recovers a killed worker's unfinished workflows when a worker with its id
starts again.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from kobling.cli_options import DataDir

ExecutorId = Annotated[
    str | None,
    typer.Option(
        "--executor-id",
        envvar="KOBLING_EXECUTOR_ID",
        help="This worker's stable, unique name (e.g. host-1). The same after every restart, "
        "never shared by two running processes. Default: host name and data directory.",
    ),
]


def worker(data_dir: DataDir = Path("var"), executor_id: ExecutorId = None) -> None:
    """Run polls, intakes, transfers and schedules until stopped (SIGTERM or Ctrl-C)."""
    from kobling.engine.launch import ExecutorIdTaken, start_engine, stop_engine
    from kobling.engine.runtime import configure

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # Webhooks are registered by workers, pointing at the web process's public address.
    public_url = os.environ.get("KOBLING_PUBLIC_URL", "http://127.0.0.1:8000")
    rt = configure(data_dir, executor_id=executor_id or None, public_url=public_url)
    stop = threading.Event()

    def _stop(_signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        start_engine(rt, role="worker")
    except ExecutorIdTaken as taken:
        typer.echo(f"kobling worker: {taken}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"Kobling worker {rt.executor_id} is running.")
    try:
        stop.wait()
    finally:
        # Workflows still running stay pending under this executor id and continue when a
        # worker with the same id starts again (their finished steps are not repeated).
        stop_engine(rt)
        typer.echo(f"Kobling worker {rt.executor_id} stopped.")
