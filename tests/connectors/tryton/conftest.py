"""A real Tryton server for the tests marked ``tryton``.

Once per session: ``init_database`` into a temporary directory (module activation, ~20-30 s),
then one activated-and-set-up copy of the database file per test that asks for ``tryton``
(milliseconds each), then one ``trytond`` on a free loopback port serving all of them. Each test
gets its own database, so tests cannot see each other's invoices or closed periods.

The copies are made before the server starts because Tryton caches its list of databases
(for ``[session] timeout``, 5 min): a file copied later would answer 404 for that long.

Without ``.venv-tryton`` (``make tryton-env``) these tests skip with that reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from kobling.connectors.tryton.client import TrytonClient
from kobling.connectors.tryton.local import (
    TrytonLocalError,
    copy_database,
    find_venv,
    free_port,
    init_database,
    serve,
    stop,
    wait_until_listening,
)
from kobling.engine import runtime as runtime_module
from kobling.engine.launch import start_engine, stop_engine
from kobling.engine.runtime import EngineTuning, configure
from kobling.sandbox import create_sandbox_integration, make_sandboxes, tryton_ledger
from kobling.web.app import create_app
from kobling.web.server import serve_in_thread
from tests.engine.conftest import Engine
from tests.support.databases import sqlite_url

FIXTURE = "tryton"


def tryton_venv_or_skip() -> Path:
    try:
        return find_venv()
    except TrytonLocalError as exc:
        pytest.skip(f"Tryton is not installed: {exc}")


@dataclass
class TrytonServer:
    directory: Path
    port: int
    key: str
    info: dict[str, Any]
    databases: Iterator[str]
    timings: dict[str, float]

    def url(self, database: str) -> str:
        return f"http://127.0.0.1:{self.port}/{database}/"


@dataclass
class TrytonDatabase:
    """One test's own database: a client with the key, and the ids the setup created."""

    name: str
    url: str
    client: TrytonClient
    info: dict[str, Any]
    directory: Path


@pytest.fixture(scope="session")
def tryton_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TrytonServer]:
    venv = tryton_venv_or_skip()
    directory = tmp_path_factory.mktemp("tryton")
    port = free_port()
    local = init_database(directory, port=port, venv=venv)
    wanted = sum(
        1 for item in request.session.items if FIXTURE in getattr(item, "fixturenames", ())
    )
    names = [f"test_{index}" for index in range(max(wanted, 1))]
    started = time.monotonic()
    for name in names:
        copy_database(directory, local.database, name)
    copy_s = time.monotonic() - started
    process = serve(directory, venv=venv, log=directory / "trytond.log", preload=False)
    try:
        ready_s = wait_until_listening(port, process=process)
        yield TrytonServer(
            directory=directory,
            port=port,
            key=local.key,
            info=dict(local.info),
            databases=iter(names),
            timings={**local.timings, "copy_databases_s": copy_s, "server_ready_s": ready_s},
        )
    finally:
        stop(process)


@pytest.fixture
def tryton(tryton_server: TrytonServer) -> Iterator[TrytonDatabase]:
    name = next(tryton_server.databases, None)
    if name is None:  # pragma: no cover - the session fixture counted the tests
        raise RuntimeError("no pre-copied Tryton database left; see conftest.py")
    url = tryton_server.url(name)
    client = TrytonClient(url, tryton_server.key, company=int(tryton_server.info["company"]))
    try:
        yield TrytonDatabase(
            name=name,
            url=url,
            client=client,
            info=tryton_server.info,
            directory=tryton_server.directory,
        )
    finally:
        client.close()


ENGINE_TUNING = EngineTuning(
    http_timeout=30.0,  # posting takes Tryton up to ~1.5 s; a timeout is not a fault here
    step_attempts=6,
    backoff_base=0.05,
    backoff_max=1.0,
    queue_polling_interval=0.05,
    scheduler_interval=1.0,
    poll_lookback_seconds=600.0,
    invoice_wait_interval=0.2,
    invoice_wait_checks=600,
)


def start_tryton_engine(
    tmp_path: Path, tryton: TrytonDatabase, *, start: datetime, settings: dict[str, Any]
) -> tuple[Engine, Callable[[], None]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    rt = configure(
        tmp_path / "data",
        public_url=url,
        tuning=ENGINE_TUNING,
        executor_id="tryton",
        database=sqlite_url(tmp_path / "data"),
    )
    sandboxes = make_sandboxes(url)
    server = serve_in_thread(create_app(sandboxes.mounts()), port=port)
    connection_id = create_sandbox_integration(
        rt,
        sandboxes,
        start_date=start,
        use_webhooks=False,
        ledger=tryton_ledger(tryton.directory, url=tryton.url),
        settings=settings,
    )
    start_engine(rt, schedules=False)

    def stop() -> None:
        stop_engine(rt)
        server.stop()
        sandboxes.close()
        runtime_module.clear()

    return Engine(rt, sandboxes, server, connection_id, wait_timeout=180.0), stop
