"""Scenarios: WooCommerce order payloads through ``kobling preview``, checked against invoices
computed by hand.

Every scenario is a REST v3 payload (``woo_payloads.woo_order``, whose ``total`` and
``total_tax`` are written by hand), the connection's flat settings, and the expected document:
lines as (product, quantity, unit price net, VAT rate, net, VAT), totals, rounding and VAT zone;
or the held code with fragments of its message. The comment above each scenario shows the
arithmetic. Rates are those of ``accounting/data/eu_vat_rates.json`` (DK: standard 25 and zero
only; DE 19/7; FR 20/5.5; SE 25/12/6 (food at 6% from 2026-04-01); FI 24 until 2024-08-31,
25.5 from 2024-09-01, reduced 13.5 from 2026). A line's VAT is rounded half-up per document
line, as e-conomic does.

``tests/engine/test_scenarios_e2e.py`` books a subset of these against the e-conomic simulator.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from kobling.engine.preview import preview
from tests.accounting.woo_payloads import woo_order

KINDS = {"source_kind": "woocommerce", "target_kind": "economic"}

D = Decimal
Line = tuple[str, str, str, str, str, str]  # product, quantity, unit net, VAT %, net, VAT


@dataclass(frozen=True)
class Expected:
    lines: tuple[Line, ...] = ()
    totals: tuple[str, str, str] = ("0", "0", "0")  # net, VAT, gross
    rounding: str = "0"
    zone: str = "domestic"
    date: str = ""  # the document date; the order's creation date when empty
    discounts: tuple[str, ...] = ()  # the discount shown on each line, when checked
    eligible: bool = True
    reason: str = ""  # a fragment of the eligibility reason
    error: str = ""  # the held code; empty when a document is planned
    message: tuple[str, ...] = ()  # fragments of the held message
    exact: bool = False  # the one fragment is the whole message


@dataclass(frozen=True)
class Scenario:
    id: str
    payload: dict[str, Any]
    expected: Expected
    settings: dict[str, Any] = field(default_factory=dict)
    bug: str = ""  # a known bug: the scenario is a strict xfail until it is fixed

    def param(self) -> Any:
        marks = [pytest.mark.xfail(strict=True, reason=self.bug)] if self.bug else []
        return pytest.param(self, id=self.id, marks=marks)


def held(code: str, *fragments: str, exact: bool = False) -> Expected:
    return Expected(eligible=False, error=code, message=fragments, exact=exact)


OSS = {"oss": True}
NO_COUNTRY = "the order has no billing or shipping country, so its VAT cannot be determined"

SCENARIOS: list[Scenario] = [
    # ---------------------------------------------------------------- domestic, Denmark
    Scenario(
        # 2 × 100.00 = 200.00, VAT 25% = 50.00; gross 250.00.
        "dk-standard",
        woo_order(
            1001,
            lines=[("MUG-BLUE", "Blue mug", 2, "200.00", "200.00", "50.00", "")],
            total="250.00",
            total_tax="50.00",
            country="DK",
        ),
        Expected(
            lines=(("MUG-BLUE", "2", "100.00", "25", "200.00", "50.00"),),
            totals=("200.00", "50.00", "250.00"),
        ),
    ),
    Scenario(
        # 10.00 for 3: 2 × 3.33 = 6.66 (VAT 1.665 → 1.67) + 1 × 3.34 (VAT 0.835 → 0.84):
        # VAT 2.51 against the shop's 2.50, gross 12.51 vs 12.50 → rounding −0.01 at 0%.
        # Net 6.66 + 3.34 − 0.01 = 9.99; VAT 2.51; gross 12.50.
        "dk-split-unit-price-rounding",
        woo_order(
            1002,
            lines=[("TEE-3", "T-shirt", 3, "10.00", "10.00", "2.50", "")],
            total="12.50",
            total_tax="2.50",
            country="DK",
        ),
        Expected(
            lines=(
                ("TEE-3", "2", "3.33", "25", "6.66", "1.67"),
                ("TEE-3", "1", "3.34", "25", "3.34", "0.84"),
                ("ROUNDING", "1", "-0.01", "0", "-0.01", "0.00"),
            ),
            totals=("9.99", "2.51", "12.50"),
            rounding="-0.01",
        ),
    ),
    Scenario(
        # WooCommerce's "zero-rate" class → DK zero (0%): 40.00, VAT 0.00.
        "dk-zero-rate",
        woo_order(
            1003,
            lines=[("NEWS-1", "Weekly newspaper", 1, "40.00", "40.00", "0.00", "zero-rate")],
            total="40.00",
            total_tax="0.00",
            country="DK",
        ),
        Expected(
            lines=(("NEWS-1", "1", "40.00", "0", "40.00", "0.00"),),
            totals=("40.00", "0.00", "40.00"),
        ),
    ),
    Scenario(
        # "reduced-rate" → category reduced, and the rates file gives Denmark no reduced rate
        # (only standard 25 and zero): held, naming what Denmark has.
        "dk-reduced-rate-has-no-rate",
        woo_order(
            1004,
            lines=[("BREAD", "Rye bread", 1, "30.00", "30.00", "7.50", "reduced-rate")],
            total="37.50",
            total_tax="7.50",
            country="DK",
        ),
        held("unknown_rate", "DK has no reduced VAT rate on 2026-11-02", "it has: standard, zero"),
    ),
    Scenario(
        # Lamp 100.00 + 25.00 (25%), newspaper 40.00 + 0.00 (zero); shipping follows the
        # highest rate of the goods, 25%: 49.00 + 12.25.
        # Net 100 + 40 + 49 = 189.00; VAT 25.00 + 12.25 = 37.25; gross 226.25.
        "dk-mixed-rates-shipping-follows-highest",
        woo_order(
            1005,
            lines=[
                ("LAMP-1", "Desk lamp", 1, "100.00", "100.00", "25.00", ""),
                ("NEWS-1", "Weekly newspaper", 1, "40.00", "40.00", "0.00", "zero-rate"),
            ],
            shipping=[("Flat rate", "49.00", "12.25")],
            total="226.25",
            total_tax="37.25",
            country="DK",
        ),
        Expected(
            lines=(
                ("LAMP-1", "1", "100.00", "25", "100.00", "25.00"),
                ("NEWS-1", "1", "40.00", "0", "40.00", "0.00"),
                ("SHIPPING", "1", "49.00", "25", "49.00", "12.25"),
            ),
            totals=("189.00", "37.25", "226.25"),
        ),
    ),
    Scenario(
        # Only zero-rated goods: shipping follows them at 0%: 40.00 + 29.00 = 69.00, VAT 0.
        "dk-zero-rated-goods-shipping-at-zero",
        woo_order(
            1006,
            lines=[("NEWS-1", "Weekly newspaper", 1, "40.00", "40.00", "0.00", "zero-rate")],
            shipping=[("Flat rate", "29.00", "0.00")],
            total="69.00",
            total_tax="0.00",
            country="DK",
        ),
        Expected(
            lines=(
                ("NEWS-1", "1", "40.00", "0", "40.00", "0.00"),
                # 0% shipping goes on the untaxed shipping product: a product carries one VAT rate
                ("SHIPPING0", "1", "29.00", "0", "29.00", "0.00"),
            ),
            totals=("69.00", "0.00", "69.00"),
        ),
    ),
    Scenario(
        # A Danish business with a Danish VAT number buys at home: domestic 25%, no reverse
        # charge. 500.00 + 125.00 = 625.00.
        "dk-business-with-dk-vat-number-is-domestic",
        woo_order(
            1007,
            lines=[("DESK-1", "Standing desk", 1, "500.00", "500.00", "125.00", "")],
            total="625.00",
            total_tax="125.00",
            country="DK",
            vat_number="DK13585628",
        ),
        Expected(
            lines=(("DESK-1", "1", "500.00", "25", "500.00", "125.00"),),
            totals=("500.00", "125.00", "625.00"),
        ),
    ),
    Scenario(
        # Free shipping (0.00 + 0.00) gives no line: 300.00 + 75.00 = 375.00.
        "dk-free-shipping",
        woo_order(
            1008,
            lines=[("CHAIR", "Chair", 1, "300.00", "300.00", "75.00", "")],
            shipping=[("Free shipping", "0.00", "0.00")],
            total="375.00",
            total_tax="75.00",
            country="DK",
        ),
        Expected(
            lines=(("CHAIR", "1", "300.00", "25", "300.00", "75.00"),),
            totals=("300.00", "75.00", "375.00"),
        ),
    ),
    Scenario(
        # Shipping without tax while the goods carry 25%: untaxed shipping product at 0%.
        # 100.00 + 25.00 + 39.00 = 164.00.
        "dk-untaxed-shipping",
        woo_order(
            1009,
            lines=[("LAMP-1", "Desk lamp", 1, "100.00", "100.00", "25.00", "")],
            shipping=[("Local pickup", "39.00", "0.00")],
            total="164.00",
            total_tax="25.00",
            country="DK",
        ),
        Expected(
            lines=(
                ("LAMP-1", "1", "100.00", "25", "100.00", "25.00"),
                ("SHIPPING0", "1", "39.00", "0", "39.00", "0.00"),
            ),
            totals=("139.00", "25.00", "164.00"),
        ),
    ),
    Scenario(
        # 10% coupon: subtotal 400.00 → total 360.00 (discount 40.00, its tax 10.00);
        # 2 × 180.00, VAT 90.00; shipping 49.00 + 12.25.
        # Net 409.00; VAT 102.25; gross 511.25.
        "dk-percentage-coupon",
        woo_order(
            1010,
            lines=[("LAMP-2", "Floor lamp", 2, "400.00", "360.00", "90.00", "")],
            shipping=[("Flat rate", "49.00", "12.25")],
            coupons=[("10PCT", "40.00", "10.00")],
            total="511.25",
            total_tax="102.25",
            country="DK",
        ),
        Expected(
            lines=(
                ("LAMP-2", "2", "180.00", "25", "360.00", "90.00"),
                ("SHIPPING", "1", "49.00", "25", "49.00", "12.25"),
            ),
            totals=("409.00", "102.25", "511.25"),
            discounts=("40.00", "0"),
        ),
    ),
    Scenario(
        # Fixed cart coupon 50.00 spread by WooCommerce over the lines by subtotal:
        # chair 300.00 → 270.00 (−30.00), VAT 67.50; cushions 200.00 → 180.00 (−20.00),
        # 2 × 90.00, VAT 45.00. Net 450.00; VAT 112.50; gross 562.50.
        "dk-fixed-cart-coupon",
        woo_order(
            1011,
            lines=[
                ("CHAIR", "Chair", 1, "300.00", "270.00", "67.50", ""),
                ("CUSHION", "Cushion", 2, "200.00", "180.00", "45.00", ""),
            ],
            coupons=[("SAVE50", "50.00", "12.50")],
            total="562.50",
            total_tax="112.50",
            country="DK",
        ),
        Expected(
            lines=(
                ("CHAIR", "1", "270.00", "25", "270.00", "67.50"),
                ("CUSHION", "2", "90.00", "25", "180.00", "45.00"),
            ),
            totals=("450.00", "112.50", "562.50"),
            discounts=("30.00", "20.00"),
        ),
    ),
    Scenario(
        # Fixed product coupon 10.00 on 3 scarves of 99.95: total 289.85, shop VAT
        # 289.85 × 25% = 72.4625 → 72.46. Split: 2 × 96.61 = 193.22 (VAT 48.305 → 48.31) +
        # 1 × 96.63 (VAT 24.1575 → 24.16) = VAT 72.47; gross 362.32 vs 362.31 → rounding −0.01.
        # Net 289.84; VAT 72.47; gross 362.31.
        "dk-fixed-product-coupon-uneven-split",
        woo_order(
            1012,
            lines=[("SCARF", "Wool scarf", 3, "299.85", "289.85", "72.46", "", "74.96")],
            coupons=[("SCARF10", "10.00", "2.50")],
            total="362.31",
            total_tax="72.46",
            country="DK",
        ),
        Expected(
            lines=(
                ("SCARF", "2", "96.61", "25", "193.22", "48.31"),
                ("SCARF", "1", "96.63", "25", "96.63", "24.16"),
                ("ROUNDING", "1", "-0.01", "0", "-0.01", "0.00"),
            ),
            totals=("289.84", "72.47", "362.31"),
            rounding="-0.01",
            discounts=("10.00", "0", "0"),
        ),
    ),
    Scenario(
        # Taxable fee follows the goods at 25%: 200.00 + 50.00 + 20.00 + 5.00 = 275.00.
        "dk-taxable-fee",
        woo_order(
            1013,
            lines=[("VASE", "Glass vase", 1, "200.00", "200.00", "50.00", "")],
            fees=[("Gift wrapping", "20.00", "5.00", "taxable")],
            total="275.00",
            total_tax="55.00",
            country="DK",
        ),
        Expected(
            lines=(
                ("VASE", "1", "200.00", "25", "200.00", "50.00"),
                ("FEE", "1", "20.00", "25", "20.00", "5.00"),
            ),
            totals=("220.00", "55.00", "275.00"),
        ),
    ),
    Scenario(
        # Negative fee −20.00 with −5.00 VAT: 200.00 + 50.00 − 20.00 − 5.00 = 225.00.
        "dk-negative-fee",
        woo_order(
            1014,
            lines=[("VASE", "Glass vase", 1, "200.00", "200.00", "50.00", "")],
            fees=[("Loyalty discount", "-20.00", "-5.00", "taxable")],
            total="225.00",
            total_tax="45.00",
            country="DK",
        ),
        Expected(
            lines=(
                ("VASE", "1", "200.00", "25", "200.00", "50.00"),
                ("FEE", "1", "-20.00", "25", "-20.00", "-5.00"),
            ),
            totals=("180.00", "45.00", "225.00"),
        ),
    ),
    Scenario(
        # Fee with tax status "none" at 0%: 200.00 + 50.00 + 15.00 = 265.00.
        "dk-non-taxable-fee",
        woo_order(
            1015,
            lines=[("VASE", "Glass vase", 1, "200.00", "200.00", "50.00", "")],
            fees=[("Cash on delivery", "15.00", "0.00", "none")],
            total="265.00",
            total_tax="50.00",
            country="DK",
        ),
        Expected(
            lines=(
                ("VASE", "1", "200.00", "25", "200.00", "50.00"),
                # a fee without VAT goes on the untaxed fee product
                ("FEE0", "1", "15.00", "0", "15.00", "0.00"),
            ),
            totals=("215.00", "50.00", "265.00"),
        ),
    ),
    Scenario(
        # "Round tax at subtotal level": each line shows 9.98 × 25% = 2.495 → 2.50, but the
        # order's tax is 29.94 × 25% = 7.485 → 7.49, total 29.94 + 7.49 = 37.43.
        # Per line 3 × 2.50 = 7.50: gross 37.44 → rounding −0.01. Net 29.93; VAT 7.50.
        "dk-tax-rounded-at-subtotal",
        woo_order(
            1016,
            lines=[
                ("SOAP-A", "Soap, lavender", 1, "9.98", "9.98", "2.50", ""),
                ("SOAP-B", "Soap, mint", 1, "9.98", "9.98", "2.50", ""),
                ("SOAP-C", "Soap, rose", 1, "9.98", "9.98", "2.50", ""),
            ],
            total="37.43",
            total_tax="7.49",
            country="DK",
        ),
        Expected(
            lines=(
                ("SOAP-A", "1", "9.98", "25", "9.98", "2.50"),
                ("SOAP-B", "1", "9.98", "25", "9.98", "2.50"),
                ("SOAP-C", "1", "9.98", "25", "9.98", "2.50"),
                ("ROUNDING", "1", "-0.01", "0", "-0.01", "0.00"),
            ),
            totals=("29.93", "7.50", "37.43"),
            rounding="-0.01",
        ),
    ),
    Scenario(
        # Lines 100.00 + 25.00 = 125.00; the shop says 125.05: +0.05 is exactly the default
        # tolerance, so it is evened out: rounding +0.05. Net 100.05; VAT 25.00; gross 125.05.
        "dk-rounding-at-the-tolerance",
        woo_order(
            1017,
            lines=[("LAMP-1", "Desk lamp", 1, "100.00", "100.00", "25.00", "")],
            total="125.05",
            total_tax="25.00",
            country="DK",
        ),
        Expected(
            lines=(
                ("LAMP-1", "1", "100.00", "25", "100.00", "25.00"),
                ("ROUNDING", "1", "0.05", "0", "0.05", "0.00"),
            ),
            totals=("100.05", "25.00", "125.05"),
            rounding="0.05",
        ),
    ),
    Scenario(
        # Lines 125.00, the shop says 126.00: 1.00 > 0.05 → held.
        "dk-totals-beyond-tolerance",
        woo_order(
            1018,
            lines=[("LAMP-1", "Desk lamp", 1, "100.00", "100.00", "25.00", "")],
            total="126.00",
            total_tax="25.00",
            country="DK",
        ),
        held("totals_mismatch", "125.00", "126.00", "1.00", "0.05"),
    ),
    Scenario(
        # Lines 125.00, the shop says 125.08: 0.08 ≤ the configured 0.10 → rounding +0.08.
        "dk-custom-tolerance",
        woo_order(
            1019,
            lines=[("LAMP-1", "Desk lamp", 1, "100.00", "100.00", "25.00", "")],
            total="125.08",
            total_tax="25.00",
            country="DK",
        ),
        Expected(
            lines=(
                ("LAMP-1", "1", "100.00", "25", "100.00", "25.00"),
                ("ROUNDING", "1", "0.08", "0", "0.08", "0.00"),
            ),
            totals=("100.08", "25.00", "125.08"),
            rounding="0.08",
        ),
        settings={"rounding_tolerance": "0.10"},
    ),
    Scenario(
        # The same order with the default tolerance: 0.08 > 0.05 → held.
        "dk-custom-tolerance-payload-with-default-tolerance",
        woo_order(
            1020,
            lines=[("LAMP-1", "Desk lamp", 1, "100.00", "100.00", "25.00", "")],
            total="125.08",
            total_tax="25.00",
            country="DK",
        ),
        held("totals_mismatch", "125.00", "125.08", "0.08", "0.05"),
    ),
    Scenario(
        # Prices incl. VAT: 3 × 9.99 = 29.97 incl.; WooCommerce stores tax 29.97 × 25/125 =
        # 5.994 → 5.99 and net 23.98. Plan: 23.98 / 3 → 2 × 7.99 = 15.98 (VAT 3.995 → 4.00) +
        # 1 × 8.00 (VAT 2.00) = VAT 6.00; gross 29.98 vs 29.97 → rounding −0.01.
        # Net 23.97; VAT 6.00; gross 29.97.
        "dk-prices-include-tax-split",
        woo_order(
            1021,
            lines=[("CANDLE", "Scented candle", 3, "23.98", "23.98", "5.99", "")],
            total="29.97",
            total_tax="5.99",
            country="DK",
            prices_include_tax=True,
        ),
        Expected(
            lines=(
                ("CANDLE", "2", "7.99", "25", "15.98", "4.00"),
                ("CANDLE", "1", "8.00", "25", "8.00", "2.00"),
                ("ROUNDING", "1", "-0.01", "0", "-0.01", "0.00"),
            ),
            totals=("23.97", "6.00", "29.97"),
            rounding="-0.01",
        ),
    ),
    Scenario(
        # Prices incl. VAT that divide evenly: kettle 199.00 incl. → 159.20 + 39.80; shipping
        # 49.00 incl. → 39.20 + 9.80. Net 198.40; VAT 49.60; gross 248.00.
        "dk-prices-include-tax-exact",
        woo_order(
            1022,
            lines=[("KETTLE", "Kettle", 1, "159.20", "159.20", "39.80", "")],
            shipping=[("Flat rate", "39.20", "9.80")],
            total="248.00",
            total_tax="49.60",
            country="DK",
            prices_include_tax=True,
        ),
        Expected(
            lines=(
                ("KETTLE", "1", "159.20", "25", "159.20", "39.80"),
                ("SHIPPING", "1", "39.20", "25", "39.20", "9.80"),
            ),
            totals=("198.40", "49.60", "248.00"),
        ),
    ),
    Scenario(
        "dk-line-without-sku",
        woo_order(
            1023,
            lines=[("", "Handmade bowl", 1, "40.00", "40.00", "10.00", "")],
            total="50.00",
            total_tax="10.00",
            country="DK",
        ),
        held("missing_sku", "the product 'Handmade bowl' has no SKU in the shop"),
    ),
    Scenario(
        # The same line booked on the fallback product: 40.00 + 10.00.
        "dk-line-without-sku-fallback-product",
        woo_order(
            1024,
            lines=[("", "Handmade bowl", 1, "40.00", "40.00", "10.00", "")],
            total="50.00",
            total_tax="10.00",
            country="DK",
        ),
        Expected(
            lines=(("MISC", "1", "40.00", "25", "40.00", "10.00"),),
            totals=("40.00", "10.00", "50.00"),
        ),
        settings={"fallback_product": "MISC"},
    ),
    Scenario(
        # Not eligible (pending), but the plan is still shown: as dk-standard.
        "dk-pending-not-eligible",
        woo_order(
            1025,
            lines=[("MUG-BLUE", "Blue mug", 2, "200.00", "200.00", "50.00", "")],
            total="250.00",
            total_tax="50.00",
            country="DK",
            status="pending",
        ),
        Expected(
            lines=(("MUG-BLUE", "2", "100.00", "25", "200.00", "50.00"),),
            totals=("200.00", "50.00", "250.00"),
            eligible=False,
            reason="state 'pending' is not eligible",
        ),
    ),
    Scenario(
        # Created 2026-11-02, the connection starts 2026-11-03: not eligible, plan shown.
        "dk-before-start-date",
        woo_order(
            1026,
            lines=[("MUG-BLUE", "Blue mug", 2, "200.00", "200.00", "50.00", "")],
            total="250.00",
            total_tax="50.00",
            country="DK",
        ),
        Expected(
            lines=(("MUG-BLUE", "2", "100.00", "25", "200.00", "50.00"),),
            totals=("200.00", "50.00", "250.00"),
            eligible=False,
            reason="created before the start date 2026-11-03 00:00 UTC",
        ),
        settings={"start_date": "2026-11-03"},
    ),
    Scenario(
        # on-hold made eligible by the connection's states: 100.00 + 25.00.
        "dk-on-hold-eligible-by-setting",
        woo_order(
            1027,
            lines=[("LAMP-1", "Desk lamp", 1, "100.00", "100.00", "25.00", "")],
            total="125.00",
            total_tax="25.00",
            country="DK",
            status="on-hold",
        ),
        Expected(
            lines=(("LAMP-1", "1", "100.00", "25", "100.00", "25.00"),),
            totals=("100.00", "25.00", "125.00"),
            reason="state 'on-hold' is eligible",
        ),
        settings={"eligible_states": ["processing", "completed", "on-hold"]},
    ),
    Scenario(
        "dk-unknown-tax-class",
        woo_order(
            1028,
            lines=[("WATCH", "Gold watch", 1, "1000.00", "1000.00", "250.00", "luxury-rate")],
            total="1250.00",
            total_tax="250.00",
            country="DK",
        ),
        held("tax_class", "the shop's tax class 'luxury-rate' is not known to Kobling"),
    ),
    Scenario(
        # A shop class mapped by the connection: "newspapers" → zero: 40.00 at 0%.
        "dk-tax-class-mapped-by-setting",
        woo_order(
            1029,
            lines=[("NEWS-1", "Weekly newspaper", 1, "40.00", "40.00", "0.00", "newspapers")],
            total="40.00",
            total_tax="0.00",
            country="DK",
        ),
        Expected(
            lines=(("NEWS-1", "1", "40.00", "0", "40.00", "0.00"),),
            totals=("40.00", "0.00", "40.00"),
        ),
        settings={"tax_classes": {"newspapers": "zero"}},
    ),
    Scenario(
        # Neither a billing nor a shipping country: held with the exact message.
        "no-country-at-all",
        woo_order(
            1030,
            lines=[("MUG-BLUE", "Blue mug", 1, "100.00", "100.00", "25.00", "")],
            total="125.00",
            total_tax="25.00",
            country="",
            shipping_country="",
        ),
        held("no_country", NO_COUNTRY, exact=True),
    ),
    Scenario(
        # Own product numbers for shipping and rounding: tee 3 × 10.00 split as in
        # dk-split-unit-price-rounding (VAT 2.51), shipping 49.00 + 12.25.
        # Shop: 10.00 + 2.50 + 49.00 + 12.25 = 73.75; plan 73.76 → rounding −0.01.
        # Net 6.66 + 3.34 + 49.00 − 0.01 = 58.99; VAT 1.67 + 0.84 + 12.25 = 14.76.
        "dk-own-shipping-and-rounding-products",
        woo_order(
            1031,
            lines=[("TEE-3", "T-shirt", 3, "10.00", "10.00", "2.50", "")],
            shipping=[("GLS", "49.00", "12.25")],
            total="73.75",
            total_tax="14.75",
            country="DK",
        ),
        Expected(
            lines=(
                ("TEE-3", "2", "3.33", "25", "6.66", "1.67"),
                ("TEE-3", "1", "3.34", "25", "3.34", "0.84"),
                ("FRAGT", "1", "49.00", "25", "49.00", "12.25"),
                ("OERE", "1", "-0.01", "0", "-0.01", "0.00"),
            ),
            totals=("58.99", "14.76", "73.75"),
            rounding="-0.01",
        ),
        settings={"target": {"shipping_product": "FRAGT", "rounding_product": "OERE"}},
    ),
    Scenario(
        # A multi-purpose gift card is no sale: 500.00 at 0% on the gift card product, the
        # mug 100.00 + 25.00. Net 600.00; VAT 25.00; gross 625.00.
        "dk-gift-card",
        woo_order(
            1032,
            lines=[
                ("GC-500", "Gift card 500 kr.", 1, "500.00", "500.00", "0.00", ""),
                ("MUG-BLUE", "Blue mug", 1, "100.00", "100.00", "25.00", ""),
            ],
            total="625.00",
            total_tax="25.00",
            country="DK",
        ),
        Expected(
            lines=(
                ("GIFTCARD", "1", "500.00", "0", "500.00", "0.00"),
                ("MUG-BLUE", "1", "100.00", "25", "100.00", "25.00"),
            ),
            totals=("600.00", "25.00", "625.00"),
        ),
        settings={"gift_card_product": "GIFTCARD", "gift_card_skus": ["GC-500"]},
    ),
    # ------------------------------------------------ EU consumers: One-Stop-Shop on and off
    Scenario(
        # German consumer, no OSS: the seller's DK 25%: 80.00 + 20.00 = 100.00 EUR.
        "de-consumer-oss-off",
        woo_order(
            1040,
            lines=[("MUG-BLUE", "Blue mug", 1, "80.00", "80.00", "20.00", "")],
            total="100.00",
            total_tax="20.00",
            country="DE",
            currency="EUR",
        ),
        Expected(
            lines=(("MUG-BLUE", "1", "80.00", "25", "80.00", "20.00"),),
            totals=("80.00", "20.00", "100.00"),
        ),
    ),
    Scenario(
        # 19% to Germany while OSS is off: the rules say DK 25% → held, naming both.
        "de-consumer-19-percent-while-oss-off",
        woo_order(
            1041,
            lines=[("MUG-BLUE", "Blue mug", 1, "100.00", "100.00", "19.00", "")],
            total="119.00",
            total_tax="19.00",
            country="DE",
            currency="EUR",
        ),
        held(
            "vat_mismatch",
            "19.00 VAT on 100.00 (about 19%)",
            "the rules give 25%",
            "without One-Stop-Shop",
        ),
    ),
    Scenario(
        # OSS: German 19%: 100.00 + 19.00; shipping 4.90 × 19% = 0.931 → 0.93.
        # Net 104.90; VAT 19.93; gross 124.83.
        "de-consumer-oss-on",
        woo_order(
            1042,
            lines=[("MUG-BLUE", "Blue mug", 1, "100.00", "100.00", "19.00", "")],
            shipping=[("DHL Paket", "4.90", "0.93")],
            total="124.83",
            total_tax="19.93",
            country="DE",
            currency="EUR",
        ),
        Expected(
            lines=(
                ("MUG-BLUE", "1", "100.00", "19", "100.00", "19.00"),
                ("SHIPPING", "1", "4.90", "19", "4.90", "0.93"),
            ),
            totals=("104.90", "19.93", "124.83"),
        ),
        settings=OSS,
    ),
    Scenario(
        # OSS, books only (reduced 7%): 2 × 15.00 = 30.00, VAT 2.10; shipping follows at 7%:
        # 3.90 × 7% = 0.273 → 0.27. Net 33.90; VAT 2.37; gross 36.27.
        "de-reduced-7-oss-on",
        woo_order(
            1043,
            lines=[("BOOK-DE", "Kochbuch", 2, "30.00", "30.00", "2.10", "reduced-rate")],
            shipping=[("DHL Paket", "3.90", "0.27")],
            total="36.27",
            total_tax="2.37",
            country="DE",
            currency="EUR",
        ),
        Expected(
            lines=(
                ("BOOK-DE", "2", "15.00", "7", "30.00", "2.10"),
                # shipping at a rate other than the seller's standard goes on SHIPPING-<rate>
                ("SHIPPING-7", "1", "3.90", "7", "3.90", "0.27"),
            ),
            totals=("33.90", "2.37", "36.27"),
        ),
        settings=OSS,
    ),
    Scenario(
        # OSS, book 20.00 at 7% (1.40) and mug 50.00 at 19% (9.50); shipping follows the
        # highest, 19%: 5.00 + 0.95. Net 75.00; VAT 11.85; gross 86.85.
        "de-mixed-7-and-19-oss-on",
        woo_order(
            1044,
            lines=[
                ("BOOK-DE", "Kochbuch", 1, "20.00", "20.00", "1.40", "reduced-rate"),
                ("MUG-BLUE", "Blue mug", 1, "50.00", "50.00", "9.50", ""),
            ],
            shipping=[("DHL Paket", "5.00", "0.95")],
            total="86.85",
            total_tax="11.85",
            country="DE",
            currency="EUR",
        ),
        Expected(
            lines=(
                ("BOOK-DE", "1", "20.00", "7", "20.00", "1.40"),
                ("MUG-BLUE", "1", "50.00", "19", "50.00", "9.50"),
                ("SHIPPING", "1", "5.00", "19", "5.00", "0.95"),
            ),
            totals=("75.00", "11.85", "86.85"),
        ),
        settings=OSS,
    ),
    Scenario(
        # OSS on, but the shop charged DK 25%: the rules say DE 19% → held.
        "de-consumer-25-percent-while-oss-on",
        woo_order(
            1045,
            lines=[("MUG-BLUE", "Blue mug", 1, "80.00", "80.00", "20.00", "")],
            total="100.00",
            total_tax="20.00",
            country="DE",
            currency="EUR",
        ),
        held("vat_mismatch", "20.00 VAT on 80.00 (about 25%)", "the rules give 19%", "DE VAT"),
        settings=OSS,
    ),
    Scenario(
        # OSS, France: mug 45.00 × 20% = 9.00; cookbook 12.00 × 5.5% = 0.66.
        # Net 57.00; VAT 9.66; gross 66.66.
        "fr-consumer-oss-on",
        woo_order(
            1046,
            lines=[
                ("MUG-BLUE", "Blue mug", 1, "45.00", "45.00", "9.00", ""),
                ("BOOK-FR", "Livre de cuisine", 1, "12.00", "12.00", "0.66", "reduced-rate"),
            ],
            total="66.66",
            total_tax="9.66",
            country="FR",
            currency="EUR",
        ),
        Expected(
            lines=(
                ("MUG-BLUE", "1", "45.00", "20", "45.00", "9.00"),
                ("BOOK-FR", "1", "12.00", "5.5", "12.00", "0.66"),
            ),
            totals=("57.00", "9.66", "66.66"),
        ),
        settings=OSS,
    ),
    Scenario(
        # France without OSS: DK 25%: 40.00 + 10.00 = 50.00 EUR.
        "fr-consumer-oss-off",
        woo_order(
            1047,
            lines=[("MUG-BLUE", "Blue mug", 1, "40.00", "40.00", "10.00", "")],
            total="50.00",
            total_tax="10.00",
            country="FR",
            currency="EUR",
        ),
        Expected(
            lines=(("MUG-BLUE", "1", "40.00", "25", "40.00", "10.00"),),
            totals=("40.00", "10.00", "50.00"),
        ),
    ),
    Scenario(
        # OSS, Sweden in November 2026, SEK: food (shop class "food" → reduced2) 6%:
        # 200.00 → 12.00; hotel night ("reduced-rate" → reduced) 12%: 400.00 → 48.00;
        # grinder 25%: 300.00 → 75.00; shipping follows 25%: 59.00 → 14.75.
        # Net 959.00; VAT 149.75; gross 1108.75.
        "se-consumer-oss-on-25-12-6",
        woo_order(
            1048,
            lines=[
                ("COFFEE", "Kaffebönor", 1, "200.00", "200.00", "12.00", "food"),
                ("HOTEL-NIGHT", "Hotellnatt", 1, "400.00", "400.00", "48.00", "reduced-rate"),
                ("GRINDER", "Kaffekvarn", 1, "300.00", "300.00", "75.00", ""),
            ],
            shipping=[("PostNord", "59.00", "14.75")],
            total="1108.75",
            total_tax="149.75",
            country="SE",
            currency="SEK",
        ),
        Expected(
            lines=(
                ("COFFEE", "1", "200.00", "6", "200.00", "12.00"),
                ("HOTEL-NIGHT", "1", "400.00", "12", "400.00", "48.00"),
                ("GRINDER", "1", "300.00", "25", "300.00", "75.00"),
                ("SHIPPING", "1", "59.00", "25", "59.00", "14.75"),
            ),
            totals=("959.00", "149.75", "1108.75"),
        ),
        settings={"oss": True, "tax_classes": {"food": "reduced2"}},
    ),
    Scenario(
        # Sweden without OSS, SEK: DK 25%: 400.00 + 100.00 = 500.00.
        "se-consumer-oss-off-sek",
        woo_order(
            1049,
            lines=[("GRINDER", "Kaffekvarn", 1, "400.00", "400.00", "100.00", "")],
            total="500.00",
            total_tax="100.00",
            country="SE",
            currency="SEK",
        ),
        Expected(
            lines=(("GRINDER", "1", "400.00", "25", "400.00", "100.00"),),
            totals=("400.00", "100.00", "500.00"),
        ),
    ),
    # ------------------------------------------- Finland: 24% until 2024-08-31, then 25.5%
    Scenario(
        # OSS, 2024-08-20: FI 24%: 100.00 + 24.00.
        "fi-oss-on-before-the-change",
        woo_order(
            1050,
            lines=[("MUG-BLUE", "Blue mug", 1, "100.00", "100.00", "24.00", "")],
            total="124.00",
            total_tax="24.00",
            country="FI",
            currency="EUR",
            created="2024-08-20T10:00:00",
        ),
        Expected(
            lines=(("MUG-BLUE", "1", "100.00", "24", "100.00", "24.00"),),
            totals=("100.00", "24.00", "124.00"),
        ),
        settings=OSS,
    ),
    Scenario(
        # OSS, 2024-10-01: FI 25.5%: 100.00 + 25.50.
        "fi-oss-on-after-the-change",
        woo_order(
            1051,
            lines=[("MUG-BLUE", "Blue mug", 1, "100.00", "100.00", "25.50", "")],
            total="125.50",
            total_tax="25.50",
            country="FI",
            currency="EUR",
            created="2024-10-01T10:00:00",
        ),
        Expected(
            lines=(("MUG-BLUE", "1", "100.00", "25.5", "100.00", "25.50"),),
            totals=("100.00", "25.50", "125.50"),
        ),
        settings=OSS,
    ),
    Scenario(
        # Finland at 24% in October 2024: the rules give 25.5% → held naming both rates.
        "fi-24-percent-in-october-2024",
        woo_order(
            1052,
            lines=[("MUG-BLUE", "Blue mug", 1, "100.00", "100.00", "24.00", "")],
            total="124.00",
            total_tax="24.00",
            country="FI",
            currency="EUR",
            created="2024-10-01T10:00:00",
        ),
        held("vat_mismatch", "(about 24%)", "the rules give 25.5%", "on 2024-10-01"),
        settings=OSS,
    ),
    Scenario(
        # Finland without OSS: DK 25%: 80.00 + 20.00.
        "fi-consumer-oss-off",
        woo_order(
            1053,
            lines=[("MUG-BLUE", "Blue mug", 1, "80.00", "80.00", "20.00", "")],
            total="100.00",
            total_tax="20.00",
            country="FI",
            currency="EUR",
            created="2024-10-01T10:00:00",
        ),
        Expected(
            lines=(("MUG-BLUE", "1", "80.00", "25", "80.00", "20.00"),),
            totals=("80.00", "20.00", "100.00"),
        ),
    ),
    Scenario(
        # Ordered 2024-08-30, paid 2024-09-02; tax point = order date → 24%.
        "fi-tax-point-order-date",
        woo_order(
            1054,
            lines=[("MUG-BLUE", "Blue mug", 1, "100.00", "100.00", "24.00", "")],
            total="124.00",
            total_tax="24.00",
            country="FI",
            currency="EUR",
            created="2024-08-30T10:00:00",
            paid="2024-09-02T08:00:00",
        ),
        Expected(
            lines=(("MUG-BLUE", "1", "100.00", "24", "100.00", "24.00"),),
            totals=("100.00", "24.00", "124.00"),
        ),
        settings={"oss": True, "tax_point": "order_date"},
    ),
    Scenario(
        # The same dates, tax point = paid date (2024-09-02) → 25.5%: 100.00 + 25.50.
        # The document is still dated on the order date.
        "fi-tax-point-paid-date",
        woo_order(
            1055,
            lines=[("MUG-BLUE", "Blue mug", 1, "100.00", "100.00", "25.50", "")],
            total="125.50",
            total_tax="25.50",
            country="FI",
            currency="EUR",
            created="2024-08-30T10:00:00",
            paid="2024-09-02T08:00:00",
        ),
        Expected(
            lines=(("MUG-BLUE", "1", "100.00", "25.5", "100.00", "25.50"),),
            totals=("100.00", "25.50", "125.50"),
            date="2024-08-30",
        ),
        settings={"oss": True, "tax_point": "paid_date"},
    ),
    Scenario(
        # Tax point = paid date (2024-09-02) but the shop charged 24%: held, rules give 25.5%.
        "fi-tax-point-paid-date-charged-24",
        woo_order(
            1056,
            lines=[("MUG-BLUE", "Blue mug", 1, "100.00", "100.00", "24.00", "")],
            total="124.00",
            total_tax="24.00",
            country="FI",
            currency="EUR",
            created="2024-08-30T10:00:00",
            paid="2024-09-02T08:00:00",
        ),
        held("vat_mismatch", "(about 24%)", "the rules give 25.5%", "on 2024-09-02"),
        settings={"oss": True, "tax_point": "paid_date"},
    ),
    Scenario(
        # Tax point = paid date, not paid yet (on-hold bank transfer): the order date
        # 2024-08-30 applies → 24%.
        "fi-tax-point-paid-date-unpaid",
        woo_order(
            1057,
            lines=[("MUG-BLUE", "Blue mug", 1, "100.00", "100.00", "24.00", "")],
            total="124.00",
            total_tax="24.00",
            country="FI",
            currency="EUR",
            status="on-hold",
            created="2024-08-30T10:00:00",
        ),
        Expected(
            lines=(("MUG-BLUE", "1", "100.00", "24", "100.00", "24.00"),),
            totals=("100.00", "24.00", "124.00"),
        ),
        settings={
            "oss": True,
            "tax_point": "paid_date",
            "eligible_states": ["processing", "completed", "on-hold"],
        },
    ),
    Scenario(
        # OSS, Finnish food in 2026: reduced 13.5%: 2 × 10.00 = 20.00, VAT 2.70.
        "fi-reduced-13-5-in-2026",
        woo_order(
            1058,
            lines=[("RYE", "Ruisleipä", 2, "20.00", "20.00", "2.70", "reduced-rate")],
            total="22.70",
            total_tax="2.70",
            country="FI",
            currency="EUR",
        ),
        Expected(
            lines=(("RYE", "2", "10.00", "13.5", "20.00", "2.70"),),
            totals=("20.00", "2.70", "22.70"),
        ),
        settings=OSS,
    ),
    Scenario(
        # 2024-08-31T22:30:00 GMT is 01:30 on 1 September in Helsinki (00:30 in Copenhagen):
        # the supply falls on the day the 25.5% rate started, and the shop charged it.
        # 100.00 + 25.50; the invoice is dated 2024-09-01.
        "fi-ordered-after-local-midnight-on-the-change-day",
        woo_order(
            1059,
            lines=[("MUG-BLUE", "Blue mug", 1, "100.00", "100.00", "25.50", "")],
            total="125.50",
            total_tax="25.50",
            country="FI",
            currency="EUR",
            created="2024-08-31T22:30:00",
            paid="2024-08-31T22:31:00",
        ),
        Expected(
            lines=(("MUG-BLUE", "1", "100.00", "25.5", "100.00", "25.50"),),
            totals=("100.00", "25.50", "125.50"),
            date="2024-09-01",
        ),
        settings=OSS,
    ),
    # ------------------------------------------------------------------ EU businesses
    Scenario(
        # Valid German VAT number, billing DE: reverse charge 0% on goods and shipping.
        # 2 × 40.00 + 10.00 = 90.00 EUR.
        "de-business-reverse-charge",
        woo_order(
            1060,
            lines=[("MUG-BLUE", "Blue mug", 2, "80.00", "80.00", "0.00", "")],
            shipping=[("DHL Paket", "10.00", "0.00")],
            total="90.00",
            total_tax="0.00",
            country="DE",
            vat_number="DE136695976",
            currency="EUR",
        ),
        Expected(
            lines=(
                ("MUG-BLUE", "2", "40.00", "0", "80.00", "0.00"),
                ("SHIPPING", "1", "10.00", "0", "10.00", "0.00"),
            ),
            totals=("90.00", "0.00", "90.00"),
            zone="eu",
        ),
    ),
    Scenario(
        # Reverse charge wins over OSS: 250.00 at 0%.
        "nl-business-reverse-charge-with-oss-on",
        woo_order(
            1061,
            lines=[("DESK-1", "Standing desk", 1, "250.00", "250.00", "0.00", "")],
            total="250.00",
            total_tax="0.00",
            country="NL",
            vat_number="NL004495445B01",
            currency="EUR",
        ),
        Expected(
            lines=(("DESK-1", "1", "250.00", "0", "250.00", "0.00"),),
            totals=("250.00", "0.00", "250.00"),
            zone="eu",
        ),
        settings=OSS,
    ),
    Scenario(
        # DE123456789 fails the checksum: a consumer sale at DK 25%, so the shop's 0% is held.
        "de-business-invalid-vat-number",
        woo_order(
            1062,
            lines=[("MUG-BLUE", "Blue mug", 2, "80.00", "80.00", "0.00", "")],
            total="80.00",
            total_tax="0.00",
            country="DE",
            vat_number="DE123456789",
            currency="EUR",
        ),
        held("vat_mismatch", "DE123456789 is not a valid EU VAT number", "the rules give 25%"),
    ),
    Scenario(
        # The invalid number with DK VAT charged is a consumer sale: 80.00 + 20.00.
        "de-invalid-vat-number-charged-as-consumer",
        woo_order(
            1063,
            lines=[("MUG-BLUE", "Blue mug", 1, "80.00", "80.00", "20.00", "")],
            total="100.00",
            total_tax="20.00",
            country="DE",
            vat_number="DE123456789",
            currency="EUR",
        ),
        Expected(
            lines=(("MUG-BLUE", "1", "80.00", "25", "80.00", "20.00"),),
            totals=("80.00", "20.00", "100.00"),
        ),
    ),
    Scenario(
        # A valid German number on a French billing address: no reverse charge, a consumer
        # sale at DK 25% (no OSS); the shop's 0% is held, naming both countries.
        "fr-billing-with-german-vat-number",
        woo_order(
            1064,
            lines=[("DESK-1", "Standing desk", 1, "300.00", "300.00", "0.00", "")],
            total="300.00",
            total_tax="0.00",
            country="FR",
            vat_number="DE136695976",
            currency="EUR",
        ),
        held(
            "vat_mismatch",
            "the VAT number DE136695976 was issued in DE, but the billing address is in FR",
            "the rules give 25%",
        ),
    ),
    Scenario(
        # A Danish business (Danish VAT number, billing DK) has the goods shipped to Germany.
        # An intra-community supply is exempt only for a buyer identified for VAT in another
        # member state than the one the goods leave (VAT Directive art. 138(1)(b)); with a DK
        # number the supply stays taxed in Denmark: 500.00 + 125.00, as the shop charged.
        "dk-business-number-goods-shipped-to-de",
        woo_order(
            1069,
            lines=[("DESK-1", "Standing desk", 1, "500.00", "500.00", "125.00", "")],
            total="625.00",
            total_tax="125.00",
            country="DK",
            shipping_country="DE",
            vat_number="DK13585628",
        ),
        Expected(
            lines=(("DESK-1", "1", "500.00", "25", "500.00", "125.00"),),
            totals=("500.00", "125.00", "625.00"),
        ),
    ),
    Scenario(
        # Greek number with the EL prefix, billing GR: reverse charge, 250.00 at 0%.
        "gr-business-el-prefix",
        woo_order(
            1065,
            lines=[("DESK-1", "Standing desk", 1, "250.00", "250.00", "0.00", "")],
            total="250.00",
            total_tax="0.00",
            country="GR",
            vat_number="EL094259216",
            currency="EUR",
        ),
        Expected(
            lines=(("DESK-1", "1", "250.00", "0", "250.00", "0.00"),),
            totals=("250.00", "0.00", "250.00"),
            zone="eu",
        ),
    ),
    Scenario(
        # Austrian number typed in lower case with spaces: still valid, reverse charge.
        "at-business-number-with-spaces",
        woo_order(
            1066,
            lines=[("LAMP-1", "Desk lamp", 1, "120.00", "120.00", "0.00", "")],
            total="120.00",
            total_tax="0.00",
            country="AT",
            vat_number="atu 135 856 27",
            currency="EUR",
        ),
        Expected(
            lines=(("LAMP-1", "1", "120.00", "0", "120.00", "0.00"),),
            totals=("120.00", "0.00", "120.00"),
            zone="eu",
        ),
    ),
    Scenario(
        # Swedish business in SEK: 1000.00 + shipping 99.00, reverse charge: 1099.00.
        "se-business-reverse-charge-sek",
        woo_order(
            1067,
            lines=[("DESK-1", "Standing desk", 1, "1000.00", "1000.00", "0.00", "")],
            shipping=[("PostNord", "99.00", "0.00")],
            total="1099.00",
            total_tax="0.00",
            country="SE",
            vat_number="SE556703748501",
            currency="SEK",
        ),
        Expected(
            lines=(
                ("DESK-1", "1", "1000.00", "0", "1000.00", "0.00"),
                ("SHIPPING", "1", "99.00", "0", "99.00", "0.00"),
            ),
            totals=("1099.00", "0.00", "1099.00"),
            zone="eu",
        ),
    ),
    Scenario(
        # Valid Italian number, but the shop charged DK VAT: reverse charge says 0% → held.
        "it-business-charged-vat",
        woo_order(
            1068,
            lines=[("DESK-1", "Standing desk", 1, "400.00", "400.00", "100.00", "")],
            total="500.00",
            total_tax="100.00",
            country="IT",
            vat_number="IT00743110157",
            currency="EUR",
        ),
        held("vat_mismatch", "(about 25%)", "the rules give 0%", "reverse charge"),
    ),
    # --------------------------------------------------------------------- exports
    Scenario(
        # Norway, NOK: 500.00 + shipping 99.00, 0%: 599.00.
        "no-export-nok",
        woo_order(
            1070,
            lines=[("LAMP-1", "Desk lamp", 1, "500.00", "500.00", "0.00", "")],
            shipping=[("Posten", "99.00", "0.00")],
            total="599.00",
            total_tax="0.00",
            country="NO",
            currency="NOK",
        ),
        Expected(
            lines=(
                ("LAMP-1", "1", "500.00", "0", "500.00", "0.00"),
                ("SHIPPING", "1", "99.00", "0", "99.00", "0.00"),
            ),
            totals=("599.00", "0.00", "599.00"),
            zone="abroad",
        ),
    ),
    Scenario(
        # USA, USD: 2 × 25.00 + shipping 15.00 = 65.00 at 0%.
        "us-export-usd",
        woo_order(
            1071,
            lines=[("MUG-BLUE", "Blue mug", 2, "50.00", "50.00", "0.00", "")],
            shipping=[("USPS", "15.00", "0.00")],
            total="65.00",
            total_tax="0.00",
            country="US",
            currency="USD",
        ),
        Expected(
            lines=(
                ("MUG-BLUE", "2", "25.00", "0", "50.00", "0.00"),
                ("SHIPPING", "1", "15.00", "0", "15.00", "0.00"),
            ),
            totals=("65.00", "0.00", "65.00"),
            zone="abroad",
        ),
    ),
    Scenario(
        # United Kingdom after Brexit, GBP: 60.00 at 0%.
        "gb-export-gbp",
        woo_order(
            1072,
            lines=[("LAMP-1", "Desk lamp", 1, "60.00", "60.00", "0.00", "")],
            total="60.00",
            total_tax="0.00",
            country="GB",
            currency="GBP",
        ),
        Expected(
            lines=(("LAMP-1", "1", "60.00", "0", "60.00", "0.00"),),
            totals=("60.00", "0.00", "60.00"),
            zone="abroad",
        ),
    ),
    Scenario(
        # An export charged with 25%: the rules say 0% → held.
        "no-export-charged-vat",
        woo_order(
            1073,
            lines=[("LAMP-1", "Desk lamp", 1, "100.00", "100.00", "25.00", "")],
            total="125.00",
            total_tax="25.00",
            country="NO",
            currency="NOK",
        ),
        held("vat_mismatch", "(about 25%)", "the rules give 0%", "export to NO"),
    ),
    Scenario(
        # Billed in Denmark, shipped to Norway: the goods leave the EU, export 0%: 100.00.
        "dk-billing-shipped-to-norway",
        woo_order(
            1074,
            lines=[("LAMP-1", "Desk lamp", 1, "100.00", "100.00", "0.00", "")],
            total="100.00",
            total_tax="0.00",
            country="DK",
            shipping_country="NO",
        ),
        Expected(
            lines=(("LAMP-1", "1", "100.00", "0", "100.00", "0.00"),),
            totals=("100.00", "0.00", "100.00"),
            zone="abroad",
        ),
    ),
    Scenario(
        # The Faroe Islands are outside the EU VAT area: export, 200.00 at 0%.
        "fo-export-dkk",
        woo_order(
            1075,
            lines=[("CHAIR", "Chair", 1, "200.00", "200.00", "0.00", "")],
            total="200.00",
            total_tax="0.00",
            country="FO",
        ),
        Expected(
            lines=(("CHAIR", "1", "200.00", "0", "200.00", "0.00"),),
            totals=("200.00", "0.00", "200.00"),
            zone="abroad",
        ),
    ),
    Scenario(
        # December 2020: the United Kingdom was still in the EU VAT area (vat_rates.is_eu
        # says so for a date before 2021-01-01), so this is a distance sale at the seller's DK
        # rate, not an export; the rates file starts 2021-01-01, so the DK rate of that day is
        # unknown and the order must be held, not booked as a 0% export.
        "gb-before-brexit-is-not-an-export",
        woo_order(
            1076,
            lines=[("LAMP-1", "Desk lamp", 1, "100.00", "100.00", "25.00", "")],
            total="125.00",
            total_tax="25.00",
            country="GB",
            currency="GBP",
            created="2020-12-15T10:00:00",
        ),
        held("unknown_rate", "DK on 2020-12-15", "covers 2021-01-01 onwards"),
    ),
]

BY_ID = {s.id: s for s in SCENARIOS}
CLI_SCENARIOS = ("dk-percentage-coupon", "fi-24-percent-in-october-2024", "dk-before-start-date")


def _amounts(line: dict[str, str]) -> tuple[Any, ...]:
    return (
        line["product"],
        D(line["quantity"]),
        D(line["unit_price_net"]),
        D(line["vat_rate"]),
        D(line["net"]),
        D(line["vat"]),
    )


def _expected_amounts(line: Line) -> tuple[Any, ...]:
    product, *numbers = line
    return (product, *(D(n) for n in numbers))


def check(result: dict[str, Any], scenario: Scenario) -> None:
    """Compare a preview result with the scenario's hand-computed expectation."""
    expected, payload = scenario.expected, scenario.payload
    if expected.error:
        assert result["document"] is None, result["document"]
        assert result["eligible"] is False
        [error] = result["errors"]
        assert error["code"] == expected.error, error
        for fragment in expected.message:
            assert fragment in error["message"], (fragment, error["message"])
        if expected.exact:
            assert [error["message"]] == list(expected.message)
        assert error["fix"], error
        return
    assert result["errors"] == [], result["errors"]
    assert result["eligible"] is expected.eligible, result["reasons"]
    if expected.reason:
        assert expected.reason in result["reasons"][0], result["reasons"]
    document = result["document"]
    assert [_amounts(x) for x in document["lines"]] == [
        _expected_amounts(x) for x in expected.lines
    ]
    totals = document["totals"]
    assert (D(totals["net"]), D(totals["vat"]), D(totals["gross"])) == tuple(
        D(x) for x in expected.totals
    )
    assert D(document["rounding"]["difference"]) == D(expected.rounding)
    action = "none" if D(expected.rounding) == 0 else "rounding line"
    assert document["rounding"]["action"] == action
    assert document["customer"]["vat_zone"] == expected.zone
    assert document["currency"] == payload["currency"]
    assert document["reference"] == payload["number"]
    assert document["date"] == (expected.date or payload["date_created_gmt"][:10])
    if expected.discounts:
        assert [D(x["discount"]) for x in document["lines"]] == [D(x) for x in expected.discounts]


