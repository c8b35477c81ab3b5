"""``kobling demo``: a self-contained run of N sandbox orders through the whole engine.

The summary's last three numbers are read back from the target (the e-conomic simulator, or a
real local Tryton with ``--target tryton``), not from
Kobling's own records: the demo checks the promise (every eligible order once, to the cent)
against what the ledger actually holds.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from kobling.connectors.economic.sandbox import EconomicSandbox
from kobling.connectors.tryton.client import TrytonClient
from kobling.connectors.tryton.local import LocalTryton, running_sandbox
from kobling.connectors.woocommerce.sandbox import WooCommerceSandbox
from kobling.engine.launch import poll_now, start_engine, stop_engine
from kobling.engine.runtime import EngineTuning, configure
from kobling.sandbox import create_sandbox_integration, make_sandboxes, sandbox_app, tryton_ledger
from kobling.store import repository as repo
from kobling.web.server import free_port, serve_in_thread

DEMO_TUNING = EngineTuning(
    http_timeout=5.0,
    step_attempts=8,
    backoff_base=0.2,
    backoff_max=5.0,
    poll_lookback_seconds=600.0,
    queue_polling_interval=0.1,
    work_queue_polling_interval=0.1,
    intake_concurrency=8,
)


@dataclass(frozen=True)
class LedgerCheck:
    documents: int
    duplicates: int
    totals_mismatched: int


def check_ledger(woo: WooCommerceSandbox, documents: list[tuple[str, Decimal]]) -> LedgerCheck:
    """Compare the target's documents (reference, gross) with the shop's orders."""
    references = Counter(reference for reference, _ in documents)
    duplicates = sum(n - 1 for n in references.values() if n > 1)
    totals = {str(o["number"]): Decimal(str(o["total"])) for o in woo.orders()}
    mismatched = sum(1 for reference, gross in documents if totals.get(reference) != gross)
    return LedgerCheck(len(documents), duplicates, mismatched)


def economic_documents(economic: EconomicSandbox) -> list[tuple[str, Decimal]]:
    """Booked and draft invoices in the e-conomic simulator, by ``references.other``."""
    return [
        (str(d.get("references", {}).get("other", "")), Decimal(str(d.get("grossAmount"))))
        for d in economic.booked_invoices() + economic.draft_invoices()
    ]


def tryton_documents(local: LocalTryton) -> list[tuple[str, Decimal]]:
    """Customer invoices in Tryton (any state but cancelled), read over its REST API."""
    with TrytonClient(local.url, local.key, company=local.company) as client:
        found = client.search(
            "account.invoice",
            [("type", "=", "out"), ("state", "!=", "cancelled")],
            fields=["reference", "total_amount"],
        )
    return [(str(i["reference"]), Decimal(i["total_amount"])) for i in found]


def wait_until_settled(connection_id: int, expected: int, timeout: float) -> None:
    from kobling.engine.runtime import runtime

    db = runtime().db
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (
            repo.transfer_count(db, connection_id) >= expected
            and repo.unsettled_count(db, connection_id) == 0
        ):
            return
        time.sleep(0.2)
    raise TimeoutError(
        f"after {timeout:.0f} s, {repo.unsettled_count(db, connection_id)} transfers were "
        f"still in progress and {repo.transfer_count(db, connection_id)} of {expected} seen"
    )


def run_demo(
    orders: int,
    data_dir: Path,
    *,
    seed: int = 7,
    timeout: float = 600.0,
    target: str = "economic",
) -> dict[str, Any]:
    """The demo against the e-conomic simulator, or a real local Tryton (``target="tryton"``)."""
    if target == "tryton":
        with running_sandbox(data_dir / "tryton") as local:
            return _run(orders, data_dir, seed, timeout, local)
    return _run(orders, data_dir, seed, timeout, None)


def _run(
    orders: int, data_dir: Path, seed: int, timeout: float, tryton: LocalTryton | None
) -> dict[str, Any]:
    rt = configure(data_dir, tuning=DEMO_TUNING, executor_id="kobling-demo")
    server = None
    try:
        port = free_port()
        sandboxes = make_sandboxes(f"http://127.0.0.1:{port}", seed=seed)
        server = serve_in_thread(sandbox_app(sandboxes), port=port)
        now = datetime.now(UTC)
        connection_id = create_sandbox_integration(
            rt,
            sandboxes,
            start_date=now - timedelta(days=30),
            use_webhooks=False,
            ledger=tryton_ledger(tryton.directory) if tryton else None,
        )
        sandboxes.woo.generate_orders(orders, start=now - timedelta(days=40), end=now)
        start_engine(rt, schedules=False)
        poll_now(connection_id)
        wait_until_settled(connection_id, orders, timeout)
        counts = repo.outcome_counts(rt.db, connection_id)
        documents = tryton_documents(tryton) if tryton else economic_documents(sandboxes.economic)
        ledger = check_ledger(sandboxes.woo, documents)
        return {
            "orders": orders,
            "transferred": counts.get("done", 0),
            "skipped": repo.skip_reasons(rt.db, connection_id),
            "held": counts.get("held", 0),
            "failed": counts.get("failed", 0),
            "documents_in_target": ledger.documents,
            "duplicates_in_target": ledger.duplicates,
            "totals_mismatched": ledger.totals_mismatched,
        }
    finally:
        stop_engine(rt)
        if server is not None:
            server.stop()
