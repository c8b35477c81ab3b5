"""The benchmark harness's pure helpers: percentiles, per-minute rates, the call normaliser.

Expected values are worked out by hand in the comments; nothing here measures time.
"""

from __future__ import annotations

import importlib

import pytest
from bench.harness import (
    call_breakdown,
    checkpoints,
    format_seconds,
    markdown_table,
    normalise_call,
    per_minute_counts,
    percentile,
    rate_per_minute,
)
from bench.run import FIGURES, chosen_figures, databases_for


class TestPercentile:
    def test_median_of_an_even_count_lies_halfway(self) -> None:
        # sorted 1, 2, 3, 4: position (4 - 1) * 0.5 = 1.5 → 2 + 0.5 * (3 - 2)
        assert percentile([4, 1, 3, 2], 50) == 2.5

    def test_p95_interpolates_between_the_two_highest(self) -> None:
        # position 3 * 0.95 = 2.85 → 3 + 0.85 * (4 - 3)
        assert percentile([1, 2, 3, 4], 95) == pytest.approx(3.85)

    def test_p95_of_twenty_values(self) -> None:
        # 10, 20, …, 200: position 19 * 0.95 = 18.05 → 190 + 0.05 * 10
        assert percentile([10 * i for i in range(1, 21)], 95) == pytest.approx(190.5)

    def test_ends_are_min_and_max(self) -> None:
        assert percentile([5, 9, 7], 0) == 5
        assert percentile([5, 9, 7], 100) == 9

    def test_one_value(self) -> None:
        assert percentile([42.0], 95) == 42.0

    def test_no_values_or_q_outside_0_100(self) -> None:
        with pytest.raises(ValueError):
            percentile([], 50)
        with pytest.raises(ValueError):
            percentile([1], 101)


class TestPerMinute:
    def test_counts_fall_into_whole_minutes_from_start(self) -> None:
        start = 1000.0
        times = [1000.0, 1059.9, 1060.0, 1119.0, 1150.0, 1180.0, 999.0, 1200.0]
        # [1000, 1060): 1000, 1059.9 → 2; [1060, 1120): 1060, 1119 → 2;
        # [1120, 1180): 1150 → 1; 1180 and 1200 lie in minute 4, 999 before start.
        assert per_minute_counts(times, start, 3) == [2, 2, 1]

    def test_rate_is_count_over_the_interval_in_minutes(self) -> None:
        # 3 events in [0, 90): 90 s = 1.5 min → 2 a minute; 90.0 itself is outside.
        assert rate_per_minute([0.0, 30.0, 89.9, 90.0], 0.0, 90.0) == pytest.approx(2.0)

    def test_sixty_a_minute(self) -> None:
        times = [float(t) for t in range(180)]  # one a second for 3 minutes
        assert rate_per_minute(times, 0.0, 180.0) == pytest.approx(60.0)
        assert per_minute_counts(times, 0.0, 3) == [60, 60, 60]

    def test_empty_interval_is_refused(self) -> None:
        with pytest.raises(ValueError):
            rate_per_minute([1.0], 5.0, 5.0)


