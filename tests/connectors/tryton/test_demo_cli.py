"""``kobling demo --target tryton``: a real local Tryton, created, served and read back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.connectors.tryton.conftest import tryton_venv_or_skip

pytestmark = [pytest.mark.tryton, pytest.mark.slow]


def test_demo_against_a_real_tryton_reports_no_duplicates_and_no_mismatch(
    tmp_path: Path,
) -> None:
    tryton_venv_or_skip()
    done = subprocess.run(
        [
            *(sys.executable, "-m", "kobling", "demo", "--target", "tryton"),
            *("--orders", "20", "--json", "--data-dir", str(tmp_path / "demo")),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["orders"] == 20
    assert summary["duplicates_in_target"] == 0
    assert summary["totals_mismatched"] == 0
    assert summary["held"] == 0 and summary["failed"] == 0
    # Read back from Tryton: every transferred order is one invoice there, nothing else.
    assert summary["transferred"] > 0
    assert summary["documents_in_target"] == summary["transferred"]
    assert (tmp_path / "demo" / "tryton" / "kobling-tryton.json").exists()
