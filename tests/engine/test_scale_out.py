"""Three `kobling worker` processes and one `kobling run --no-worker` on one PostgreSQL.

The load spreads over the workers; a worker killed with SIGKILL while it holds workflows gets
them back when it starts again under the same executor id, and the web process runs none.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from kobling.chaos.processes import Process
from kobling.demo import check_ledger, economic_documents
from kobling.engine import runtime as runtime_module
from kobling.engine.runtime import TUNING_ENV, configure
from kobling.sandbox import Sandboxes, create_sandbox_integration, make_sandboxes, sandbox_app
from kobling.store import repository as repo
from kobling.store.database import Database
from kobling.store.scratch_databases import fresh_postgres_database
from kobling.web.server import free_port, serve_in_thread

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(900)]

ORDERS = 60
MORE = 20
TUNING = {
    "poll_cron": "*/2 * * * * *",
    "scheduler_interval": 1.0,
    "queue_polling_interval": 0.2,
    "backoff_base": 0.2,
    "backoff_max": 2.0,
    "http_timeout": 5.0,
}


@pytest.fixture
def postgres_url() -> Iterator[str]:
    base = os.environ.get("KOBLING_TEST_DATABASE_URL")
    if not base:
        pytest.skip("needs PostgreSQL (KOBLING_TEST_DATABASE_URL; `make test` starts one)")
    with fresh_postgres_database(base) as url:
        yield url


@pytest.fixture
def sandboxes() -> Iterator[Sandboxes]:
    port = free_port()
    boxes = make_sandboxes(f"http://127.0.0.1:{port}")
    server = serve_in_thread(sandbox_app(boxes), port=port)
    yield boxes
    server.stop()
    boxes.close()


def _rows(url: str, query: str, **params: object) -> list[tuple[object, ...]]:
    """Rows of a query on DBOS's own tables (schema ``dbos``), read with a fresh engine."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(query), params)]
    finally:
        engine.dispose()


def executors_of(url: str, status: str) -> Counter[str]:
    """DBOS's own record: which executor holds or ran how many workflows in ``status``."""
    query = (
        "SELECT executor_id, count(*) FROM dbos.workflow_status WHERE status = :status "
        "GROUP BY executor_id"
    )
    return Counter({str(e): int(str(n)) for e, n in _rows(url, query, status=status)})


def pending_ids(url: str, executor: str) -> set[str]:
    query = (
        "SELECT workflow_uuid FROM dbos.workflow_status "
        "WHERE status = 'PENDING' AND executor_id = :executor"
    )
    return {str(row[0]) for row in _rows(url, query, executor=executor)}


def statuses(url: str, ids: set[str]) -> dict[str, str]:
    query = "SELECT workflow_uuid, status FROM dbos.workflow_status WHERE workflow_uuid = ANY(:ids)"
    return {str(w): str(s) for w, s in _rows(url, query, ids=list(ids))}


