"""What every benchmark shares: simulators, Kobling processes, databases, and small helpers.

The bench process (this one) serves the simulators on a loopback port, creates the sandbox
integrations in Kobling's store, and starts real ``kobling`` processes against them, the way
``kobling chaos`` does: on SQLite one ``kobling run --no-sandbox``; on PostgreSQL one
``kobling run --no-sandbox --no-worker`` (web, webhooks) plus K ``kobling worker``.

The pure helpers at the top (percentiles, per-minute rates, the call-path normaliser,
checkpoints, Markdown tables) are tested in tests/bench; nothing here asserts a timing.
"""

from __future__ import annotations

import math
import os
import platform
import re
import secrets
import shlex
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from kobling.store.scratch_databases import fresh_postgres_database, psycopg_conninfo

# --- pure helpers -------------------------------------------------------------------------


def percentile(values: Iterable[float], q: float) -> float:
    """The ``q``-th percentile (0..100), interpolated linearly between the closest ranks.

    The same definition as numpy's default ("linear"): position ``(n - 1) * q / 100`` in the
    sorted values.
    """
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    if not 0 <= q <= 100:
        raise ValueError("q must lie between 0 and 100")
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def per_minute_counts(times: Iterable[float], start: float, minutes: int) -> list[int]:
    """How many of ``times`` fall in each whole minute ``[start + 60k, start + 60(k+1))``."""
    counts = [0] * minutes
    for moment in times:
        index = math.floor((moment - start) / 60.0)
        if 0 <= index < minutes:
            counts[index] += 1
    return counts


def rate_per_minute(times: Iterable[float], start: float, end: float) -> float:
    """Events per minute in ``[start, end)``."""
    if end <= start:
        raise ValueError("end must lie after start")
    inside = sum(1 for moment in times if start <= moment < end)
    return inside * 60.0 / (end - start)


# A segment that follows one of these in an e-conomic path is an id (customer number, SKU,
# draft number, journal number, voucher "2026-3", accounting year, ...).
_COLLECTIONS = frozenset(
    {
        "customers",
        "products",
        "drafts",
        "booked",
        "journals",
        "journals-experimental",
        "vouchers",
        "accounting-years",
        "vat-zones",
        "payment-terms",
        "layouts",
        "customer-groups",
        "product-groups",
        "units",
        "currencies",
        "employees",
    }
)
_FILTER_FIELD = re.compile(r"([A-Za-z][A-Za-z0-9.]*)\$[a-zA-Z]+:")


def normalise_call(method: str, path: str) -> str:
    """``GET /customers/17?filter=email$eq:a@b`` → ``GET /customers/{id}?filter=email``.

    Ids are replaced by ``{id}`` (a segment after a collection name, or any all-digit
    segment); of the query, only the parameter names are kept, and for ``filter`` the fields
    it filters on, so the breakdown shows which look-up a call was.
    """
    parts = urlsplit(path)
    segments = [s for s in parts.path.split("/") if s]
    out: list[str] = []
    for index, segment in enumerate(segments):
        after_collection = index > 0 and segments[index - 1] in _COLLECTIONS
        out.append("{id}" if after_collection or segment.isdigit() else segment)
    normal = "/" + "/".join(out)
    if parts.query:
        names: list[str] = []
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            if name == "filter":
                fields = sorted(set(_FILTER_FIELD.findall(value)))
                names.append(f"filter={','.join(fields)}" if fields else "filter")
            else:
                names.append(name)
        normal += "?" + "&".join(sorted(set(names)))
    return f"{method.upper()} {normal}"


def call_breakdown(
    calls: Iterable[tuple[str, str, int]], orders: int
) -> list[tuple[str, int, int, float]]:
    """Rows (call, count, of which not 2xx, per order), most frequent first."""
    if orders <= 0:
        raise ValueError("orders must be at least 1")
    counts: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for method, path, status in calls:
        key = normalise_call(method, path)
        counts[key] += 1
        if not 200 <= status < 300:
            failed[key] += 1
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [(key, n, failed[key], round(n / orders, 2)) for key, n in ordered]


