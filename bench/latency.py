"""Latency from webhook to booked invoice, with zero-latency simulators.

Orders are created one at a time at a steady pace (default 2 a second, below the per-account
throughput, so no queue builds up); the shop simulator delivers ``order.created`` to Kobling's
``/hooks`` at once. Two clocks start: when the bench created the order (the simulator queues
the delivery then), and when Kobling's web process stored the receipt (``receipts.received_at``
in the store). The clock stops when the e-conomic simulator answered ``POST /invoices/booked``
for that order (a listener, ``time.time()``; same host, same clock). The scheduled poll runs at
its production default (every 5 minutes), so the webhook is what starts each transfer.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from bench.harness import (
    BenchError,
    Options,
    bench_run,
    database_label,
    markdown_table,
    new_orders,
    percentile,
    say,
)

# Production polling (every 5 minutes), fast queue pick-up as in the other figures.
LATENCY_TUNING: dict[str, Any] = {"scheduler_interval": 1.0, "queue_polling_interval": 0.1}
PACE = 2.0  # orders per second


def wait_for_webhooks(woo: Any, timeout: float = 60.0) -> None:
    """Until a worker has registered Kobling's webhooks in the shop."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(
            method == "POST" and path.split("?")[0].endswith("/webhooks") and status < 300
            for method, path, status in list(woo.requests)
        ):
            time.sleep(1.0)  # the other topics, and the ping
            return
        time.sleep(0.1)
    raise BenchError(f"no webhook registered in the shop within {timeout:.0f} s")


def measure(database_url: str | None, n: int) -> dict[str, Any]:
    from kobling.store import repository as repo

    with bench_run(database_url, use_webhooks=True) as run:
        sandboxes, recorder = run.sims.sets[0], run.sims.recorders[0]
        booked_at: dict[str, float] = {}
        lock = threading.Lock()

        def on_booked(moment: float) -> None:
            newest = sandboxes.economic.booked_invoices()[-1]
            reference = str((newest.get("references") or {}).get("other", ""))
            with lock:
                booked_at.setdefault(reference, moment)

        recorder.on_booked = on_booked
        run.deploy(tuning=LATENCY_TUNING)
        wait_for_webhooks(sandboxes.woo)
        say(f"latency: {n} orders at {PACE:g}/s, by webhook")
        created_at: dict[str, float] = {}
        began = time.monotonic()
        for index in range(n):
            time.sleep(max(0.0, began + index / PACE - time.monotonic()))
            moment = time.time()
            (order,) = new_orders(sandboxes, 1, deliver_webhooks=True)
            created_at[str(order["number"])] = moment
        run.wait_booked(n, timeout=120 + n)
        run.wait_settled(n)
        receipts: dict[str, float] = {}
        for receipt in repo.list_receipts(run.rt.db, run.connection_ids[0]):
            if receipt.object_id:
                stamp = receipt.received_at.timestamp()
                key = str(receipt.object_id)
                receipts[key] = min(stamp, receipts.get(key, stamp))
        outcomes = run.outcomes()
    with lock:
        booked = dict(booked_at)
    from_receipt = [booked[k] - receipts[k] for k in booked if k in receipts]
    from_created = [booked[k] - created_at[k] for k in booked if k in created_at]
    return {
        "database": database_label(database_url),
        "from_receipt": from_receipt,
        "from_created": from_created,
        "outcomes": outcomes,
    }


def stats_row(label: str, values: list[float]) -> list[Any]:
    if not values:
        return [label, 0, "–", "–", "–"]
    ms = [v * 1000 for v in values]
    return [label, len(ms), round(percentile(ms, 50)), round(percentile(ms, 95)), round(max(ms))]


def main(options: Options) -> str:
    n = 20 if options.quick else 120
    rows = []
    notes = []
    for url in options.databases:
        r = measure(url, n)
        rows.append(stats_row(f"{r['database']}: receipt stored → booked", r["from_receipt"]))
        rows.append(stats_row(f"{r['database']}: order created → booked", r["from_created"]))
        outcomes = ", ".join(f"{k}: {v}" for k, v in sorted(r["outcomes"].items()))
        notes.append(f"{r['database']} outcomes: {outcomes}")
        say(f"  {rows[-2]}\n  {rows[-1]}")
    return (
        f"### Latency, webhook → invoice booked ({PACE:g} orders/s, zero-latency simulators)\n\n"
        + markdown_table(["from", "n", "p50 (ms)", "p95 (ms)", "max (ms)"], rows, "lrrrr")
        + "\n\nOne process (`kobling run`) on SQLite, web + one `kobling worker` on PostgreSQL. "
        '"Receipt stored" is the web process\'s `received_at`; "order created" is when the '
        "shop simulator queued the delivery. " + "; ".join(notes) + "."
    )
