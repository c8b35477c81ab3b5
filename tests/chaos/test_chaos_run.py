"""`kobling chaos`, small: real processes killed at random, faults everywhere, books exact.

The command is run as users run it; its JSON is the verdict, read back from the target by
reconciliation and by counting the simulator's ledger. The fault counts prove the run
exercised what it claims (lost responses, duplicated and dropped webhooks, kills).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# Minutes, not the suite's 300 s: the run itself is bounded by the command's own timeout.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

ORDERS = 200


def test_chaos_run_on_sqlite_loses_nothing_and_books_nothing_twice(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kobling",
            "chaos",
            "--orders",
            str(ORDERS),
            "--json",
            "--keep",
            str(tmp_path / "chaos"),
        ],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert (
        summary["orders"],
        summary["missing"],
        summary["duplicated"],
        summary["mismatched"],
    ) == (ORDERS, 0, 0, 0)
    assert summary["ledger"] == {"invoices": ORDERS, "duplicates": 0, "totals_mismatched": 0}
    assert summary["kills"] >= 1
    faults = summary["faults"]
    for kind in (
        "economic_lost_response",
        "economic_timeout",
        "economic_rate_limit",
        "woocommerce_webhook_duplicate",
        "woocommerce_webhook_drop",
    ):
        assert faults.get(kind, 0) > 0, (kind, faults)
    assert summary["faults_injected"] == sum(faults.values())
