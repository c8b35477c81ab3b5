"""The pure parts of the dashboard: charts, the transfer page's decisions and changes, htmx."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from kobling.web import charts
from kobling.web.charts import Series, stacked_bars
from kobling.web.transfer_view import comparisons, decisions, differences

STATIC = Path(charts.__file__).parent / "static"


@pytest.mark.parametrize(
    ("value", "top"), [(0, 1), (1, 1), (2, 2), (3, 5), (7, 10), (10, 10), (11, 20), (999, 1000)]
)
def test_the_axis_top_is_a_round_number_at_or_above_the_tallest_bar(value: int, top: int) -> None:
    assert charts._nice_max(value) == top


def test_bars_are_stacked_in_proportion_and_say_their_numbers() -> None:
    svg = str(
        stacked_bars(
            "Handled",
            ["2026-11-01", "2026-11-02"],
            [Series("orders", "#111", [3, 0]), Series("refunds", "#222", [2, 1])],
        )
    )
    heights = [float(h) for h in re.findall(r'height="([\d.]+)" fill="[^"]+"><title>', svg)]
    # Axis top 5 (3 + 2); plot height 180 - 22 - 10 = 148: bars of 3, 2 and 1 fifths of it.
    assert heights == pytest.approx([148 * 3 / 5, 148 * 2 / 5, 148 * 1 / 5], abs=0.1)
    assert "2026-11-01: 3 orders" in svg and "2026-11-02: 1 refunds" in svg
    assert 'aria-label="Handled: orders 3, refunds 3 over 2 days"' in svg
    assert "2026-11-02: 0 orders" not in svg  # no empty bars


def test_chart_text_is_escaped() -> None:
    svg = str(stacked_bars("<b>", ["2026-11-01"], [Series("<i>", "#111", [1])]))
    assert "<b>" not in svg and "<i>" not in svg and "&lt;i&gt;" in svg


def snap(stage: str, data: dict) -> SimpleNamespace:
    return SimpleNamespace(stage=stage, data=data, created_at=datetime(2026, 11, 1, tzinfo=UTC))


def test_decisions_are_those_of_the_latest_attempt_in_stage_order() -> None:
    first = {"plan": {"decisions": [{"subject": "totals", "choice": "old", "reason": "r0"}]}}
    second = {
        "plan": {
            "decisions": [{"subject": "sale", "choice": "domestic", "reason": "ships to DK"}],
            "lines": [
                {"description": "Mug", "vat_rate": "25", "reason": "standard rate"},
                {"description": "Rounding", "vat_rate": "0"},
            ],
        }
    }
    found = decisions(
        [
            snap("received", {}),
            snap("plan", first),
            snap("received", {}),
            snap("eligibility", {"eligible": True, "reason": "state 'processing' is eligible"}),
            snap("plan", second),
            snap("booking decision", {"book": False, "reason": "trial period"}),
            snap("payment", {"registered": True, "why": "paid by card"}),
        ]
    )
    assert [(d.subject, d.choice, d.reason) for d in found] == [
        ("eligibility", "eligible", "state 'processing' is eligible"),
        ("sale", "domestic", "ships to DK"),
        ("line Mug", "VAT 25%", "standard rate"),
        ("booking", "leave as draft", "trial period"),
        ("payment", "registered", "paid by card"),
    ]
    held = decisions([snap("plan", {"held": "VAT differs", "fix": "check"})])
    assert [(d.choice, d.reason) for d in held] == [("held", "VAT differs")]


def test_differences_name_every_changed_leaf_by_its_path() -> None:
    before = {"total": "10.00", "lines": [{"qty": 1}, {"qty": 2}], "note": "a"}
    after = {"total": "12.00", "lines": [{"qty": 1}, {"qty": 3}, {"qty": 1}]}
    found = {(c.path, c.before, c.after) for c in differences(before, after)}
    assert found == {
        ("total", '"10.00"', '"12.00"'),
        ("lines[1].qty", "2", "3"),
        ("lines[2].qty", "—", "1"),
        ("note", '"a"', "—"),
    }


def test_only_snapshots_with_an_original_and_a_change_are_compared() -> None:
    found = comparisons(
        [
            snap("plan", {"plan": {}}),
            snap("changed after booking", {"original": {"a": 1}, "changed": {"a": 2}}),
        ]
    )
    assert [(c.stage, [x.path for x in c.changes]) for c in found] == [
        ("changed after booking", ["a"])
    ]


def test_the_vendored_htmx_is_the_release_its_readme_names() -> None:
    readme = (STATIC / "README.md").read_text()
    name, digest = re.search(r"`(htmx-[\d.]+\.min\.js)` .*? \| ([0-9a-f]{64}) \|", readme).groups()  # type: ignore[union-attr]
    assert hashlib.sha256((STATIC / name).read_bytes()).hexdigest() == digest
    base = (Path(charts.__file__).parent / "templates" / "base.html").read_text()
    assert f'src="/static/{name}"' in base