def checkpoints(total: int, first: int = 100) -> list[int]:
    """1-2-5 steps from ``first`` below ``total``, then ``total``: 100, 200, 500, 1000, …"""
    if total <= 0:
        return []
    steps: list[int] = []
    decade = first
    while decade < total:
        for factor in (1, 2, 5):
            step = decade * factor
            if step < total:
                steps.append(step)
        decade *= 10
    return [*steps, total]


def markdown_table(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], align: str | None = None
) -> str:
    """A Markdown table; ``align`` is one letter per column, ``l`` or ``r`` (default: l, r…)."""
    align = align or "l" + "r" * (len(headers) - 1)
    if len(align) != len(headers):
        raise ValueError("one alignment letter per column")
    rules = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(rules) + "|"]
    for row in rows:
        if len(row) != len(headers):
            raise ValueError(f"row {row!r} has {len(row)} cells, not {len(headers)}")
        lines.append("| " + " | ".join(_cell(value) for value in row) + " |")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value).replace("|", "\\|")


def format_seconds(seconds: float) -> str:
    """``95`` → ``1 min 35 s``, ``7300`` → ``2 h 1 min``."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


# --- the machine --------------------------------------------------------------------------


def _mem_total_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def postgres_version(url: str) -> str:
    import psycopg

    with psycopg.connect(psycopg_conninfo(url), connect_timeout=10) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "unknown"


def invocation() -> str:
    """The command as it was given (wrapped in scripts/with-postgres.sh when that set the URL)."""
    command = shlex.join([".venv/bin/python", "-m", "bench.run", *sys.argv[1:]])
    if os.environ.get("KOBLING_TEST_DATABASE_URL") and not os.environ.get(BENCH_URL_ENV):
        return f"scripts/with-postgres.sh {command}"
    return command


def describe_machine(pg_url: str | None) -> str:
    pg = "not used"
    if pg_url:
        try:
            pg = postgres_version(pg_url)
        except Exception as exc:  # a description, not a reason to stop
            pg = f"unknown ({exc.__class__.__name__})"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {platform.node()}, {os.cpu_count()} cores, {_mem_total_gib()} RAM, "
        f"{platform.system()} {platform.release()} (load average at start: {load})",
        f"- Python {platform.python_version()} ({platform.python_implementation()})",
        f"- PostgreSQL: {pg}",
        f"- command: `{invocation()}`",
    ]
    return "\n".join(lines)


# --- databases ----------------------------------------------------------------------------

BENCH_URL_ENV = "KOBLING_BENCH_DATABASE_URL"
TEST_URL_ENV = "KOBLING_TEST_DATABASE_URL"


def postgres_base_url() -> str | None:
    """The PostgreSQL server to use: KOBLING_BENCH_DATABASE_URL, else KOBLING_TEST_DATABASE_URL
    (what scripts/with-postgres.sh exports)."""
    return os.environ.get(BENCH_URL_ENV) or os.environ.get(TEST_URL_ENV) or None


# --- simulators ---------------------------------------------------------------------------

BOOK_PATH = "/invoices/booked"


@dataclass
class CallRecorder:
    """Listener on one e-conomic simulator: every request with its wall-clock time."""

    calls: list[tuple[float, str, str, int]] = field(default_factory=list)
    bookings: list[float] = field(default_factory=list)
    on_booked: Callable[[float], None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, method: str, path: str, status: int) -> None:
        now = time.time()
        booked = method == "POST" and path.split("?")[0] == BOOK_PATH and 200 <= status < 300
        with self._lock:
            self.calls.append((now, method, path, status))
            if booked:
                self.bookings.append(now)
        if booked and self.on_booked is not None:
            self.on_booked(now)

    def booked(self) -> int:
        with self._lock:
            return len(self.bookings)

    def since(self, start: float) -> list[tuple[float, str, str, int]]:
        with self._lock:
            return [c for c in self.calls if c[0] >= start]

    def mark(self) -> int:
        with self._lock:
            return len(self.calls)

    def after(self, mark: int) -> list[tuple[float, str, str, int]]:
        with self._lock:
            return self.calls[mark:]


class Simulators:
    """``count`` pairs of shop and e-conomic simulators on one loopback port.

    Pair ``i`` lives under ``/s{i}/sandbox/...``, so every integration has its own shop and
    its own e-conomic agreement (one target account each).
    """

    def __init__(self, count: int = 1, *, seed: int = 7) -> None:
        from starlette.applications import Starlette
        from starlette.routing import Mount

        from kobling.sandbox import make_sandboxes
        from kobling.web.server import free_port, serve_in_thread

        self.port = free_port()
        base = f"http://127.0.0.1:{self.port}"
        self.sets = [make_sandboxes(f"{base}/s{i}", seed=seed + i) for i in range(count)]
        self.recorders = [CallRecorder() for _ in self.sets]
        for sandboxes, recorder in zip(self.sets, self.recorders, strict=True):
            sandboxes.economic.add_listener(recorder)
        routes = [
            Mount(f"/s{i}{prefix}", app)
            for i, sandboxes in enumerate(self.sets)
            for prefix, app in sandboxes.mounts().items()
        ]
        self.server = serve_in_thread(Starlette(routes=routes), port=self.port)

    def booked(self) -> int:
        return sum(r.booked() for r in self.recorders)

    def booking_times(self) -> list[float]:
        return sorted(t for r in self.recorders for t in r.bookings)

    def close(self) -> None:
        self.server.stop()
        for sandboxes in self.sets:
            sandboxes.close()


def new_orders(sandboxes: Any, n: int, *, deliver_webhooks: bool = False) -> list[dict[str, Any]]:
    """``n`` eligible orders (processing or completed), created in the last minute."""
    now = datetime.now(UTC)
    return list(
        sandboxes.woo.generate_orders(
            n,
            start=now - timedelta(seconds=60),
            end=now,
            statuses={"processing": 0.85, "completed": 0.15},
            deliver_webhooks=deliver_webhooks,
        )
    )


# --- processes ----------------------------------------------------------------------------

# Workers that poll every 2 s and pick queued work up within 0.1 s.
FAST_TUNING: dict[str, Any] = {
    "poll_cron": "*/2 * * * * *",
    "scheduler_interval": 1.0,
    "queue_polling_interval": 0.1,
}


class BenchError(RuntimeError):
    """The benchmark could not be carried out (a process died, a wait timed out)."""


def read_status(pid: int) -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` of a process, in KiB (empty once it has exited)."""
    found: dict[str, int] = {}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return found
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