@pytest.mark.parametrize("scenario", [s.param() for s in SCENARIOS])
def test_scenario(scenario: Scenario) -> None:
    check(preview(scenario.payload, scenario.settings, **KINDS), scenario)


@pytest.mark.parametrize(
    "scenario", [pytest.param(s, id=s.id) for s in SCENARIOS if not s.expected.error]
)
def test_hand_computed_expectations_add_up(scenario: Scenario) -> None:
    """Guards the table itself: each expected line is quantity × unit price with its VAT
    rounded half-up, the lines add up to the totals, and the gross is what the shop charged."""
    expected = scenario.expected
    for _, quantity, unit, rate, line_net, line_vat in expected.lines:
        assert D(quantity) * D(unit) == D(line_net), (quantity, unit, line_net)
        assert (D(line_net) * D(rate) / 100).quantize(D("0.01"), "ROUND_HALF_UP") == D(line_vat)
    net, vat, gross = (D(x) for x in expected.totals)
    assert sum(D(x[4]) for x in expected.lines) == net
    assert sum(D(x[5]) for x in expected.lines) == vat
    assert net + vat == gross == D(scenario.payload["total"])


def test_scenario_table_is_broad_and_unique() -> None:
    assert len(SCENARIOS) >= 40
    assert len(BY_ID) == len(SCENARIOS)
    numbers = [s.payload["number"] for s in SCENARIOS]
    assert len(set(numbers)) == len(numbers)


def _run_cli(tmp_path: Path, scenario: Scenario) -> dict[str, Any]:
    payload = tmp_path / f"{scenario.id}-order.json"
    settings = tmp_path / f"{scenario.id}-settings.json"
    payload.write_text(json.dumps(scenario.payload, ensure_ascii=False), encoding="utf-8")
    settings.write_text(json.dumps(scenario.settings), encoding="utf-8")
    command = [sys.executable, "-m", "kobling", "preview", "--payload", str(payload)]
    command += ["--settings", str(settings), "--json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("scenario_id", CLI_SCENARIOS)
def test_cli_preview_equals_the_function(tmp_path: Path, scenario_id: str) -> None:
    scenario = BY_ID[scenario_id]
    result = _run_cli(tmp_path, scenario)
    assert result == preview(scenario.payload, scenario.settings, **KINDS)
    check(result, scenario)
