"""Rate-limit use: how close Kobling runs to a target's limit without hitting it.

The e-conomic simulator refuses (429 + Retry-After) a call beyond 60 in any 60 seconds
(``EconomicSandbox.limit_calls(60, 60.0)``, a test device), and the connection's target
setting ``calls_per_minute`` says 60. Enough orders are added at once to keep the target busy
for the whole measured interval (default 3 minutes); the interval starts at the first call to
e-conomic after the orders appear. Counted from the simulator's own request log, with the
wall-clock time of each request (a listener).
"""

from __future__ import annotations

import itertools
import math
import time
from typing import Any

from bench.harness import (
    Options,
    bench_run,
    database_label,
    markdown_table,
    new_orders,
    per_minute_counts,
    rate_per_minute,
    say,
)

LIMIT = 60


def measure(database_url: str | None, minutes: float) -> dict[str, Any]:
    # About 4-8 calls per order for new customers; at least 2 for anyone: never runs dry.
    orders = math.ceil(minutes * LIMIT / 2) + 20
    with bench_run(database_url, target_settings={"calls_per_minute": LIMIT}) as run:
        run.deploy()
        sandboxes, recorder = run.sims.sets[0], run.sims.recorders[0]
        sandboxes.economic.limit_calls(LIMIT, 60.0)  # a fresh window, after start-up calls
        added = time.time()
        new_orders(sandboxes, orders)
        while not recorder.since(added):
            if run.deployment is not None:
                run.deployment.check_alive()
            time.sleep(0.05)
        start = recorder.since(added)[0][0]
        end = start + minutes * 60.0
        say(f"rate limit: {orders} orders, measuring {minutes:g} min from the first call")
        while time.time() < end + 0.5:
            if run.deployment is not None:
                run.deployment.check_alive()
            time.sleep(0.5)
        calls = [c for c in recorder.since(added) if c[0] < end]
        refused_total = sandboxes.economic.rate_limited
        booked_in_window = sum(1 for t in recorder.bookings if start <= t < end)
        booked = recorder.booked()
    answered = [t for t, _m, _p, status in calls if status != 429]
    refused = [t for t, _m, _p, status in calls if status == 429]
    whole = int(minutes)
    per_minute = per_minute_counts(answered, start, whole) if whole else []
    gaps = [b - a for a, b in itertools.pairwise(answered)]
    return {
        "database": database_label(database_url),
        "minutes": minutes,
        "orders": orders,
        "calls": len(answered),
        "per_minute": rate_per_minute(answered, start, end),
        "per_minute_each": per_minute,
        "refused": len(refused),
        "refused_total": refused_total,
        "booked_in_window": booked_in_window,
        "left": orders - booked,
        "max_gap": max(gaps) if gaps else 0.0,
    }


def main(options: Options) -> str:
    minutes = options.rate_minutes or (1.0 if options.quick else 3.0)
    rows = []
    for url in options.databases:
        r = measure(url, minutes)
        say(f"  {r}")
        each = ", ".join(str(n) for n in r["per_minute_each"]) or "–"
        rows.append(
            [
                r["database"],
                f"{r['minutes']:g}",
                r["calls"],
                round(r["per_minute"], 1),
                each,
                r["refused"],
                r["refused_total"],
                r["booked_in_window"],
                r["left"],
                round(r["max_gap"], 2),
            ]
        )
    headers = [
        "database",
        "minutes busy",
        "calls answered",
        "calls/min sustained",
        "calls in each whole minute",
        "429s in the interval",
        "429s in the run",
        "invoices booked",
        "orders still queued at the end",
        "longest pause between calls (s)",
    ]
    return (
        f"### Rate-limit use (simulator limit {LIMIT} calls/min, connection "
        f"`calls_per_minute: {LIMIT}`)\n\n"
        + markdown_table(headers, rows, "lrrrlrrrrr")
        + "\n\nOne process (`kobling run`) on SQLite, web + one `kobling worker` on PostgreSQL. "
        "The aim: at least 57 calls a minute and no 429. Orders still queued at the end shows "
        "the target was kept busy through the interval."
    )
