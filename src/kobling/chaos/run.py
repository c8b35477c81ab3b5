"""One chaos run: simulators with faults, real Kobling processes, random kills, a verdict.

The conductor (this process) serves the sandbox shop and the sandbox e-conomic on a loopback
port, creates the sandbox integration, and starts real ``kobling`` processes against it:
one ``kobling run`` (web, webhooks and work) on SQLite, or ``kobling run --no-worker`` plus
K ``kobling worker`` processes on PostgreSQL. While orders arrive, the network and the remotes
misbehave and the workers are killed. At the end the faults stop, the workers catch up, and
the engine's own reconciliation reads the books, with a second, independent count straight
from the simulator's ledger.
"""

from __future__ import annotations

import random
import shlex
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.exc import OperationalError

from kobling.chaos.processes import Killer, Process, deployment, process_env
from kobling.connectors.economic.sandbox import FAULT_KINDS as ECONOMIC_FAULTS
from kobling.demo import check_ledger, economic_documents
from kobling.engine import runtime as runtime_module
from kobling.engine.reconcile import reconcile
from kobling.engine.runtime import configure
from kobling.sandbox import Sandboxes, create_sandbox_integration, make_sandboxes, sandbox_app
from kobling.store import repository as repo
from kobling.web.server import free_port, serve_in_thread

# Worker timing for a run of minutes: polls every 3 s (they find what dropped webhooks
# missed), short back-off, a request timeout below the simulators' injected slow answers.
# Each poll reads back 30 s before the last window (the production 10 minutes would make every
# poll every 3 s re-read every order of the run); the hourly re-read of open orders, which
# guards against a shop that does not bump date_modified, is off: the simulator always does.
CHAOS_TUNING: dict[str, Any] = {
    "http_timeout": 1.0,
    "step_attempts": 20,
    "backoff_base": 0.2,
    "backoff_max": 3.0,
    "poll_cron": "*/3 * * * * *",
    "poll_lookback_seconds": 30.0,
    "reread_every_polls": 1_000_000,
    "scheduler_interval": 1.0,
    "queue_polling_interval": 0.2,
}
FAULT_RATE = 0.10
WEBHOOK_DUPLICATES, WEBHOOK_DROPS = 0.30, 0.10


@dataclass(frozen=True)
class ChaosPlan:
    orders: int
    workers: int = 1
    seed: int = 7
    # None: SQLite in the run's data directory (one process: web and worker).
    database_url: str | None = None
    # A shell command that restarts the PostgreSQL server (done once, halfway).
    restart_database: str | None = None
    timeout: float = 1800.0
    data_dir: Path | None = None


class ChaosError(RuntimeError):
    """The run could not be carried out (not: the run found a problem)."""


def run_chaos(plan: ChaosPlan) -> dict[str, Any]:
    if plan.workers > 1 and plan.database_url is None:
        raise ChaosError(
            "several workers need PostgreSQL: pass --database postgresql+psycopg://… "
            "(or set KOBLING_DATABASE_URL), or use --workers 1 on SQLite"
        )
    if plan.data_dir is not None:
        return _run(plan, plan.data_dir)
    with tempfile.TemporaryDirectory(prefix="kobling-chaos-") as tmp:
        return _run(plan, Path(tmp))


