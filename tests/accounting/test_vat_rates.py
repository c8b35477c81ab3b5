"""Dated EU VAT rates. Every expected value below is written by hand from the cited source,
never read back from the data file, so a wrong edit of the file fails here."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal
from itertools import pairwise
from typing import Any

import pytest

from kobling.accounting.vat_rates import (
    CATEGORIES,
    EU_MEMBER_STATES,
    UnknownVatRate,
    VatRatesFileError,
    all_rates,
    is_eu,
    parse_rates,
    rate_on,
    rates_of,
)

D = Decimal
FIRST = date(2021, 1, 1)
TODAY = date(2026, 11, 21)

# The 27 member states, written out here rather than taken from the module.
# fmt: off
MEMBERS = {
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
    "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
}
# fmt: on


# --- the known changes, on both sides of their dates --------------------------------------


@pytest.mark.parametrize(
    ("country", "category", "on", "expected"),
    [
        # Finland: standard 24 → 25.5 on 1 Sep 2024 (Vero, "Rates of VAT").
        ("FI", "standard", date(2024, 8, 31), "24"),
        ("FI", "standard", date(2024, 9, 1), "25.5"),
        # Finland: the 14% rate lowered to 13.5% on 1 Jan 2026; the 10% rate stays for
        # newspapers and magazines after books moved up to 14% on 1 Jan 2025 (Vero).
        ("FI", "reduced", date(2025, 12, 31), "14"),
        ("FI", "reduced", date(2026, 1, 1), "13.5"),
        ("FI", "reduced2", date(2024, 12, 31), "10"),
        ("FI", "reduced2", date(2025, 1, 1), "10"),
        # Slovakia: 20 → 23 and 10 → 5, plus the new 19%, on 1 Jan 2025 (Act 278/2024).
        ("SK", "standard", date(2024, 12, 31), "20"),
        ("SK", "standard", date(2025, 1, 1), "23"),
        ("SK", "reduced", date(2024, 12, 31), "10"),
        ("SK", "reduced", date(2025, 1, 1), "5"),
        ("SK", "reduced2", date(2024, 12, 31), "5"),
        ("SK", "reduced2", date(2025, 1, 1), "19"),
        # Estonia: 20 → 22 on 1 Jan 2024, 22 → 24 on 1 Jul 2025; press 5% from 1 Aug 2022,
        # accommodation 13% from 1 Jan 2025.
        ("EE", "standard", date(2023, 12, 31), "20"),
        ("EE", "standard", date(2024, 1, 1), "22"),
        ("EE", "standard", date(2025, 6, 30), "22"),
        ("EE", "standard", date(2025, 7, 1), "24"),
        ("EE", "reduced", date(2025, 7, 1), "9"),
        ("EE", "reduced2", date(2022, 8, 1), "5"),
        ("EE", "reduced2", date(2024, 12, 31), "5"),
        ("EE", "reduced2", date(2025, 1, 1), "13"),
        # Romania: 19 → 21, 9 → 11 on 1 Aug 2025 (Law 141/2025).
        ("RO", "standard", date(2025, 7, 31), "19"),
        ("RO", "standard", date(2025, 8, 1), "21"),
        ("RO", "reduced", date(2025, 7, 31), "9"),
        ("RO", "reduced", date(2025, 8, 1), "11"),
        ("RO", "reduced2", date(2025, 7, 31), "5"),
        # Czech Republic: 15% and 10% merged into 12% on 1 Jan 2024 (Act 349/2023).
        ("CZ", "reduced", date(2023, 12, 31), "15"),
        ("CZ", "reduced2", date(2023, 12, 31), "10"),
        ("CZ", "reduced", date(2024, 1, 1), "12"),
        ("CZ", "standard", date(2024, 1, 1), "21"),
        # Luxembourg: every rate but 3% one point lower during 2023 only.
        ("LU", "standard", date(2022, 12, 31), "17"),
        ("LU", "standard", date(2023, 1, 1), "16"),
        ("LU", "standard", date(2023, 12, 31), "16"),
        ("LU", "standard", date(2024, 1, 1), "17"),
        ("LU", "reduced", date(2023, 6, 1), "7"),
        ("LU", "reduced2", date(2023, 6, 1), "13"),
        ("LU", "super_reduced", date(2023, 6, 1), "3"),
        ("LU", "reduced", date(2024, 1, 1), "8"),
        # Ireland: the temporary 21% ended 28 Feb 2021.
        ("IE", "standard", date(2021, 1, 1), "21"),
        ("IE", "standard", date(2021, 2, 28), "21"),
        ("IE", "standard", date(2021, 3, 1), "23"),
        ("IE", "super_reduced", TODAY, "4.8"),
        # Lithuania: 9% replaced by 12% on 1 Jan 2026 (Law XV-287).
        ("LT", "reduced", date(2025, 12, 31), "9"),
        ("LT", "reduced", date(2026, 1, 1), "12"),
        ("LT", "reduced2", date(2026, 1, 1), "5"),
        # Cyprus: the 3% rate exists from 21 Jul 2023.
        ("CY", "super_reduced", date(2023, 7, 21), "3"),
        # Stable countries.
        ("DK", "standard", FIRST, "25"),
        ("DK", "standard", TODAY, "25"),
        ("DE", "standard", FIRST, "19"),
        ("DE", "reduced", FIRST, "7"),
        ("DE", "standard", TODAY, "19"),
        ("DE", "reduced", TODAY, "7"),
        ("FR", "standard", TODAY, "20"),
        ("FR", "reduced", TODAY, "5.5"),
        ("FR", "reduced2", TODAY, "10"),
        ("FR", "super_reduced", TODAY, "2.1"),
        ("NL", "standard", TODAY, "21"),
        ("NL", "reduced", TODAY, "9"),
        ("SE", "standard", TODAY, "25"),
        ("SE", "reduced", TODAY, "12"),
        ("SE", "reduced2", TODAY, "6"),
        ("SE", "reduced", FIRST, "12"),
        ("SE", "reduced2", FIRST, "6"),
        ("GR", "standard", TODAY, "24"),
        ("HU", "standard", TODAY, "27"),
    ],
)
def test_rate_on(country: str, category: str, on: date, expected: str) -> None:
    found = rate_on(country, category, on)
    assert found.rate == D(expected)
    assert (found.country, found.category) == (country, category)
    assert found.valid_on(on)


def test_valid_to_is_exclusive() -> None:
    before = rate_on("FI", "standard", date(2024, 8, 31))
    assert before.valid_to == date(2024, 9, 1)
    assert rate_on("FI", "standard", date(2024, 9, 1)) != before


def test_lookup_normalises_the_country_code() -> None:
    assert rate_on(" fi ", "standard", TODAY).rate == D("25.5")


def test_categories_that_ended_or_began_are_missing_on_the_other_side() -> None:
    # The Czech 10% ended with 2023, Romania's 5% with July 2025, Cyprus's 3% began 21 Jul 2023.
    for country, category, on in [
        ("CZ", "reduced2", date(2024, 1, 1)),
        ("RO", "reduced2", date(2025, 8, 1)),
        ("CY", "super_reduced", date(2023, 7, 20)),
        ("EE", "reduced2", date(2022, 7, 31)),
        ("SK", "reduced2", date(2022, 12, 31)),
    ]:
        with pytest.raises(UnknownVatRate):
            rate_on(country, category, on)


def test_rates_of_gives_every_category_of_the_day() -> None:
    assert {k: v.rate for k, v in rates_of("DK", TODAY).items()} == {"standard": 25, "zero": 0}
    assert {k: v.rate for k, v in rates_of("FR", TODAY).items()} == {
        "standard": D(20),
        "reduced": D("5.5"),
        "reduced2": D(10),
        "super_reduced": D("2.1"),
        "zero": D(0),
    }
    assert {k: v.rate for k, v in rates_of("CZ", date(2023, 6, 1)).items()} == {
        "standard": D(21),
        "reduced": D(15),
        "reduced2": D(10),
        "zero": D(0),
    }


# --- completeness and consistency of the packaged file --------------------------------------


def _months(first: date, last: date) -> list[date]:
    days, day = [], first
    while day <= last:
        days.append(day)
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return [*days, last]


def test_the_file_holds_exactly_the_27_member_states() -> None:
    assert {r.country for r in all_rates()} == MEMBERS
    assert set(EU_MEMBER_STATES) == MEMBERS


@pytest.mark.parametrize("country", sorted(MEMBERS))
def test_standard_and_zero_exist_every_month(country: str) -> None:
    for on in _months(FIRST, TODAY):
        standard = rate_on(country, "standard", on).rate
        assert D(15) <= standard <= D(27), (country, on, standard)  # EU minimum; HU is highest
        assert rate_on(country, "zero", on).rate == 0


def test_no_overlapping_periods_in_the_file() -> None:
    periods: dict[tuple[str, str], list[tuple[date, date]]] = {}
    for r in all_rates():
        periods.setdefault((r.country, r.category), []).append(
            (r.valid_from, r.valid_to or date.max)
        )
    for key, spans in periods.items():
        spans.sort()
        for (_, end), (start, _) in pairwise(spans):
            assert end <= start, key


def test_every_entry_cites_a_source_and_is_sane() -> None:
    for r in all_rates():
        assert "http" in r.source, r
        assert r.note.strip(), r
        assert r.category in CATEGORIES
        assert r.valid_to is None or r.valid_from < r.valid_to
        assert D(0) <= r.rate <= D(30)
        # super-reduced means below 5%; the reduced rates are 5% or more.
        if r.category == "super_reduced":
            assert r.rate < 5, r
        if r.category in ("reduced", "reduced2"):
            assert 5 <= r.rate < rate_on(r.country, "standard", r.valid_from).rate, r


# --- unknown country, category or date ------------------------------------------------------


def test_unknown_category_names_the_categories() -> None:
    with pytest.raises(UnknownVatRate) as caught:
        rate_on("DE", "luxury", TODAY)
    message = str(caught.value)
    assert "'luxury'" in message and "DE" in message and "2026-11-21" in message
    assert "standard, reduced, reduced2, super_reduced, zero" in message
    assert "tax class" in message


def test_category_the_country_lacks_names_what_it_has_and_the_fix() -> None:
    with pytest.raises(UnknownVatRate) as caught:
        rate_on("DK", "reduced", date(2025, 3, 1))
    message = str(caught.value)
    assert "DK" in message and "reduced" in message and "2025-03-01" in message
    assert "standard, zero" in message
    assert "tax class" in message and "accounting/data/eu_vat_rates.json" in message
    assert (caught.value.country, caught.value.category, caught.value.on) == (
        "DK",
        "reduced",
        date(2025, 3, 1),
    )


def test_unknown_country() -> None:
    with pytest.raises(UnknownVatRate) as caught:
        rate_on("US", "standard", TODAY)
    assert "'US'" in str(caught.value) and "27 EU member states" in str(caught.value)
    with pytest.raises(UnknownVatRate) as caught:
        rates_of("NO", TODAY)
    assert "'NO'" in str(caught.value)


def test_greek_vat_prefix_points_to_the_iso_code() -> None:
    with pytest.raises(UnknownVatRate, match="use GR"):
        rate_on("EL", "standard", TODAY)
    assert rate_on("GR", "reduced", TODAY).rate == D(13)


def test_date_before_coverage() -> None:
    with pytest.raises(UnknownVatRate, match="covers 2021-01-01 onwards") as caught:
        rate_on("DE", "standard", date(2020, 12, 31))
    assert "DE" in str(caught.value) and "2020-12-31" in str(caught.value)
    with pytest.raises(UnknownVatRate):
        rates_of("DE", date(2020, 12, 31))


# --- EU membership -------------------------------------------------------------------------


def test_is_eu() -> None:
    assert all(is_eu(code) for code in MEMBERS)
    assert is_eu("de") and is_eu(" GR ")
    assert not is_eu("EL")  # a VAT prefix, not a country code
    assert not is_eu("US") and not is_eu("NO") and not is_eu("CH") and not is_eu("")
    assert not is_eu("GB") and not is_eu("GB", date(2021, 1, 1))
    assert is_eu("GB", date(2020, 12, 31))  # Brexit transition period


# --- the validator, on broken in-memory documents --------------------------------------------


def _valid_document() -> dict[str, Any]:
    """A minimal valid document: standard 20 and zero for each of the 27, plus a DE reduced."""
    rates: list[dict[str, Any]] = []
    for country in sorted(MEMBERS):
        for category, rate in (("standard", "20"), ("zero", "0")):
            rates.append(
                {
                    "country": country,
                    "category": category,
                    "rate": rate,
                    "valid_from": "2021-01-01",
                    "valid_to": None,
                    "source": "test",
                    "note": "",
                }
            )
    rates.append(
        {
            "country": "DE",
            "category": "reduced",
            "rate": "7",
            "valid_from": "2021-01-01",
            "valid_to": "2024-01-01",
            "source": "test",
            "note": "",
        }
    )
    return {
        "version": "2026-11-21",
        "coverage_from": "2021-01-01",
        "sources": [],
        "not_modelled": [],
        "rates": rates,
    }


def _de_reduced(doc: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = doc["rates"][-1]
    return entry


def test_the_valid_sample_passes() -> None:
    coverage, rates = parse_rates(_valid_document())
    assert coverage == FIRST and len(rates) == 55


def _overlap(doc: dict[str, Any]) -> None:
    later = copy.deepcopy(_de_reduced(doc))
    later.update(rate="5", valid_from="2023-12-31", valid_to=None)
    doc["rates"].append(later)


def _gap_in_standard(doc: dict[str, Any]) -> None:
    first = doc["rates"][0]  # AT standard
    first["valid_to"] = "2024-01-01"
    later = copy.deepcopy(first)
    later.update(valid_from="2024-02-01", valid_to=None)
    doc["rates"].append(later)


@pytest.mark.parametrize(
    ("break_it", "complaint"),
    [
        (_overlap, "the reduced rates of DE overlap"),
        (lambda d: _de_reduced(d).update(valid_to="2021-01-01"), "must be after valid_from"),
        (lambda d: _de_reduced(d).update(valid_to="2020-06-01"), "must be after valid_from"),
        (lambda d: _de_reduced(d).update(rate="31"), "outside 0-30"),
        (lambda d: _de_reduced(d).update(rate="-1"), "outside 0-30"),
        (lambda d: _de_reduced(d).update(rate=7.0), "decimal string"),
        (lambda d: _de_reduced(d).update(rate="seven"), "not a decimal number"),
        (lambda d: _de_reduced(d).update(source=""), "must name its source"),
        (lambda d: _de_reduced(d).update(source="  "), "must name its source"),
        (lambda d: _de_reduced(d).pop("source"), "missing source"),
        (lambda d: _de_reduced(d).update(category="luxury"), "category 'luxury'"),
        (lambda d: _de_reduced(d).update(country="EL"), "Greece is GR"),
        (lambda d: _de_reduced(d).update(country="GB"), "'GB' is not an EU member"),
        (lambda d: _de_reduced(d).update(valid_from="2021-13-01"), "not a date"),
        (lambda d: d["rates"][1].update(rate="5"), "'zero' category must have rate"),
        (lambda d: d["rates"].pop(0), "AT has no standard rate on 2021-01-01"),
        (_gap_in_standard, "AT has no standard rate on 2024-01-01"),
        (lambda d: d["rates"][0].update(valid_to="2026-01-01"), "no standard rate on 2026-01-01"),
        (lambda d: d.pop("coverage_from"), "'coverage_from' is missing"),
        (lambda d: d.update(rates={}), "'rates' must be a list"),
    ],
)
def test_validator_rejects_broken_documents(break_it: Any, complaint: str) -> None:
    doc = _valid_document()
    break_it(doc)
    with pytest.raises(VatRatesFileError) as caught:
        parse_rates(doc)
    assert complaint in str(caught.value)
    assert "eu_vat_rates.json" in str(caught.value)


def test_validator_rejects_a_non_object() -> None:
    with pytest.raises(VatRatesFileError, match="top level"):
        parse_rates([])
