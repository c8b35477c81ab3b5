"""`kobling reconcile`: the JSON it prints, a repair, and the errors a person makes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from kobling.cli import app
from kobling.engine import runtime as runtime_module
from kobling.engine.runtime import configure
from kobling.sandbox import (
    CONNECTION_NAME,
    Sandboxes,
    create_sandbox_integration,
    make_sandboxes,
    sandbox_app,
)
from kobling.web.server import free_port, serve_in_thread
from tests.support.databases import sqlite_url

D = Decimal


@dataclass
class Shop:
    data_dir: Path
    sandboxes: Sandboxes
    orders: list[dict[str, Any]]


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shop]:
    """The sandbox shop with two paid orders that never reached the sandbox e-conomic."""
    monkeypatch.delenv("KOBLING_DATABASE_URL", raising=False)
    monkeypatch.delenv("KOBLING_DATA_DIR", raising=False)
    data_dir = tmp_path / "data"
    rt = configure(data_dir, database=sqlite_url(data_dir))
    port = free_port()
    sandboxes = make_sandboxes(f"http://127.0.0.1:{port}")
    server = serve_in_thread(sandbox_app(sandboxes), port=port)
    now = datetime.now(UTC)
    create_sandbox_integration(
        rt, sandboxes, start_date=now - timedelta(days=30), use_webhooks=False
    )
    orders = sandboxes.woo.generate_orders(
        2, start=now - timedelta(days=2), end=now - timedelta(minutes=5),
        statuses={"processing": 1.0},
    )  # fmt: skip
    try:
        yield Shop(data_dir, sandboxes, orders)
    finally:
        server.stop()
        sandboxes.close()
        runtime_module.clear()


def _period() -> list[str]:
    today = datetime.now(ZoneInfo("Europe/Copenhagen")).date()
    return ["--from", (today - timedelta(days=3)).isoformat(), "--to", today.isoformat()]


def _reconcile(data_dir: Path, *extra: str) -> Any:
    arguments = ["reconcile", "--connection", CONNECTION_NAME, *_period(), "--data-dir"]
    return CliRunner().invoke(app, [*arguments, str(data_dir), *extra])


def test_json_lists_the_missing_orders_with_exact_amounts_and_repair_transfers_them(
    shop: Shop,
) -> None:
    result = _reconcile(shop.data_dir, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout, parse_float=Decimal)
    assert list(report) == ["checked", "missing", "duplicated", "mismatched"]
    assert report["checked"] == 2
    assert report["duplicated"] == report["mismatched"] == []
    assert sorted((row["reference"], row["expected_gross"]) for row in report["missing"]) == sorted(
        (order["number"], D(order["total"])) for order in shop.orders
    )
    assert set(report["missing"][0]) == {
        "kind", "order", "source_id", "refund_id", "reference", "currency", "expected_gross",
        "found_gross", "numbers", "why",
    }  # fmt: skip

    repaired = _reconcile(shop.data_dir, "--json", "--repair")
    assert repaired.exit_code == 0, repaired.output
    report = json.loads(repaired.stdout, parse_float=Decimal)
    assert list(report) == ["checked", "missing", "duplicated", "mismatched", "repaired"]
    assert sorted((r["reference"], r["outcome"]) for r in report["repaired"]) == sorted(
        (order["number"], "done") for order in shop.orders
    )
    booked = shop.sandboxes.economic.booked_invoices()
    assert sorted((b["references"]["other"], D(str(b["grossAmount"]))) for b in booked) == sorted(
        (order["number"], D(order["total"])) for order in shop.orders
    )

    table = _reconcile(shop.data_dir)
    assert table.exit_code == 0, table.output
    assert "checked: 2" in table.stdout and "missing: 0" in table.stdout
    assert "All in Sandbox e-conomic once, to the cent." in table.stdout


def test_a_bad_date_names_the_problem_and_the_form(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["reconcile", "--connection", "shop", "--from", "2024-13-01", "--to", "2024-12-31",
         "--data-dir", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--from '2024-13-01' is not a date: write it as YYYY-MM-DD" in result.stderr


def test_a_period_that_ends_before_it_starts_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["reconcile", "--connection", "shop", "--from", "2024-06-01", "--to", "2024-05-01",
         "--data-dir", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--from 2024-06-01 comes after --to 2024-05-01" in result.stderr


def test_an_unknown_connection_says_where_to_find_the_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KOBLING_DATABASE_URL", raising=False)
    try:
        result = CliRunner().invoke(
            app,
            ["reconcile", "--connection", "nope", "--from", "2024-05-01", "--to", "2024-05-31",
             "--data-dir", str(tmp_path)],
        )  # fmt: skip
    finally:
        runtime_module.clear()
    assert result.exit_code == 2
    assert "no connection 'nope'" in result.stderr
    assert "kobling connections list" in result.stderr
