"""A worker killed with SIGKILL in the middle of a transfer, and started again.

The worker is a real `kobling run` process. The e-conomic simulator runs in this test process
and kills the worker the moment it has stored the draft invoice, before its answer leaves:
the worst moment, a write the worker never learns about.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from kobling.engine import runtime as runtime_module
from kobling.engine.runtime import configure
from kobling.sandbox import create_sandbox_integration, make_sandboxes, sandbox_app
from kobling.store import repository as repo
from kobling.store.database import Database
from kobling.web.server import free_port, serve_in_thread

pytestmark = pytest.mark.slow


def start_worker(
    data_dir: Path, port: int, database_url: str, log: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "KOBLING_EXECUTOR_ID": "worker-1",
        "KOBLING_DATA_DIR": str(data_dir),
        "KOBLING_DATABASE_URL": database_url,
    }
    handle = log.open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "kobling", "run", "--port", str(port), "--no-sandbox"],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError(f"worker did not start:\n{log.read_text()[-3000:]}")


def test_killed_worker_resumes_without_repeating_or_duplicating(
    tmp_path: Path, database_url: str
) -> None:
    sim_port = free_port()
    sandboxes = make_sandboxes(f"http://127.0.0.1:{sim_port}")
    server = serve_in_thread(sandbox_app(sandboxes), port=sim_port)
    data_dir = tmp_path / "data"
    rt = configure(data_dir, database=database_url)
    connection_id = create_sandbox_integration(
        rt, sandboxes, start_date=datetime.now(UTC) - timedelta(days=1), use_webhooks=False
    )
    runtime_module.clear()
    now = datetime.now(UTC)
    [order] = sandboxes.woo.generate_orders(1, start=now, end=now, statuses={"processing": 1.0})

    victim: dict[str, subprocess.Popen[bytes]] = {}
    killed: list[str] = []

    def kill_after_draft(method: str, path: str, status: int) -> None:
        if (
            method == "POST"
            and path.startswith("/invoices/drafts")
            and status == 201
            and not killed
        ):
            killed.append(path)
            os.kill(victim["worker"].pid, signal.SIGKILL)

    sandboxes.economic.add_listener(kill_after_draft)
    log = tmp_path / "worker.log"
    worker_port = free_port()
    try:
        victim["worker"] = start_worker(data_dir, worker_port, database_url, log)
        assert victim["worker"].wait(timeout=60) == -signal.SIGKILL
        assert killed, "the worker was not killed mid-transfer"
        assert sandboxes.economic.draft_invoices() and not sandboxes.economic.booked_invoices()

        victim["worker"] = start_worker(data_dir, worker_port, database_url, log)
        db = Database(database_url)
        key = repo.transfer_key(connection_id, "order", str(order["id"]), "invoice")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            transfer = repo.get_transfer(db, key)
            if transfer is not None and transfer.outcome is not None:
                break
            time.sleep(0.2)
        db.dispose()
        assert transfer is not None and transfer.outcome == "done", log.read_text()[-3000:]
    finally:
        for process in victim.values():
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
        server.stop()

    booked = sandboxes.economic.booked_invoices()
    assert [b["references"]["other"] for b in booked] == [str(order["number"])]
    assert sandboxes.economic.draft_invoices() == []
    calls = Counter((method, path.split("?")[0]) for method, path, _ in sandboxes.economic.requests)
    # Steps completed before the kill ran once: one customer lookup and creation, one
    # draft; after the restart only the interrupted step looked up its draft and booked it.
    assert calls[("POST", "/customers")] == 1
    assert calls[("POST", "/invoices/drafts")] == 1
    assert calls[("POST", "/invoices/booked")] == 1
    customer_lookups = [
        p for m, p, _ in sandboxes.economic.requests if m == "GET" and p.startswith("/customers?")
    ]
    assert len(customer_lookups) == 1
