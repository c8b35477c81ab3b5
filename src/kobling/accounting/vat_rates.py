"""The EU member states' VAT rates, dated, read from ``data/eu_vat_rates.json``.

Why a data file and not constants: rates change (Finland, Slovakia, Estonia, Romania and others
changed theirs between 2021 and 2026), and an order must be booked at the rate valid on its tax
point, which may lie before the latest change. So every rate carries its validity period and the
source it was taken from, and a lookup names a date.

Why lookups raise instead of guessing: a wrong VAT rate on an invoice is worse than a held
transfer. When the file has no rate for a country, category and date, ``UnknownVatRate`` says so
and how to fix it, and the caller turns that into a held transfer with the reason.

The file is validated once, when first used: overlapping periods, a period that ends before it
starts, a rate outside 0-30 %, or an entry without a source would make every later answer
doubtful, so a broken file fails loudly (``VatRatesFileError``) instead of answering.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from itertools import pairwise

DATA_FILE = "accounting/data/eu_vat_rates.json"

CATEGORIES = ("standard", "reduced", "reduced2", "super_reduced", "zero")

# The 27 member states by ISO 3166-1 alpha-2 code: Greece is GR here, although its VAT numbers
# start with EL.
# fmt: off
EU_MEMBER_STATES = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
    "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
})
# fmt: on

# The United Kingdom left the EU VAT area when the Brexit transition period ended.
_GB_LEFT = date(2021, 1, 1)

MIN_RATE = Decimal(0)
MAX_RATE = Decimal(30)

_FIELDS = ("country", "category", "rate", "valid_from", "valid_to", "source", "note")


@dataclass(frozen=True)
class VatRate:
    """One rate of one category in one country, valid from ``valid_from`` up to (but not on)
    ``valid_to``; ``valid_to`` is ``None`` while the rate is still in force."""

    country: str
    category: str
    rate: Decimal
    valid_from: date
    valid_to: date | None
    source: str
    note: str

    def valid_on(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on < self.valid_to)


class UnknownVatRate(LookupError):
    """No rate is known for this country, category and date.

    The message is meant for a shop owner: it names what was asked for and the fix.
    """

    def __init__(self, message: str, *, country: str, category: str, on: date) -> None:
        super().__init__(message)
        self.country = country
        self.category = category
        self.on = on


class VatRatesFileError(ValueError):
    """The rates file is broken; no rate from it can be trusted until it is fixed."""


@dataclass(frozen=True)
class _Table:
    coverage_from: date
    by_key: Mapping[tuple[str, str], tuple[VatRate, ...]]


def rate_on(country: str, category: str, on: date) -> VatRate:
    """The ``category`` rate of ``country`` valid on ``on`` (the sale's tax point)."""
    code = _normalise(country)
    cat = category.strip()
    table = _table()
    if code not in EU_MEMBER_STATES:
        raise _unknown_country(code, cat, on)
    if cat not in CATEGORIES:
        raise UnknownVatRate(
            f"{category!r} is not a VAT rate category (asked for {code} on {on.isoformat()}); "
            f"the categories are {', '.join(CATEGORIES)}: map the shop's tax class to one of them",
            country=code,
            category=cat,
            on=on,
        )
    for rate in table.by_key.get((code, cat), ()):
        if rate.valid_on(on):
            return rate
    if on < table.coverage_from:
        raise UnknownVatRate(
            f"no {cat} VAT rate for {code} on {on.isoformat()}: {DATA_FILE} covers "
            f"{table.coverage_from.isoformat()} onwards; add the older rate to {DATA_FILE} "
            "if such orders must be booked",
            country=code,
            category=cat,
            on=on,
        )
    has = [r.category for r in _valid(table, code, on)]
    raise UnknownVatRate(
        f"{code} has no {cat} VAT rate on {on.isoformat()} (it has: {', '.join(has) or 'none'}); "
        f"choose another tax class for the product, or add the rate to {DATA_FILE}",
        country=code,
        category=cat,
        on=on,
    )


def rates_of(country: str, on: date) -> dict[str, VatRate]:
    """Every category ``country`` has on ``on``, by category name."""
    code = _normalise(country)
    table = _table()
    if code not in EU_MEMBER_STATES:
        raise _unknown_country(code, "", on)
    found = {rate.category: rate for rate in _valid(table, code, on)}
    if not found:
        raise UnknownVatRate(
            f"no VAT rates for {code} on {on.isoformat()}: {DATA_FILE} covers "
            f"{table.coverage_from.isoformat()} onwards",
            country=code,
            category="",
            on=on,
        )
    return found


def is_eu(country: str, on: date | None = None) -> bool:
    """Is ``country`` (ISO 3166-1 alpha-2) in the EU VAT area?

    The 27 member states; the United Kingdom too, but only for a date before 2021-01-01 (the end
    of the Brexit transition period), so an old order can still be classified correctly.
    """
    code = _normalise(country)
    if code == "GB":
        return on is not None and on < _GB_LEFT
    return code in EU_MEMBER_STATES


def all_rates() -> tuple[VatRate, ...]:
    """Every entry of the packaged file, validated, in file order (for reports and tests)."""
    return tuple(_load_packaged()[1])


def parse_rates(document: object) -> tuple[date, tuple[VatRate, ...]]:
    """Validate a rates document (the parsed JSON) and return its coverage start and entries.

    Raises ``VatRatesFileError`` naming the first problem found, so a broken edit of the file
    is caught the first time any rate is looked up (and by the tests) instead of producing
    wrong invoices.
    """
    if not isinstance(document, Mapping):
        raise VatRatesFileError(f"{DATA_FILE}: the top level must be a JSON object")
    for key in ("version", "coverage_from", "sources", "not_modelled", "rates"):
        if key not in document:
            raise VatRatesFileError(f"{DATA_FILE}: the top-level key {key!r} is missing")
    _parse_date(document["version"], "version")
    coverage_from = _parse_date(document["coverage_from"], "coverage_from")
    entries = document["rates"]
    if not isinstance(entries, Sequence) or isinstance(entries, str):
        raise VatRatesFileError(f"{DATA_FILE}: 'rates' must be a list")
    rates = tuple(_parse_entry(entry, index) for index, entry in enumerate(entries))
    _check_no_overlap(rates)
    _check_always_defined(rates, coverage_from)
    return coverage_from, rates


def _parse_entry(entry: object, index: int) -> VatRate:
    where = f"{DATA_FILE}, rates[{index}]"
    if not isinstance(entry, Mapping):
        raise VatRatesFileError(f"{where}: each rate must be a JSON object")
    missing = [name for name in _FIELDS if name not in entry]
    if missing:
        raise VatRatesFileError(f"{where}: missing {', '.join(missing)}")
    country = entry["country"]
    if not isinstance(country, str) or country not in EU_MEMBER_STATES:
        raise VatRatesFileError(
            f"{where}: country {country!r} is not an EU member state's ISO code (Greece is GR)"
        )
    category = entry["category"]
    if category not in CATEGORIES:
        raise VatRatesFileError(
            f"{where}: category {category!r} is not one of {', '.join(CATEGORIES)}"
        )
    rate = _parse_rate(entry["rate"], where)
    if category == "zero" and rate != 0:
        raise VatRatesFileError(f"{where}: a 'zero' category must have rate \"0\", not {rate}")
    valid_from = _parse_date(entry["valid_from"], f"rates[{index}].valid_from")
    raw_to = entry["valid_to"]
    valid_to = None if raw_to is None else _parse_date(raw_to, f"rates[{index}].valid_to")
    if valid_to is not None and valid_to <= valid_from:
        raise VatRatesFileError(
            f"{where}: valid_to {valid_to.isoformat()} must be after valid_from "
            f"{valid_from.isoformat()} (valid_to is exclusive)"
        )
    source = entry["source"]
    if not isinstance(source, str) or not source.strip():
        raise VatRatesFileError(f"{where}: every rate must name its source")
    note = entry["note"]
    if not isinstance(note, str):
        raise VatRatesFileError(f"{where}: note must be a string")
    return VatRate(country, category, rate, valid_from, valid_to, source, note)


def _parse_rate(raw: object, where: str) -> Decimal:
    # Strings only: a JSON number would pass through a binary float before becoming a Decimal.
    if not isinstance(raw, str):
        raise VatRatesFileError(f'{where}: rate must be a decimal string such as "25.5"')
    try:
        rate = Decimal(raw)
    except InvalidOperation:
        raise VatRatesFileError(f"{where}: rate {raw!r} is not a decimal number") from None
    if not rate.is_finite() or not MIN_RATE <= rate <= MAX_RATE:
        raise VatRatesFileError(f"{where}: rate {raw} is outside {MIN_RATE}-{MAX_RATE} %")
    return rate


def _parse_date(raw: object, what: str) -> date:
    if not isinstance(raw, str):
        raise VatRatesFileError(f"{DATA_FILE}: {what} must be a date string YYYY-MM-DD")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise VatRatesFileError(f"{DATA_FILE}: {what} {raw!r} is not a date YYYY-MM-DD") from None


def _check_no_overlap(rates: Sequence[VatRate]) -> None:
    """Two entries valid on the same day would make the answer depend on file order."""
    grouped: dict[tuple[str, str], list[VatRate]] = defaultdict(list)
    for rate in rates:
        grouped[(rate.country, rate.category)].append(rate)
    for (country, category), periods in grouped.items():
        periods.sort(key=lambda r: r.valid_from)
        for earlier, later in pairwise(periods):
            if earlier.valid_to is None or earlier.valid_to > later.valid_from:
                end = "open" if earlier.valid_to is None else earlier.valid_to.isoformat()
                raise VatRatesFileError(
                    f"{DATA_FILE}: the {category} rates of {country} overlap: "
                    f"{earlier.rate} from {earlier.valid_from.isoformat()} to {end} and "
                    f"{later.rate} from {later.valid_from.isoformat()}"
                )


def _check_always_defined(rates: Sequence[VatRate], coverage_from: date) -> None:
    """Every member state must have a standard and a zero rate on every day from the start of
    coverage on: those two answer every order, so a gap would hold orders for no real reason."""
    for country in sorted(EU_MEMBER_STATES):
        for category in ("standard", "zero"):
            periods = sorted(
                (r for r in rates if r.country == country and r.category == category),
                key=lambda r: r.valid_from,
            )
            day: date | None = coverage_from
            for period in periods:
                if day is None or period.valid_from > day:
                    break
                if period.valid_to is None or period.valid_to > day:
                    day = period.valid_to
            if day is not None:
                raise VatRatesFileError(
                    f"{DATA_FILE}: {country} has no {category} rate on {day.isoformat()}; "
                    f"every member state needs one on every day from {coverage_from.isoformat()}"
                )


@cache
def _load_packaged() -> tuple[date, tuple[VatRate, ...]]:
    path = resources.files("kobling.accounting").joinpath("data").joinpath("eu_vat_rates.json")
    text = path.read_text(encoding="utf-8")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise VatRatesFileError(f"{DATA_FILE} is not valid JSON: {exc}") from exc
    return parse_rates(document)


@cache
def _table() -> _Table:
    coverage_from, rates = _load_packaged()
    grouped: dict[tuple[str, str], list[VatRate]] = defaultdict(list)
    for rate in rates:
        grouped[(rate.country, rate.category)].append(rate)
    by_key = {
        key: tuple(sorted(periods, key=lambda r: r.valid_from)) for key, periods in grouped.items()
    }
    return _Table(coverage_from, by_key)


def _valid(table: _Table, country: str, on: date) -> list[VatRate]:
    return [
        rate
        for category in CATEGORIES
        for rate in table.by_key.get((country, category), ())
        if rate.valid_on(on)
    ]


def _normalise(country: str) -> str:
    return country.strip().upper()


def _unknown_country(code: str, category: str, on: date) -> UnknownVatRate:
    what = f"{category} VAT rate" if category else "VAT rates"
    if code == "EL":
        hint = "Greece's ISO country code is GR (EL is only its VAT-number prefix): use GR"
    else:
        hint = (
            f"{DATA_FILE} holds the 27 EU member states only; a sale to {code or 'no country'} "
            "is not charged EU VAT at that country's rates"
        )
    return UnknownVatRate(
        f"no {what} for country {code!r} on {on.isoformat()}: {hint}",
        country=code,
        category=category,
        on=on,
    )
