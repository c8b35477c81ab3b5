"""A backfill estimate warns when an import would go over the target's daily fair use."""

from __future__ import annotations

from pathlib import Path

import pytest

from kobling.connectors import registry
from kobling.engine.backfill import in_words, over_daily_budget


def test_economic_declares_the_fair_use_of_its_fact_sheet(shared_dir: Path) -> None:
    sheet = (shared_dir / "reference/apis/e-conomic.md").read_text()
    assert "fair use = **50,000 API calls per 24 h per agreement**" in sheet
    assert registry.get("economic").daily_call_budget == 50_000


def test_within_the_budget_or_paced_within_it_there_is_nothing_to_say() -> None:
    assert over_daily_budget(50_000, 50_000, None, "e-conomic") == []
    assert over_daily_budget(10**6, None, None, "Tryton") == []
    # 34 calls a minute is 48,960 a day: within 50,000, however large the import.
    assert over_daily_budget(250_000, 50_000, 34, "e-conomic") == []


def test_an_unpaced_import_over_the_budget_is_told_the_pace_that_fits() -> None:
    (warning,) = over_daily_budget(50_001, 50_000, None, "e-conomic")
    assert "about 50,001 calls to e-conomic" in warning
    assert "fair use of 50,000 calls a day" in warning
    # 50,000 // 1,440 = 34 a minute; spaced 2 % wider, 60 / 34 * 1.02 = 1.8 s a call:
    # 50,001 calls take 90,001.8 s = 1 day 1 h 0 min 2 s.
    assert "'calls per minute' in the e-conomic settings to at most 34," in warning
    assert "takes about 1 day 1 h." in warning


def test_an_import_paced_above_the_budget_is_told_its_pace_too() -> None:
    # 35 a minute is 50,400 a day: over 50,000.
    (warning,) = over_daily_budget(60_000, 50_000, 35, "e-conomic")
    assert "at most 34 (now 35)" in warning


def test_a_budget_under_one_call_a_minute_leaves_only_parts() -> None:
    (warning,) = over_daily_budget(2_000, 1_000, None, "e-conomic")
    assert "calls per minute" not in warning
    assert warning.endswith(
        "Please import by date in parts that each need fewer calls, one part a day."
    )


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "about 0 s"),
        (40.4, "about 40 s"),
        (125, "about 2 min 5 s"),
        (180, "about 3 min"),
        (3_600, "about 1 h"),
        (7_500, "about 2 h 5 min"),
        (86_400 + 4 * 3_600 + 59, "about 1 day 4 h"),
        (3 * 86_400 + 30, "about 3 days"),
    ],
)
def test_durations_in_words(seconds: float, words: str) -> None:
    assert in_words(seconds) == words
