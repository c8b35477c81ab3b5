"""Scenarios of ``tests/accounting/test_scenarios.py`` end to end: WooCommerce simulator →
engine → e-conomic simulator, on SQLite and PostgreSQL.

Each payload is added to the shop as it is, only re-dated to yesterday (the integration starts
30 days ago), then one poll transfers them all. The booked invoice is read back from the
ledger and compared with the scenario's hand-computed lines and totals; a held scenario must be
held with the same reason ``kobling preview`` gives, and nothing booked for it.

The e-conomic simulator books a line's VAT from its product's group on the domestic zone only
(group 1 = 25%, group 2 = 0%; EU and abroad zones 0%), so the scenarios here are Danish 25%/0%,
EU consumers without One-Stop-Shop, reverse charge and exports.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from kobling.engine.launch import poll_now
from kobling.engine.preview import preview
from kobling.store import repository as repo
from tests.accounting.test_scenarios import BY_ID, Scenario
from tests.accounting.woo_payloads import redated
from tests.engine.conftest import Engine

D = Decimal
ZONES = {"domestic": 1, "eu": 2, "abroad": 3}

BOOKED = (
    "dk-standard",
    "dk-split-unit-price-rounding",
    "dk-zero-rate",
    "dk-mixed-rates-shipping-follows-highest",
    "dk-free-shipping",
    "dk-untaxed-shipping",
    "dk-percentage-coupon",
    "dk-fixed-cart-coupon",
    "dk-fixed-product-coupon-uneven-split",
    "dk-negative-fee",
    "dk-tax-rounded-at-subtotal",
    "dk-rounding-at-the-tolerance",
    "dk-prices-include-tax-split",
    "dk-prices-include-tax-exact",
    "de-consumer-oss-off",
    "de-invalid-vat-number-charged-as-consumer",
    "se-consumer-oss-off-sek",
    "de-business-reverse-charge",
    "se-business-reverse-charge-sek",
    "no-export-nok",
    "us-export-usd",
    "gb-export-gbp",
    "dk-billing-shipped-to-norway",
)
HELD = (
    "no-country-at-all",
    "dk-line-without-sku",
    "dk-unknown-tax-class",
    "dk-reduced-rate-has-no-rate",
    "dk-totals-beyond-tolerance",
    "de-consumer-19-percent-while-oss-off",
    "de-business-invalid-vat-number",
    "no-export-charged-vat",
)
SKIPPED = ("dk-pending-not-eligible",)


def _transfer_all(engine: Engine, scenarios: list[Scenario]) -> dict[str, dict[str, Any]]:
    """Add the scenarios' payloads, created yesterday, poll once and wait until all settled."""
    # Yesterday at 10:00 UTC: the same calendar day in Copenhagen (the seller's local date
    # decides the invoice date), whenever the suite runs.
    yesterday = (datetime.now(UTC) - timedelta(days=1)).replace(hour=10, minute=0, second=0)
    created = yesterday.strftime("%Y-%m-%dT%H:%M:%S")
    payloads: dict[str, dict[str, Any]] = {}
    for scenario in scenarios:
        assert not scenario.settings, f"{scenario.id}: the sandbox connection has no settings"
        payload = redated(scenario.payload, created)
        engine.sandboxes.woo.add_order(payload, deliver_webhooks=False)
        payloads[scenario.id] = payload
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(len(scenarios)), timeout=120)
    return payloads


def _transfer(engine: Engine, payload: dict[str, Any]) -> Any:
    key = repo.transfer_key(engine.connection_id, "order", str(payload["id"]), "invoice")
    transfer = repo.get_transfer(engine.rt.db, key)
    assert transfer is not None, f"no transfer for order {payload['id']}"
    return transfer