class TestNormaliseCall:
    @pytest.mark.parametrize(
        ("method", "path", "expected"),
        [
            ("post", "/invoices/booked", "POST /invoices/booked"),
            ("POST", "/invoices/drafts", "POST /invoices/drafts"),
            ("GET", "/customers/17", "GET /customers/{id}"),
            ("PUT", "/customers/17", "PUT /customers/{id}"),
            ("GET", "/products/MUG-BLUE", "GET /products/{id}"),
            ("GET", "/products/MUG%20SET_7_2-3", "GET /products/{id}"),
            ("GET", "/invoices/booked/12/pdf", "GET /invoices/booked/{id}/pdf"),
            (
                "GET",
                "/invoices/drafts/5/templates/booking-instructions",
                "GET /invoices/drafts/{id}/templates/booking-instructions",
            ),
            ("POST", "/journals/1/vouchers", "POST /journals/{id}/vouchers"),
            ("GET", "/journals/1/vouchers/2026-3", "GET /journals/{id}/vouchers/{id}"),
            ("GET", "/self", "GET /self"),
            ("GET", "/vat-zones/1/", "GET /vat-zones/{id}"),
        ],
    )
    def test_ids_become_placeholders(self, method: str, path: str, expected: str) -> None:
        assert normalise_call(method, path) == expected

    def test_query_keeps_names_and_the_filtered_fields(self) -> None:
        path = "/customers?filter=email$eq:a@example.com&pagesize=2&skippages=0"
        assert normalise_call("GET", path) == "GET /customers?filter=email&pagesize&skippages"

    def test_filter_on_several_fields_lists_each_once_sorted(self) -> None:
        path = (
            "/invoices/booked?filter=references.other$eq:1001"
            "$or:references.other$eq:1002$and:date$gte:2026-01-01"
        )
        assert normalise_call("GET", path) == "GET /invoices/booked?filter=date,references.other"


def test_call_breakdown_counts_per_call_and_per_order() -> None:
    calls = [
        ("POST", "/invoices/drafts", 201),
        ("POST", "/invoices/booked", 201),
        ("POST", "/invoices/drafts", 201),
        ("POST", "/invoices/booked", 201),
        ("GET", "/products/A", 404),
        ("GET", "/products/B", 200),
        ("POST", "/invoices/booked", 429),
    ]
    # 2 orders: booked 3 (one refused) → 1.5/order; drafts 2 → 1.0; products 2 (one 404) → 1.0
    assert call_breakdown(calls, 2) == [
        ("POST /invoices/booked", 3, 1, 1.5),
        ("GET /products/{id}", 2, 1, 1.0),
        ("POST /invoices/drafts", 2, 0, 1.0),
    ]


def test_checkpoints_run_1_2_5_and_end_at_the_total() -> None:
    assert checkpoints(2500) == [100, 200, 500, 1000, 2000, 2500]
    assert checkpoints(100_000) == [
        100,
        200,
        500,
        1000,
        2000,
        5000,
        10_000,
        20_000,
        50_000,
        100_000,
    ]
    assert checkpoints(300) == [100, 200, 300]
    assert checkpoints(50) == [50]
    assert checkpoints(0) == []


def test_markdown_table_aligns_and_formats() -> None:
    table = markdown_table(["what", "n", "rate"], [["a|b", 3, 2.5], ["c", 10, 57.25]], "lrr")
    assert table.splitlines() == [
        "| what | n | rate |",
        "|---|---:|---:|",
        "| a\\|b | 3 | 2.50 |",
        "| c | 10 | 57.2 |",
    ]
    with pytest.raises(ValueError):
        markdown_table(["a", "b"], [[1]])


def test_format_seconds() -> None:
    assert format_seconds(42.4) == "42 s"
    assert format_seconds(95) == "1 min 35 s"
    assert format_seconds(7300) == "2 h 1 min"


def test_figures_and_databases_chosen() -> None:
    # Every figure, in order, and each has its module with a ``main``.
    assert chosen_figures([]) == list(FIGURES)
    assert all(callable(importlib.import_module(f"bench.{f}").main) for f in FIGURES)
    assert chosen_figures(["memory,latency"]) == ["latency", "memory"]
    with pytest.raises(SystemExit):
        chosen_figures(["nope"])
    pg = "postgresql+psycopg://postgres@127.0.0.1:5432/x"
    assert databases_for("engine_overhead", "auto", pg) == (None, pg)
    assert databases_for("latency", "auto", pg) == (None,)
    assert databases_for("latency", "postgresql", pg) == (pg,)
    assert databases_for("latency", "all", pg) == (None, pg)
    assert databases_for("engine_overhead", "auto", None) == (None,)
    with pytest.raises(SystemExit):
        databases_for("latency", "postgresql", None)