def _run(plan: ChaosPlan, base: Path) -> dict[str, Any]:
    started = time.monotonic()
    rng = random.Random(plan.seed)
    sim_port = free_port()
    sandboxes = make_sandboxes(f"http://127.0.0.1:{sim_port}", seed=plan.seed)
    server = serve_in_thread(sandbox_app(sandboxes), port=sim_port)
    data_dir = base / "data"
    rt = configure(data_dir, database=plan.database_url, executor_id="chaos-conductor")
    processes: list[Process] = []
    try:
        now = datetime.now(UTC)
        connection_id = create_sandbox_integration(
            rt, sandboxes, start_date=now - timedelta(hours=1), use_webhooks=True
        )
        processes, victims = _processes(plan, data_dir, base / "logs")
        _inject_faults(sandboxes, plan.seed)
        for process in processes:
            process.start()
        for process in processes:
            process.wait_ready()
        killer = Killer(victims, rng, min_gap=8.0, max_gap=20.0)
        killer.start()
        restarts = _feed_orders(plan, sandboxes, rng)
        # Kills go on while the workers catch up, until nine in ten orders are settled; the
        # rest settle in calm, so the run ends.
        _wait_for(rt.db, connection_id, plan.orders * 9 // 10, started + plan.timeout)
        killer.stop()
        for process in processes:
            if not process.alive():
                process.start()
        settled = _wait_for(rt.db, connection_id, plan.orders, started + plan.timeout, idle=True)
        faults = _faults_injected(sandboxes)
        sandboxes.woo.faults.clear()
        sandboxes.economic.faults.clear()
        return _verdict(plan, sandboxes, connection_id, now, settled) | {
            "kills": killer.kills,
            "database_restarts": restarts,
            "faults_injected": sum(faults.values()),
            "faults": dict(sorted(faults.items())),
            "processes": {p.name: p.starts for p in processes},
            "seconds": round(time.monotonic() - started),
        }
    except Exception:
        for process in processes:
            print(f"--- {process.name} (last lines)\n{process.tail()}", flush=True)
        raise
    finally:
        for process in processes:
            process.stop()
        server.stop()
        sandboxes.close()
        runtime_module.clear()


def _processes(plan: ChaosPlan, data_dir: Path, logs: Path) -> tuple[list[Process], list[Process]]:
    port = free_port()
    env = process_env(data_dir, plan.database_url, f"http://127.0.0.1:{port}", CHAOS_TUNING)
    started = deployment(
        env=env,
        port=port,
        logs=logs,
        workers=plan.workers,
        separate_web=plan.workers > 1,
        id_prefix="chaos",
    )
    return started.processes, started.workers


def _inject_faults(sandboxes: Sandboxes, seed: int) -> None:
    """10 % of requests fail (server errors, slow answers past the client's timeout, lost
    responses after a write, 429 with Retry-After); webhooks duplicated, dropped, reordered."""
    slow = CHAOS_TUNING["http_timeout"] + 0.5
    sandboxes.economic.faults.configure(
        rate=FAULT_RATE, kinds=ECONOMIC_FAULTS, seed=seed, timeout_delay=slow, retry_after=1
    )
    sandboxes.woo.faults.configure(
        rate=FAULT_RATE,
        kinds=("error500", "timeout", "rate_limit", "lost_response"),
        seed=seed,
        timeout_delay=slow,
        retry_after=1,
    )
    sandboxes.woo.faults.configure_webhooks(
        duplicate_rate=WEBHOOK_DUPLICATES, reorder=True, drop_rate=WEBHOOK_DROPS, seed=seed
    )


def _feed_orders(plan: ChaosPlan, sandboxes: Sandboxes, rng: random.Random) -> int:
    """New orders in small waves, as customers check out; PostgreSQL restarted halfway."""
    restarts = 0
    made = 0
    while made < plan.orders:
        wave = min(plan.orders - made, rng.randint(3, 12))
        now = datetime.now(UTC)
        sandboxes.woo.generate_orders(
            wave,
            start=now - timedelta(seconds=5),
            end=now,
            statuses={"processing": 0.85, "completed": 0.15},
            deliver_webhooks=True,
        )
        made += wave
        if restarts == 0 and plan.restart_database and made >= plan.orders // 2:
            _restart_database(plan.restart_database)
            restarts = 1
        time.sleep(rng.uniform(0.2, 1.0))
    return restarts


def _restart_database(command: str) -> None:
    done = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=180)
    if done.returncode != 0:
        raise ChaosError(f"restarting the database failed ({command}): {done.stderr[-500:]}")


def _wait_for(
    db: Any, connection_id: int, settled: int, deadline: float, *, idle: bool = False
) -> bool:
    """Until ``settled`` transfers are settled (and, if ``idle``, none is in progress),
    twice in a row."""
    calm = 0
    while time.monotonic() < deadline:
        try:
            seen = repo.transfer_count(db, connection_id)
            busy = repo.unsettled_count(db, connection_id)
        except OperationalError:  # the database is restarting
            seen, busy = 0, 1
        calm = calm + 1 if seen - busy >= settled and (busy == 0 or not idle) else 0
        if calm >= 2:
            return True
        time.sleep(1.0)
    return False


def _faults_injected(sandboxes: Sandboxes) -> Counter[str]:
    kinds: Counter[str] = Counter()
    for kind, _method, _path in sandboxes.economic.faults.injected:
        kinds[f"economic_{kind}"] += 1
    for _method, _path, kind in sandboxes.woo.faults.injected:
        kinds[f"woocommerce_{kind}"] += 1
    return kinds


def _verdict(
    plan: ChaosPlan, sandboxes: Sandboxes, connection_id: int, began: datetime, settled: bool
) -> dict[str, Any]:
    """Reconciliation (the engine's) and a direct count of the simulator's ledger."""
    result = reconcile(connection_id, began.date() - timedelta(days=1), datetime.now(UTC).date())
    ledger = check_ledger(sandboxes.woo, economic_documents(sandboxes.economic))
    return {
        "orders": plan.orders,
        "workers": plan.workers,
        "database": "postgresql" if plan.database_url else "sqlite",
        "settled": settled,
        "missing": len(result.missing),
        "duplicated": len(result.duplicated),
        "mismatched": len(result.mismatched),
        "ledger": {
            "invoices": ledger.documents,
            "duplicates": ledger.duplicates,
            "totals_mismatched": ledger.totals_mismatched,
        },
        "problems": (result.missing + result.duplicated + result.mismatched)[:20],
    }


def passed(summary: dict[str, Any]) -> bool:
    ledger = summary["ledger"]
    return bool(
        summary["settled"]
        and summary["missing"] == 0
        and summary["duplicated"] == 0
        and summary["mismatched"] == 0
        and ledger["invoices"] == summary["orders"]
        and ledger["duplicates"] == 0
        and ledger["totals_mismatched"] == 0
    )