def _ledger(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    economic = engine.sandboxes.economic
    found: dict[str, list[dict[str, Any]]] = {}
    for invoice in economic.booked_invoices() + economic.draft_invoices():
        found.setdefault(str(invoice["references"]["other"]), []).append(invoice)
    return found


def _booked_lines(invoice: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (
            line["product"]["productNumber"],
            D(str(line["quantity"])),
            D(str(line["unitNetPrice"])),
            D(str(line["vatRate"])),
            D(str(line["totalNetAmount"])),
            D(str(line["vatAmount"])),
        )
        for line in sorted(invoice["lines"], key=lambda x: x["lineNumber"])
    ]


def assert_booked_as_expected(
    engine: Engine, scenario: Scenario, payload: dict[str, Any], ledger: dict[str, Any]
) -> None:
    expected = scenario.expected
    transfer = _transfer(engine, payload)
    assert transfer.outcome == "done", (scenario.id, transfer.outcome, transfer.reason)
    [invoice] = ledger.get(payload["number"], [None])
    assert invoice is not None and "bookedInvoiceNumber" in invoice, (scenario.id, invoice)
    assert _booked_lines(invoice) == [
        (product, *(D(x) for x in numbers)) for product, *numbers in expected.lines
    ], scenario.id
    net, vat, gross = (D(x) for x in expected.totals)
    amounts = tuple(D(str(invoice[k])) for k in ("netAmount", "vatAmount", "grossAmount"))
    assert amounts == (net, vat, gross), scenario.id
    assert gross == D(payload["total"]), scenario.id
    assert invoice["currency"] == payload["currency"], scenario.id
    assert invoice["date"] == payload["date_created_gmt"][:10], scenario.id
    assert invoice["recipient"]["vatZone"]["vatZoneNumber"] == ZONES[expected.zone], scenario.id


def test_booked_scenarios_match_the_hand_computed_invoices(engine: Engine) -> None:
    scenarios = [BY_ID[name] for name in BOOKED]
    payloads = _transfer_all(engine, scenarios)
    ledger = _ledger(engine)
    for scenario in scenarios:
        assert_booked_as_expected(engine, scenario, payloads[scenario.id], ledger)
    assert sum(len(v) for v in ledger.values()) == len(scenarios)


def test_held_and_skipped_scenarios_book_nothing(engine: Engine) -> None:
    scenarios = [BY_ID[name] for name in HELD + SKIPPED]
    payloads = _transfer_all(engine, scenarios)
    for scenario in scenarios:
        payload = payloads[scenario.id]
        transfer = _transfer(engine, payload)
        expected = scenario.expected
        if scenario.id in SKIPPED:
            assert transfer.outcome == "skipped", (scenario.id, transfer.outcome)
            assert expected.reason in transfer.reason, (scenario.id, transfer.reason)
            continue
        assert transfer.outcome == "held", (scenario.id, transfer.outcome, transfer.reason)
        # The fragments were written for the table's date; the payload was re-dated.
        day = payload["date_created_gmt"][:10]
        original = scenario.payload["date_created_gmt"][:10]
        for fragment in expected.message:
            assert fragment.replace(original, day) in transfer.reason, (scenario.id, fragment)
        if expected.exact:
            assert [transfer.reason] == list(expected.message), scenario.id
        assert transfer.fix, scenario.id
        # What the engine held is what the preview of the same payload shows.
        [error] = preview(payload, {}, source_kind="woocommerce", target_kind="economic")["errors"]
        assert (error["code"], error["message"]) == (expected.error, transfer.reason)
    assert _ledger(engine) == {}


@pytest.mark.parametrize(
    "pair",
    [
        ("dk-taxable-fee", "dk-non-taxable-fee"),
        ("dk-percentage-coupon", "dk-zero-rated-goods-shipping-at-zero"),
    ],
    ids=["fee-25-and-0", "shipping-25-and-0"],
)
def test_one_ancillary_product_at_two_vat_rates(engine: Engine, pair: tuple[str, str]) -> None:
    scenarios = [BY_ID[name] for name in pair]
    payloads = _transfer_all(engine, scenarios)
    ledger = _ledger(engine)
    for scenario in scenarios:
        assert_booked_as_expected(engine, scenario, payloads[scenario.id], ledger)