@dataclass
class Deployment:
    """The Kobling processes of one run (``kobling.chaos.processes.Process``)."""

    processes: list[Any]
    workers: list[Any]
    web_url: str

    def start(self, timeout: float = 120.0) -> None:
        for process in self.processes:
            process.start()
        for process in self.processes:
            process.wait_ready(timeout)

    def stop(self) -> None:
        for process in self.processes:
            process.stop()

    def check_alive(self) -> None:
        for process in self.processes:
            if not process.alive():
                raise BenchError(f"{process.name} exited:\n{process.tail()}")

    def tails(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.tail()}" for p in self.processes)


def make_deployment(
    data_dir: Path,
    database_url: str | None,
    logs: Path,
    *,
    workers: int = 1,
    tuning: dict[str, Any] | None = None,
) -> Deployment:
    """SQLite: one ``kobling run --no-sandbox``; PostgreSQL: a web process and ``workers``."""
    from kobling.chaos.processes import deployment, process_env
    from kobling.web.server import free_port

    if database_url is None and workers != 1:
        raise BenchError("SQLite runs one process; several workers need PostgreSQL")
    port = free_port()
    env = process_env(data_dir, database_url, f"http://127.0.0.1:{port}", tuning or FAST_TUNING)
    started = deployment(
        env=env,
        port=port,
        logs=logs,
        workers=workers,
        separate_web=database_url is not None,
        id_prefix=f"bench-{secrets.token_hex(3)}",
    )
    return Deployment(started.processes, started.workers, started.url)


# --- one run ------------------------------------------------------------------------------


