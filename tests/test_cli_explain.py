"""`kobling explain` as a shop owner or integrator runs it: a data directory, a connection name,
an order number; the shop simulator answers on a loopback port."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kobling.engine import runtime as runtime_module
from kobling.engine.runtime import configure
from kobling.sandbox import (
    ECONOMIC_GRANT,
    WOO_SECRET,
    create_sandbox_integration,
    make_sandboxes,
    sandbox_app,
)
from kobling.web.server import free_port, serve_in_thread
from tests.accounting.woo_payloads import redated, woo_order

pytestmark = pytest.mark.slow

CHECKS = [
    "integration_active",
    "connection_active",
    "source_readable",
    "order_found",
    "state_eligible",
    "after_start_date",
    "not_filtered",
    "not_in_target",
    "transfer",
]


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """A data directory with the sandbox integration and one paid order Kobling has not seen."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data = tmp_path / "data"
    rt = configure(data, public_url=url)
    sandboxes = make_sandboxes(url)
    server = serve_in_thread(sandbox_app(sandboxes), port=port)
    try:
        create_sandbox_integration(rt, sandboxes, start_date=datetime.now(UTC) - timedelta(days=30))
        order = woo_order(
            7001,
            lines=[("LAMP-1", "Desk lamp", 1, "100.00", "100.00", "25.00", "")],
            total="125.00",
            total_tax="25.00",
            country="DK",
        )
        created = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
        sandboxes.woo.add_order(redated(order, created), deliver_webhooks=False)
        runtime_module.clear()
        yield data
    finally:
        runtime_module.clear()
        server.stop()
        sandboxes.close()


def kobling(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kobling", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_json_shape(data_dir: Path) -> None:
    args = ["explain", "--connection", "sandbox-orders", "7001", "--json"]
    result = kobling(*args, "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads(result.stdout)
    assert list(data) == [
        "verdict",
        "title",
        "details",
        "fix",
        "transfer_id",
        "document",
        "checks",
    ]
    assert data["verdict"] == "not_yet_seen"
    assert data["title"].startswith("Kobling has not seen order 7001 yet")
    assert isinstance(data["details"], list) and "Poll now" in data["fix"]
    assert data["transfer_id"] is None and data["document"] is None
    assert [c["name"] for c in data["checks"]] == CHECKS
    assert all(set(c) == {"name", "passed", "result"} for c in data["checks"])
    assert [c["passed"] for c in data["checks"]] == [True] * 8 + [False]
    assert WOO_SECRET not in result.stdout and ECONOMIC_GRANT not in result.stdout


def test_plain_words(data_dir: Path) -> None:
    args = ["explain", "--connection", "sandbox-orders", "7001", "--data-dir", str(data_dir)]
    result = kobling(*args)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Kobling has not seen order 7001 yet")
    assert lines[-1].startswith('Fix: To transfer it now, press "Poll now"')


def test_unknown_connection_names_the_known_ones(data_dir: Path) -> None:
    args = ["explain", "--connection", "my-shop", "7001", "--data-dir", str(data_dir)]
    result = kobling(*args)
    assert result.returncode == 2
    assert "no connection named 'my-shop'" in result.stderr
    assert "the connections are: sandbox-orders" in result.stderr
    assert "fix: give one of them with --connection NAME" in result.stderr
    assert result.stdout == ""
