"""Memory: peak RSS of the Kobling process during a large backfill against the simulators.

The shop simulator (in the bench process) is filled with N orders from before the
integration's start date; ``kobling backfill --connection bench-0 --since … --yes --json`` then
imports them all, in its own process (it runs the engine itself: selection, estimate, batches
of 50 to intake and transfer). ``VmRSS`` and ``VmHWM`` of that process are read from
``/proc/<pid>/status`` every second and reported when the booked invoices pass 100, 200, 500,
1000, … so one can see whether memory stays flat. The bench process's own RSS (the simulators
holding every order, invoice and customer) is reported beside it.

The requested size is 100,000 orders, which takes hours at one account's pace; ``make bench``
uses a size that ends within about 15 minutes and projects the duration of 100,000 from the
measured rate. A long run may be stopped by hand (Ctrl-C, or SIGTERM to the bench): it then
reports the samples it has, with the last one.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.harness import (
    BenchError,
    Options,
    bench_run,
    checkpoints,
    database_label,
    format_seconds,
    markdown_table,
    read_status,
    say,
)

DEFAULT_ORDERS, QUICK_ORDERS, REQUESTED = 1000, 300, 100_000
GENERATE_CHUNK = 2000
# Queued work picked up within 0.1 s, as in the other figures. At the production default
# (1 s) one account's transfers start at most once a second, which caps a backfill at ~1/s.
BACKFILL_TUNING: dict[str, Any] = {"queue_polling_interval": 0.1, "scheduler_interval": 1.0}


@dataclass
class Sampler:
    """Every ``interval`` s: (time, invoices booked, Kobling's VmRSS/VmHWM, bench VmRSS)."""

    pid: int
    booked: Any  # () -> int
    interval: float = 1.0
    samples: list[tuple[float, int, int, int, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        threading.Thread(target=self._run, name="bench-rss", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        self.sample()

    def sample(self) -> None:
        mine = read_status(os.getpid()).get("VmRSS", 0)
        theirs = read_status(self.pid)
        if theirs:
            self.samples.append(
                (time.time(), self.booked(), theirs["VmRSS"], theirs["VmHWM"], mine)
            )

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()


def fill_shop(woo: Any, n: int, now: datetime) -> None:
    """``n`` eligible orders created 40 to 1 days ago, oldest first, in chunks."""
    start, end = now - timedelta(days=40), now - timedelta(days=1)
    span = (end - start) / max(1, (n + GENERATE_CHUNK - 1) // GENERATE_CHUNK)
    made, moment = 0, start
    while made < n:
        chunk = min(GENERATE_CHUNK, n - made)
        woo.generate_orders(
            chunk,
            start=moment,
            end=moment + span,
            statuses={"processing": 0.85, "completed": 0.15},
        )
        made += chunk
        moment += span


def measure(database_url: str | None, n: int) -> dict[str, Any]:
    from kobling.chaos.processes import Process, process_env

    now = datetime.now(UTC)
    with bench_run(database_url, start_date=now) as run:
        sandboxes = run.sims.sets[0]
        before = read_status(os.getpid()).get("VmRSS", 0)
        began = time.monotonic()
        say(f"memory: generating {n} orders in the shop simulator")
        fill_shop(sandboxes.woo, n, now)
        generated = time.monotonic() - began
        after = read_status(os.getpid()).get("VmRSS", 0)
        since = (now - timedelta(days=41)).date().isoformat()
        env = process_env(run.data_dir, run.database_url, "http://127.0.0.1:9", BACKFILL_TUNING)
        run.logs.mkdir(parents=True, exist_ok=True)
        process = Process(
            "backfill",
            ["backfill", "--connection", "bench-0", "--since", since, "--yes", "--json"],
            env | {"KOBLING_EXECUTOR_ID": "bench-backfill"},
            run.logs / "backfill.log",
        )
        say(f"memory: kobling backfill of {n} orders")
        started = time.time()
        process.start()
        assert process.popen is not None
        sampler = Sampler(process.popen.pid, run.sims.booked)
        sampler.start()
        stopped = _follow(process, sampler, run, n, deadline=time.monotonic() + 300 + n * 3.0)
        if stopped:
            # Stopped by hand (Ctrl-C, SIGTERM): a long run still reports what it measured.
            outcomes = {f"stopped by hand at {run.sims.booked()} booked": 1}
        else:
            if process.popen.returncode != 0:
                raise BenchError(
                    f"kobling backfill exited {process.popen.returncode}:\n{process.tail()}"
                )
            run.wait_settled(n, timeout=30)
            outcomes = run.outcomes()
        bookings = run.sims.booking_times()
    return {
        "database": database_label(database_url),
        "orders": n,
        "sim_before_kib": before,
        "sim_after_kib": after,
        "generate_seconds": generated,
        "started": started,
        "bookings": bookings,
        "samples": sampler.samples,
        "outcomes": outcomes,
        "stopped": stopped,
    }


def _follow(process: Any, sampler: Sampler, run: Any, n: int, *, deadline: float) -> bool:
    """Until the backfill process ends (False) or the bench is stopped by hand (True), with a
    progress line every 30 s. The process is stopped either way."""
    told = time.monotonic()
    try:
        while process.alive():
            if time.monotonic() > deadline:
                raise BenchError(f"the backfill did not finish in time:\n{process.tail()}")
            if time.monotonic() - told > 30:
                told = time.monotonic()
                rss = read_status(process.popen.pid).get("VmRSS", 0) // 1024
                say(f"  {run.sims.booked()} of {n} booked, Kobling RSS {rss} MiB")
            time.sleep(0.5)
    except KeyboardInterrupt:
        say("memory: stopped by hand; reporting what was measured")
        return True
    finally:
        sampler.stop()
        process.stop()
    return False


def checkpoint_rows(result: dict[str, Any]) -> list[list[Any]]:
    """The first sample past each checkpoint; for a run stopped by hand also its last one."""
    samples = result["samples"]
    chosen = [
        (mark, found)
        for mark in checkpoints(result["orders"])
        if (found := next((s for s in samples if s[1] >= mark), None)) is not None
    ]
    if result.get("stopped") and samples and (not chosen or chosen[-1][1] is not samples[-1]):
        chosen.append((samples[-1][1], samples[-1]))
    return [
        [
            result["database"],
            mark,
            format_seconds(moment - result["started"]),
            round(rss / 1024),
            round(hwm / 1024),
            round(mine / 1024),
        ]
        for mark, (moment, _booked, rss, hwm, mine) in chosen
    ]


def main(options: Options) -> str:
    n = options.backfill_orders or (QUICK_ORDERS if options.quick else DEFAULT_ORDERS)
    parts = [f"### Memory during a backfill of {n} orders (`kobling backfill --yes`)"]
    rows: list[list[Any]] = []
    summaries: list[list[Any]] = []
    for url in options.databases:
        r = measure(url, n)
        rows += checkpoint_rows(r)
        bookings = r["bookings"]
        first = bookings[0] - r["started"] if bookings else 0.0
        rate = (len(bookings) - 1) / (bookings[-1] - bookings[0]) if len(bookings) > 1 else 0.0
        # Selection (reading every order from the shop) grows with the size; so does the rest.
        projected = first * REQUESTED / n + (REQUESTED / rate if rate else 0.0)
        sim_kib = r["sim_after_kib"] - r["sim_before_kib"]
        per_order = sim_kib / n
        outcomes = ", ".join(f"{k}: {v}" for k, v in sorted(r["outcomes"].items()))
        summaries.append(
            [
                r["database"],
                n,
                format_seconds(bookings[-1] - r["started"]) if bookings else "–",
                format_seconds(first),
                round(rate, 2),
                format_seconds(projected),
                max((s[3] for s in r["samples"]), default=0) // 1024,
                f"{sim_kib / 1024:.0f} MiB ({per_order:.1f} KiB/order, "
                f"{per_order * REQUESTED / 1024 / 1024:.1f} GiB for 100k); generated in "
                f"{format_seconds(r['generate_seconds'])}",
                outcomes,
            ]
        )
        say(f"  {summaries[-1]}")
    parts.append(
        markdown_table(
            [
                "database",
                "invoices booked",
                "after",
                "Kobling RSS (MiB)",
                "Kobling peak (MiB)",
                "bench process RSS (MiB)",
            ],
            rows,
            "lrrrrr",
        )
    )
    parts.append(
        markdown_table(
            [
                "database",
                "orders",
                "took",
                "first invoice after",
                "invoices/s",
                "projected for 100,000",
                "Kobling peak RSS (MiB)",
                "shop simulator's orders",
                "outcomes",
            ],
            summaries,
            "lrrrrrrll",
        )
    )
    parts.append(
        '"Kobling" is the `kobling backfill` process, which does all the work (no other '
        "worker runs). The bench process holds the simulators and their data, measured apart: "
        "its RSS grew by the shop's orders before the backfill started. The projection: "
        "selection time scaled linearly, plus 100,000 at the measured invoices/s (one target "
        "account, transfers one at a time by design)."
    )
    return "\n\n".join(parts)
