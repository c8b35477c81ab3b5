"""Objects: does anything in Kobling's process grow with the number of transfers?

RSS says how much memory a process holds, not what holds it. This figure runs the engine in
the bench process itself (SQLite, default tuning), beside the simulators, and backfills N
orders. At each checkpoint it collects garbage and counts every object Python's garbage
collector tracks, split into the simulators' (reachable from the sandboxes, walked with
``gc.get_referents``) and the rest: Kobling, DBOS and the libraries. A leak per transfer shows
as the rest growing with the checkpoints; the simulators' ledger grows, as it should. Beside
it, SQLite's own count of the memory it holds (page caches of every connection), which Python
cannot see: it follows the databases' size up to the caches' limit, not the number of orders.
"""

from __future__ import annotations

import ctypes
import gc
import time
from datetime import UTC, datetime, timedelta
from types import BuiltinFunctionType, FunctionType, MethodType, ModuleType
from typing import Any

from bench.harness import BenchError, Options, bench_run, markdown_table, say

DEFAULT_ORDERS, QUICK_ORDERS = 1300, 150
# Not walked: a reference to a module, class or function would pull in the whole program.
OPAQUE = (ModuleType, type, FunctionType, MethodType, BuiltinFunctionType)
SQLITE_STATUS_MEMORY_USED = 0  # sqlite3.h


def reachable(root: object) -> set[int]:
    """The ids of every object reachable from ``root``, not walking into modules, classes or
    functions."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        item = stack.pop()
        if id(item) in seen or isinstance(item, OPAQUE):
            continue
        seen.add(id(item))
        stack.extend(gc.get_referents(item))
    return seen


def census(root: object) -> tuple[int, int]:
    """(objects the collector tracks outside ``root``'s reach, those within it)."""
    gc.collect()
    inside = reachable(root)
    tracked = gc.get_objects()
    within = sum(1 for item in tracked if id(item) in inside)
    return len(tracked) - within, within


def sqlite_memory() -> int:
    """Bytes SQLite holds in this process (``sqlite3_status64``, SQLITE_STATUS_MEMORY_USED)."""
    import _sqlite3

    library = ctypes.CDLL(_sqlite3.__file__)
    current, highest = ctypes.c_int64(), ctypes.c_int64()
    if library.sqlite3_status64(
        SQLITE_STATUS_MEMORY_USED, ctypes.byref(current), ctypes.byref(highest), 0
    ):
        raise BenchError("sqlite3_status64 failed")
    return current.value


def marks(n: int) -> list[int]:
    """Three checkpoints: early, middle and the end."""
    return sorted({max(1, n // 5), max(1, n * 3 // 5), n})


def measure(n: int) -> list[list[Any]]:
    from bench.memory import fill_shop
    from kobling.engine import backfill
    from kobling.engine.launch import start_engine, stop_engine
    from kobling.store import backfills

    now = datetime.now(UTC)
    rows: list[list[Any]] = []
    with bench_run(None, start_date=now) as run:
        sandboxes = run.sims.sets[0]
        fill_shop(sandboxes.woo, n, now)
        start_engine(run.rt, schedules=False)
        try:
            cid = run.connection_ids[0]
            since = now - timedelta(days=41)
            ids = backfill.scan(cid, since, keep=0, estimating=False).ids
            backfill_id = backfill.start(cid, since, "", ids, "bench@kobling.test")
            deadline = time.monotonic() + 120 + n * 3.0
            for mark in marks(n):
                while backfills.progress(run.rt.db, backfill_id).done < mark:
                    if time.monotonic() > deadline:
                        raise BenchError(f"the backfill did not reach {mark} in time")
                    time.sleep(0.5)
                outside, simulators = census(run.sims.sets)
                rows.append([mark, outside, simulators, f"{sqlite_memory() / 1e6:.1f}"])
                say(f"  census at {mark}: {rows[-1]}")
        finally:
            stop_engine(run.rt)
    return rows


def main(options: Options) -> str:
    n = options.backfill_orders or (QUICK_ORDERS if options.quick else DEFAULT_ORDERS)
    n = min(n, DEFAULT_ORDERS * 4)  # a census walks the simulators' whole ledger each time
    rows = measure(n)
    first, last = rows[0], rows[-1]
    per_order = (last[2] - first[2]) / max(1, last[0] - first[0])
    return "\n\n".join(
        [
            f"### Objects during a backfill of {n} orders (engine in the bench process, SQLite)",
            markdown_table(
                [
                    "invoices booked",
                    "objects outside the simulators",
                    "the simulators' objects",
                    "SQLite's memory (MB)",
                ],
                rows,
                "rrrr",
            ),
            f"Outside the simulators: {last[1] - first[1]:+,} objects from {first[0]} to "
            f"{last[0]} invoices (a leak would grow with them); the simulators: "
            f"{per_order:.0f} objects per order, their ledger.",
        ]
    )
