"""The chaos verdict and the command's refusals, without running the chaos."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner

from kobling.chaos.run import passed
from kobling.cli import app


def _summary(**changes: Any) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "orders": 10,
        "settled": True,
        "missing": 0,
        "duplicated": 0,
        "mismatched": 0,
        "ledger": {"invoices": 10, "duplicates": 0, "totals_mismatched": 0},
    }
    return summary | changes


def test_only_a_settled_run_with_exact_books_passes() -> None:
    assert passed(_summary())
    assert not passed(_summary(settled=False))
    assert not passed(_summary(missing=1))
    assert not passed(_summary(duplicated=1))
    assert not passed(_summary(mismatched=1))
    # The simulator's own ledger is counted too: one invoice short, or one twice, fails.
    assert not passed(_summary(ledger={"invoices": 9, "duplicates": 0, "totals_mismatched": 0}))
    assert not passed(_summary(ledger={"invoices": 11, "duplicates": 1, "totals_mismatched": 0}))
    assert not passed(_summary(ledger={"invoices": 10, "duplicates": 0, "totals_mismatched": 1}))


def test_several_workers_on_sqlite_are_refused_with_the_fix() -> None:
    result = CliRunner().invoke(
        app, ["chaos", "--orders", "5", "--workers", "3"], env={"KOBLING_DATABASE_URL": ""}
    )
    assert result.exit_code == 2
    assert "several workers need PostgreSQL" in result.output


def test_a_database_that_is_not_postgresql_is_refused() -> None:
    result = CliRunner().invoke(app, ["chaos", "--database", "sqlite:///x.db"])
    assert result.exit_code == 2
    assert "must be a PostgreSQL URL" in result.output
