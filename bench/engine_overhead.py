"""Engine overhead: orders per second end to end with zero-latency simulators.

An order appears in the shop (no webhook: the 2-second poll finds it) and ends as an invoice
booked in the e-conomic simulator; the clock runs from adding the orders to the last booking.
No faults, no rate limit. Transfers to one target account run one at a time by design
(``transfer_partition_concurrency = 1``), so one integration measures the per-account pace and
a second worker cannot raise it; with four integrations (four shops, four e-conomic agreements)
the accounts run side by side, which is what more workers are for.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench.harness import (
    BenchError,
    Options,
    bench_run,
    database_label,
    markdown_table,
    new_orders,
    say,
)


@dataclass(frozen=True)
class Setup:
    database_url: str | None
    workers: int
    integrations: int

    @property
    def processes(self) -> str:
        if self.database_url is None:
            return "1 × `kobling run`"
        return f"web + {self.workers} × `kobling worker`"


def setups(options: Options) -> list[Setup]:
    found: list[Setup] = []
    for url in options.databases:
        for integrations in (1, 4):
            for workers in (1,) if url is None else (1, 2):
                found.append(Setup(url, workers, integrations))
    return found


def measure(setup: Setup, orders: int) -> dict[str, object]:
    with bench_run(setup.database_url, integrations=setup.integrations) as run:
        run.deploy(workers=setup.workers)
        share = [orders // setup.integrations] * setup.integrations
        share[0] += orders - sum(share)
        time.sleep(1.0)  # let the first polls (nothing to find) pass
        started = time.time()
        for sandboxes, n in zip(run.sims.sets, share, strict=True):
            new_orders(sandboxes, n)
        run.wait_booked(orders, timeout=120 + orders * 2.0)
        bookings = run.sims.booking_times()
        calls = sum(len(r.since(started)) for r in run.sims.recorders)
        run.wait_settled(orders)
        outcomes = run.outcomes()
    elapsed = bookings[-1] - started
    steady = (len(bookings) - 1) / (bookings[-1] - bookings[0]) if len(bookings) > 1 else 0.0
    return {
        "database": database_label(setup.database_url),
        "processes": setup.processes,
        "accounts": setup.integrations,
        "orders": orders,
        "done": outcomes.get("done", 0),
        "seconds": round(elapsed, 1),
        "orders/s": round(orders / elapsed, 2),
        "first→last booking/s": round(steady, 2),
        "first booking after s": round(bookings[0] - started, 1),
        "e-conomic calls/order": round(calls / orders, 2),
    }


def main(options: Options) -> str:
    orders = 40 if options.quick else 300
    rows = []
    for setup in setups(options):
        say(
            f"engine overhead: {database_label(setup.database_url)}, {setup.processes}, "
            f"{setup.integrations} account(s), {orders} orders"
        )
        try:
            result = measure(setup, orders)
        except BenchError as exc:
            say(f"engine overhead: {setup} failed: {exc}")
            first_line = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
            label = database_label(setup.database_url)
            rows.append(
                [label, setup.processes, setup.integrations, orders, f"failed: {first_line}"]
                + ["–"] * 5
            )
            continue
        say(f"  {result}")
        rows.append(list(result.values()))
    headers = [
        "database",
        "processes",
        "target accounts",
        "orders",
        "done",
        "seconds",
        "orders/s",
        "orders/s first→last booking",
        "first booking after (s)",
        "e-conomic calls/order",
    ]
    return (
        "### Engine overhead (zero-latency simulators, no faults, no rate limit)\n\n"
        + markdown_table(headers, rows, "llrrrrrrrr")
        + "\n\nSeconds: from adding the orders to the shop to the last invoice booked (a poll "
        "every 2 s finds them). Orders are split evenly over the target accounts; each account "
        "is its own shop and e-conomic agreement, and transfers to one account run one at a "
        "time by design."
    )
