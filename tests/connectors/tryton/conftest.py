"""A real Tryton server for the tests marked ``tryton``.

Once per run: ``init_database`` into a temporary directory (module activation, ~20-30 s of
CPU). Under pytest-xdist that template is made once for all workers, by the first worker to
take a file lock in the run's shared temporary root (the others wait for it), in a thread
started when collection finds a test that needs it, so the workers run other tests meanwhile.

Then, per session (per xdist worker: each has its own directory, port and server): one
activated-and-set-up copy of the template's database file per test that asks for ``tryton``
(milliseconds each), then one ``trytond`` on a free loopback port serving all of them. Each test
gets its own database, so tests cannot see each other's invoices or closed periods.

The copies are made before the server starts because Tryton caches its list of databases
(for ``[session] timeout``, 5 min): a file copied later would answer 404 for that long.

Without ``.venv-tryton`` (``make tryton-env``) these tests skip with that reason.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from kobling.connectors.tryton.client import TrytonClient
from kobling.connectors.tryton.local import (
    INFO_FILE,
    PASSWORD_FILE,
    LocalTryton,
    TrytonLocalError,
    copy_database,
    find_venv,
    free_port,
    init_database,
    serve,
    stop,
    wait_until_listening,
    write_config,
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


def shared_template(root: Path, venv: Path) -> Path:
    """Under xdist: the run's template in ``root`` (the parent of the workers' ``popen-gwN``
    directories), made by the first worker to take the lock. A worker whose init failed leaves
    no ``INFO_FILE`` (and the lock, however it ended), so the next one starts over."""
    directory = root / "tryton-template"
    with (root / "tryton-template.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        if not (directory / INFO_FILE).is_file():
            shutil.rmtree(directory, ignore_errors=True)
            init_database(directory, port=free_port(), venv=venv)
    return directory


_template = pytest.StashKey[Future[Path]]()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Under xdist, start on the template at once, in a thread, when a test here will need it:
    its ~30 s (a subprocess) then pass while the worker runs other tests, and count towards no
    test's timeout."""
    if not os.environ.get("PYTEST_XDIST_WORKER") or not session.config.option.basetemp:
        return
    if not any(FIXTURE in getattr(item, "fixturenames", ()) for item in session.items):
        return
    try:
        venv = find_venv()
    except TrytonLocalError:
        return  # the tests skip, saying why
    root = Path(session.config.option.basetemp).resolve().parent
    executor = ThreadPoolExecutor(1, thread_name_prefix="tryton-template")
    session.config.stash[_template] = executor.submit(shared_template, root, venv)
    executor.shutdown(wait=False)  # the thread ends with the init; exit waits for it


def pytest_sessionfinish(session: pytest.Session) -> None:
    future = session.config.stash.get(_template, None)
    if future is not None:
        wait([future])  # never leave an init (a lock holder) half-done behind


def activated_template(request: pytest.FixtureRequest, venv: Path) -> Path:
    """The directory of this run's activated and set-up database (``init_database``): the
    shared one under xdist, else one made now in this session's temporary directory."""
    future = request.config.stash.get(_template, None)
    if future is not None:
        return future.result()
    tmp_path_factory: pytest.TempPathFactory = request.getfixturevalue("tmp_path_factory")
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return shared_template(tmp_path_factory.getbasetemp().parent, venv)
    directory = tmp_path_factory.mktemp("tryton-template")
    init_database(directory, port=free_port(), venv=venv)
    return directory


def own_copy(template: Path, directory: Path, port: int) -> LocalTryton:
    """This session's Tryton directory: its own config (path and port), the template's database
    file, admin password and info file (with this directory's paths and port)."""
    source = LocalTryton.load(template)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    config = write_config(directory, port)
    # SQLite's backup API, as copy_database: consistent even if a write-ahead log is pending.
    with (
        closing(sqlite3.connect(source.database_file)) as origin,
        closing(sqlite3.connect(directory / source.database_file.name)) as copy,
    ):
        origin.backup(copy)
    shutil.copy2(template / PASSWORD_FILE, directory / PASSWORD_FILE)
    info = {
        **source.info,
        "url": f"http://127.0.0.1:{port}/{source.database}/",
        "port": port,
        "directory": str(directory),
        "config_file": str(config),
        "database_file": str(directory / source.database_file.name),
        "admin_password_file": str(directory / PASSWORD_FILE),
    }
    (directory / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n")
    (directory / INFO_FILE).chmod(0o600)
    return LocalTryton.load(directory)


@pytest.fixture(scope="session")
def tryton_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TrytonServer]:
    venv = tryton_venv_or_skip()
    template = activated_template(request, venv)
    directory = tmp_path_factory.mktemp("tryton")
    port = free_port()
    local = own_copy(template, directory, port)
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
    work_queue_polling_interval=0.05,
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