@dataclass
class Run:
    """Simulators, store and (not yet started) processes of one benchmark run."""

    sims: Simulators
    connection_ids: list[int]
    data_dir: Path
    logs: Path
    database_url: str | None
    rt: Any  # the bench process's runtime (to read the store), or None
    deployment: Deployment | None = None

    @property
    def database(self) -> str:
        return "PostgreSQL" if self.database_url else "SQLite"

    def deploy(self, workers: int = 1, tuning: dict[str, Any] | None = None) -> Deployment:
        self.deployment = make_deployment(
            self.data_dir, self.database_url, self.logs, workers=workers, tuning=tuning
        )
        self.deployment.start()
        return self.deployment

    def wait_booked(self, count: int, timeout: float) -> None:
        """Until the simulators booked ``count`` invoices; raises with the logs on timeout."""
        deadline = time.monotonic() + timeout
        while self.sims.booked() < count:
            if time.monotonic() > deadline:
                raise BenchError(
                    f"{self.sims.booked()} of {count} invoices booked after {timeout:.0f} s\n"
                    + (self.deployment.tails() if self.deployment else "")
                )
            if self.deployment is not None:
                self.deployment.check_alive()
            time.sleep(0.05)

    def wait_settled(self, transfers: int, timeout: float = 60.0) -> bool:
        """Until ``transfers`` transfers exist and none is in progress (False on timeout)."""
        from kobling.store import repository as repo

        if self.rt is None:
            return False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = sum(repo.transfer_count(self.rt.db, c) for c in self.connection_ids)
            busy = sum(repo.unsettled_count(self.rt.db, c) for c in self.connection_ids)
            if seen >= transfers and busy == 0:
                return True
            time.sleep(0.2)
        return False

    def outcomes(self) -> Counter[str]:
        from kobling.store import repository as repo

        total: Counter[str] = Counter()
        if self.rt is None:
            return total
        for cid in self.connection_ids:
            total.update({str(k): v for k, v in repo.outcome_counts(self.rt.db, cid).items()})
        return total


@contextmanager
def bench_run(
    database_url: str | None,
    *,
    integrations: int = 1,
    use_webhooks: bool = False,
    target_settings: dict[str, Any] | None = None,
    start_date: datetime | None = None,
    seed: int = 7,
) -> Iterator[Run]:
    """Simulators, a fresh database (PostgreSQL: a new database on ``database_url``'s server;
    None: SQLite in a temporary data directory) and ``integrations`` sandbox integrations."""
    from kobling.engine import runtime as runtime_module
    from kobling.engine.runtime import configure
    from kobling.sandbox import create_sandbox_integration

    with (
        tempfile.TemporaryDirectory(prefix="kobling-bench-") as tmp,
        _database(database_url) as url,
    ):
        data_dir = Path(tmp) / "data"
        sims = Simulators(integrations, seed=seed)
        run: Run | None = None
        try:
            rt = configure(data_dir, database=url, executor_id="bench-conductor")
            start = start_date or datetime.now(UTC) - timedelta(hours=1)
            ids = [
                create_sandbox_integration(
                    rt,
                    sandboxes,
                    start_date=start,
                    connection_name=f"bench-{i}",
                    use_webhooks=use_webhooks,
                    target_settings=target_settings,
                )
                for i, sandboxes in enumerate(sims.sets)
            ]
            run = Run(sims, ids, data_dir, Path(tmp) / "logs", url, rt)
            yield run
        finally:
            if run is not None and run.deployment is not None:
                run.deployment.stop()
            sims.close()
            runtime_module.clear()


@contextmanager
def _database(base_url: str | None) -> Iterator[str | None]:
    if base_url is None:
        yield None
        return
    with fresh_postgres_database(base_url, prefix="kobling_bench") as url:
        yield url


@dataclass(frozen=True)
class Options:
    """What bench/run.py passes to every figure."""

    quick: bool = False
    databases: tuple[str | None, ...] = (None,)  # None: SQLite; else a PostgreSQL base URL
    backfill_orders: int | None = None
    rate_minutes: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def database_label(url: str | None) -> str:
    return "PostgreSQL" if url else "SQLite"


def say(text: str) -> None:
    """Progress on stderr, so stdout carries only the tables."""
    print(text, file=sys.stderr, flush=True)