def wait(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def kill_one_holding_work(workers: list[Process], url: str) -> tuple[Process, set[str]]:
    """SIGKILL the first worker seen holding unfinished workflows; what it still holds once
    it is dead is stranded until it (or a recovery for its id) returns."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for worker in workers:
            if worker.alive() and pending_ids(url, worker.name):
                worker.kill()
                held = pending_ids(url, worker.name)
                if held:
                    return worker, held
                worker.start()  # it finished them just before the kill: try again
                worker.wait_ready()
                break
        time.sleep(0.05)
    raise AssertionError("no worker was killed holding a workflow")


def test_three_workers_share_the_load_and_a_killed_one_recovers_its_work(
    tmp_path: Path, postgres_url: str, sandboxes: Sandboxes
) -> None:
    data_dir = tmp_path / "data"
    rt = configure(data_dir, database=postgres_url, executor_id="test-conductor")
    connection_id = create_sandbox_integration(
        rt, sandboxes, start_date=datetime.now(UTC) - timedelta(hours=1), use_webhooks=True
    )
    port = free_port()
    env = {
        **os.environ,
        "KOBLING_DATA_DIR": str(data_dir),
        "KOBLING_DATABASE_URL": postgres_url,
        "KOBLING_PUBLIC_URL": f"http://127.0.0.1:{port}",
        TUNING_ENV: json.dumps(TUNING),
    }
    web = Process(
        "web",
        ["run", "--no-sandbox", "--no-worker", "--port", str(port)],
        env | {"KOBLING_EXECUTOR_ID": "web"},
        tmp_path / "web.log",
        f"http://127.0.0.1:{port}/healthz",
    )
    workers = [
        Process(f"w{n}", ["worker"], env | {"KOBLING_EXECUTOR_ID": f"w{n}"}, tmp_path / f"w{n}.log")
        for n in (1, 2, 3)
    ]
    everyone = [web, *workers]
    try:
        for process in everyone:
            process.start()
        for process in everyone:
            process.wait_ready()
        # A second process under a running worker's id is refused, with the fix.
        twin = Process("twin", ["worker"], env | {"KOBLING_EXECUTOR_ID": "w1"}, tmp_path / "t.log")
        twin.start()
        assert twin.popen is not None and twin.popen.wait(timeout=60) == 2
        assert "another process runs as executor id 'w1'" in twin.tail()
        now = datetime.now(UTC)
        sandboxes.woo.generate_orders(
            ORDERS,
            start=now - timedelta(minutes=1),
            end=now,
            deliver_webhooks=True,
            statuses={"processing": 1.0},
        )
        victim, held = kill_one_holding_work(workers, postgres_url)
        # Nobody else takes a dead executor's workflows: they wait for its return.
        time.sleep(3)
        assert set(statuses(postgres_url, held).values()) == {"PENDING"}
        victim.start()
        victim.wait_ready()
        wait(
            lambda: (
                repo.transfer_count(rt.db, connection_id) >= ORDERS
                and repo.unsettled_count(rt.db, connection_id) == 0
            ),
            240,
            "every order settled",
        )
        recovered = statuses(postgres_url, held)
        assert set(recovered.values()) == {"SUCCESS"}, recovered

        # A worker whose machine is gone for good: its work is handed to the others.
        now = datetime.now(UTC)
        sandboxes.woo.generate_orders(
            MORE, start=now, end=now, deliver_webhooks=True, statuses={"processing": 1.0}
        )
        gone, stranded = kill_one_holding_work(workers, postgres_url)
        handed = subprocess.run(
            [sys.executable, "-m", "kobling", "workers", "recover", gone.name],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert handed.returncode == 0, handed.stderr[-2000:]
        assert f"unfinished workflows of {gone.name} handed to the workers" in handed.stdout
        wait(
            lambda: (
                repo.transfer_count(rt.db, connection_id) >= ORDERS + MORE
                and repo.unsettled_count(rt.db, connection_id) == 0
            ),
            240,
            "the gone worker's orders settled by the others",
        )
        assert set(statuses(postgres_url, stranded).values()) == {"SUCCESS"}
    finally:
        for process in everyone:
            process.stop()
        runtime_module.clear()

    db = Database(postgres_url)
    try:
        assert repo.outcome_counts(db, connection_id) == {"done": ORDERS + MORE}
    finally:
        db.dispose()
    ledger = check_ledger(sandboxes.woo, economic_documents(sandboxes.economic))
    assert (ledger.documents, ledger.duplicates, ledger.totals_mismatched) == (ORDERS + MORE, 0, 0)
    ran = executors_of(postgres_url, "SUCCESS")
    # Spread: every worker finished workflows of its own; the web process none.
    assert all(ran[w.name] > 0 for w in workers), ran
    assert ran["web"] == 0, ran
    assert victim.starts >= 2
    listed = subprocess.run(
        [sys.executable, "-m", "kobling", "workers", "list", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    roles = {w["executor_id"]: w["role"] for w in json.loads(listed.stdout)["workers"]}
    assert roles == {"web": "web", "w1": "worker", "w2": "worker", "w3": "worker"} | {
        gone.name: "recovery"
    }
