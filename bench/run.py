"""`make bench`: the engine's figures against the simulators, printed as Markdown for
docs/benchmarks.md. Tests never assert timings; this only measures.

    .venv/bin/python -m bench.run [--quick] [--only NAME[,NAME]] [--database auto|sqlite|
        postgresql|all] [--backfill-orders N] [--rate-minutes M]
    scripts/with-postgres.sh .venv/bin/python -m bench.run      # with a throw-away PostgreSQL

Figures (one module each): engine_overhead, calls_per_order, rate_limit, latency, memory.
PostgreSQL comes from KOBLING_BENCH_DATABASE_URL or KOBLING_TEST_DATABASE_URL (what
scripts/with-postgres.sh exports); every run gets a fresh database on that server.

``--database auto`` (the default): the engine overhead on SQLite and, when a server is given,
on PostgreSQL; the other figures on SQLite, the embedded default. ``sqlite`` or ``postgresql``
runs every figure on that one; ``all`` runs every figure on both.

Progress goes to stderr, the tables to stdout.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import time

from bench.harness import Options, describe_machine, format_seconds, postgres_base_url, say

FIGURES = (
    "engine_overhead",
    "calls_per_order",
    "rate_limit",
    "latency",
    "memory",
    "object_census",
)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, to check it works")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        help=f"run only these figures (repeat or comma-separate): {', '.join(FIGURES)}",
    )
    parser.add_argument(
        "--database", choices=("auto", "sqlite", "postgresql", "all"), default="auto"
    )
    parser.add_argument(
        "--backfill-orders",
        type=int,
        default=None,
        help="orders in the memory figure's backfill (default 1000, --quick 300; the "
        "requested size is 100000, which takes hours) and the object census's (default 1300, "
        "at most 5200)",
    )
    parser.add_argument(
        "--rate-minutes",
        type=float,
        default=None,
        help="minutes the rate-limit figure keeps the target busy (default 3, --quick 1)",
    )
    return parser.parse_args(argv)


def chosen_figures(only: list[str]) -> list[str]:
    names = [n.strip() for item in only for n in item.split(",") if n.strip()]
    unknown = sorted(set(names) - set(FIGURES))
    if unknown:
        raise SystemExit(f"unknown figure(s) {', '.join(unknown)}; known: {', '.join(FIGURES)}")
    return [f for f in FIGURES if not names or f in names]


def databases_for(figure: str, choice: str, pg: str | None) -> tuple[str | None, ...]:
    if choice in ("postgresql", "all") and pg is None:
        raise SystemExit(
            "no PostgreSQL: set KOBLING_BENCH_DATABASE_URL, or run through "
            "scripts/with-postgres.sh .venv/bin/python -m bench.run"
        )
    if choice == "sqlite":
        return (None,)
    if choice == "postgresql":
        return (pg,)
    if choice == "all" or figure == "engine_overhead":
        return (None, pg) if pg else (None,)
    return (None,)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    # SIGTERM stops a long figure like Ctrl-C does; the memory figure then reports the
    # samples it has (bench/memory.py).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    figures = chosen_figures(args.only)
    pg = postgres_base_url()
    print("## Benchmarks" + (" (quick)" if args.quick else "") + "\n")
    print(describe_machine(pg if args.database != "sqlite" else None) + "\n", flush=True)
    failed = []
    for figure in figures:
        module = importlib.import_module(f"bench.{figure}")
        options = Options(
            quick=args.quick,
            databases=databases_for(figure, args.database, pg),
            backfill_orders=args.backfill_orders,
            rate_minutes=args.rate_minutes,
        )
        began = time.monotonic()
        say(f"== {figure}")
        try:
            table = module.main(options)
        except Exception as exc:
            say(f"{figure} failed: {exc!r}")
            failed.append(figure)
            print(f"### {figure}\n\nfailed: {exc.__class__.__name__}: {exc}\n", flush=True)
            continue
        print(table + "\n", flush=True)
        say(f"== {figure} took {format_seconds(time.monotonic() - began)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
