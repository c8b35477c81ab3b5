"""An engine with both simulators on a loopback port, per test, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kobling.engine import runtime as runtime_module
from kobling.engine.launch import start_engine, stop_engine
from kobling.engine.runtime import EngineTuning, Runtime, configure
from kobling.sandbox import Sandboxes, create_sandbox_integration, make_sandboxes
from kobling.store import repository as repo
from kobling.web.app import create_app
from kobling.web.server import BackgroundServer, free_port, serve_in_thread

FAST = EngineTuning(
    http_timeout=1.5,
    step_attempts=10,
    backoff_base=0.05,
    backoff_max=1.0,
    queue_polling_interval=0.05,
    work_queue_polling_interval=0.05,
    scheduler_interval=1.0,
    poll_lookback_seconds=600.0,
    invoice_wait_interval=0.2,
    invoice_wait_checks=300,
)


@dataclass
class Engine:
    rt: Runtime
    sandboxes: Sandboxes
    server: BackgroundServer
    connection_id: int
    # A real accounting system (Tryton posts in about a second) needs longer than simulators.
    wait_timeout: float = 60.0

    def wait(self, condition: Callable[[], bool], timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout or self.wait_timeout)
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.05)
        raise AssertionError("condition not met in time")

    def settled(self, expected: int) -> bool:
        db = self.rt.db
        return (
            repo.transfer_count(db, self.connection_id) >= expected
            and repo.unsettled_count(db, self.connection_id) == 0
        )


@pytest.fixture
def engine(tmp_path: Path, database_url: str) -> Iterator[Engine]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    rt = configure(
        tmp_path / "data",
        public_url=url,
        tuning=FAST,
        executor_id="test-worker",
        database=database_url,
    )
    sandboxes = make_sandboxes(url)
    server = serve_in_thread(create_app(sandboxes.mounts()), port=port)
    connection_id = create_sandbox_integration(
        rt, sandboxes, start_date=datetime.now(UTC) - timedelta(days=30)
    )
    start_engine(rt, schedules=False)
    try:
        yield Engine(rt, sandboxes, server, connection_id)
    finally:
        stop_engine(rt)
        server.stop()
        sandboxes.close()
        runtime_module.clear()
