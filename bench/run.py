"""`make bench`: throughput and memory of the whole engine on the sandbox, written down.

Runs `kobling demo` in-process for a few sizes and prints one Markdown row per run: orders,
transfers done, wall time, transfers per second and peak resident memory. The numbers are
recorded in docs/benchmarks.md by hand; tests never assert timings.
"""

from __future__ import annotations

import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES = (50, 200)


def run_once(orders: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="kobling-bench-") as tmp:
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "kobling", "demo", "--orders", str(orders), "--json",
             "--data-dir", str(Path(tmp) / "data")],
            capture_output=True, text=True, check=True,
        )
        elapsed = time.perf_counter() - started
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = int(summary["transferred"])
    return {
        "orders": orders,
        "done": done,
        "seconds": round(elapsed, 1),
        "transfers_per_second": round(done / elapsed, 1),
        "peak_rss_mib": round(peak_kib / 1024),
        "duplicates": summary["duplicates_in_target"],
        "mismatched": summary["totals_mismatched"],
    }


def main() -> None:
    print(f"# {platform.node()} · Python {platform.python_version()} · SQLite embedded default")
    print("| orders | done | seconds | transfers/s | peak RSS (MiB) | duplicates | mismatched |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for size in SIZES:
        row = run_once(size)
        print("| " + " | ".join(str(row[k]) for k in (
            "orders", "done", "seconds", "transfers_per_second", "peak_rss_mib",
            "duplicates", "mismatched")) + " |", flush=True)


if __name__ == "__main__":
    main()
