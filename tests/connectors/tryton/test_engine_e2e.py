"""Sandbox WooCommerce → engine → a real Tryton: 30 orders, read back from Tryton itself.

The orders are the hand-computed scenarios of ``tests/accounting/test_scenarios.py`` (Danish
VAT, One-Stop-Shop to DE/FR/FI in EUR, reverse charge in EUR and SEK, exports), re-dated to
yesterday, plus one order dated in a closed period (December of last year, closed in Tryton
before the run) and one whose VAT the rules refuse. One order is refunded after its invoice
is posted. Every order is paid by card (Stripe) at checkout, so its payment is registered and
the invoice must end up ``paid``.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from kobling.engine.launch import poll_now
from kobling.store import repository as repo
from tests.accounting.test_scenarios import BY_ID
from tests.accounting.woo_payloads import redated
from tests.connectors.tryton.conftest import TrytonDatabase, start_tryton_engine
from tests.engine.conftest import Engine

pytestmark = [pytest.mark.tryton, pytest.mark.slow]

D = Decimal

DOMESTIC = (
    "dk-standard",
    "dk-split-unit-price-rounding",
    "dk-zero-rate",
    "dk-mixed-rates-shipping-follows-highest",
    "dk-zero-rated-goods-shipping-at-zero",
    "dk-business-with-dk-vat-number-is-domestic",
    "dk-free-shipping",
    "dk-untaxed-shipping",
    "dk-percentage-coupon",
    "dk-fixed-cart-coupon",
    "dk-fixed-product-coupon-uneven-split",
    "dk-taxable-fee",
    "dk-negative-fee",
    "dk-non-taxable-fee",
    "dk-tax-rounded-at-subtotal",
    "dk-rounding-at-the-tolerance",
    "dk-prices-include-tax-split",
    "dk-prices-include-tax-exact",
)
OSS = (
    "de-consumer-oss-on",
    "de-reduced-7-oss-on",
    "de-mixed-7-and-19-oss-on",
    "fr-consumer-oss-on",
    "fi-reduced-13-5-in-2026",
)
REVERSE_CHARGE = (
    "de-business-reverse-charge",
    "nl-business-reverse-charge-with-oss-on",
    "se-business-reverse-charge-sek",
)
EXPORT = ("dk-billing-shipped-to-norway", "fo-export-dkk")
BOOKED = DOMESTIC + OSS + REVERSE_CHARGE + EXPORT
HELD_VAT = "de-consumer-25-percent-while-oss-on"
REFUNDED = "de-consumer-oss-on"
CLOSED_PERIOD_ORDER_ID = 990001


def _tax_code(scenario_id: str, rate: Decimal) -> str | None:
    """The tax the line must carry, from the scenario's kind (hand-made, not the planner)."""
    if scenario_id in REVERSE_CHARGE:
        return "reverse_charge"
    if scenario_id in EXPORT:
        return "export"
    if rate == 0:
        return None
    country = scenario_id[:2].upper() if scenario_id in OSS else "DK"
    return f"{country}:{rate.normalize():f}"


def _close_period(tryton: TrytonDatabase, name: str) -> None:
    [period] = tryton.client.search("account.period", [("name", "=", name)], fields=["state"])
    tryton.client.call("account.period", "close", period["id"], fields=["state"])
    [closed] = tryton.client.search("account.period", [("name", "=", name)], fields=["state"])
    assert closed["state"] == "closed"


def _invoices(tryton: TrytonDatabase) -> list[dict[str, Any]]:
    return tryton.client.search(
        "account.invoice",
        [("type", "=", "out")],
        fields=[
            "number",
            "reference",
            "state",
            "untaxed_amount",
            "tax_amount",
            "total_amount",
            "currency.code",
            "invoice_date",
            "party.name",
        ],
        order=[("id", "ASC")],
    )


def _lines(tryton: TrytonDatabase, invoice_id: int) -> list[dict[str, Any]]:
    return tryton.client.search(
        "account.invoice.line",
        [("invoice", "=", invoice_id)],
        fields=["product.code", "quantity", "unit_price", "amount", "taxes", "origin"],
        order=[("sequence", "ASC"), ("id", "ASC")],
    )


def _paid_by_card(payload: dict[str, Any]) -> dict[str, Any]:
    """The scenario's order paid at checkout by card (``redated`` moves the paid date)."""
    paid = copy.deepcopy(payload)
    paid["payment_method"], paid["payment_method_title"] = "stripe", "Credit card (Stripe)"
    paid["transaction_id"] = f"ch_{payload['id']}"
    paid["date_paid"] = paid["date_paid_gmt"] = payload["date_created_gmt"]
    return paid


def _add_orders(engine: Engine) -> dict[str, dict[str, Any]]:
    yesterday = (datetime.now(UTC) - timedelta(days=1)).replace(hour=10, minute=0, second=0)
    created = yesterday.strftime("%Y-%m-%dT%H:%M:%S")
    payloads: dict[str, dict[str, Any]] = {}
    for name in (*BOOKED, HELD_VAT):
        payloads[name] = redated(_paid_by_card(BY_ID[name].payload), created)
    # dk-standard once more, on 15 December of last year: a period closed in Tryton.
    closed = redated(BY_ID["dk-standard"].payload, f"{date.today().year - 1}-12-15T10:00:00")
    closed["id"], closed["number"] = CLOSED_PERIOD_ORDER_ID, str(CLOSED_PERIOD_ORDER_ID)
    payloads["closed-period"] = closed
    for payload in payloads.values():
        engine.sandboxes.woo.add_order(copy.deepcopy(payload), deliver_webhooks=False)
    return payloads


def test_thirty_orders_end_to_end_in_a_real_tryton(tmp_path: Path, tryton: TrytonDatabase) -> None:
    year = date.today().year
    _close_period(tryton, f"{year - 1}-12")
    engine, stop = start_tryton_engine(
        tmp_path,
        tryton,
        start=datetime(year - 1, 12, 1, tzinfo=UTC),
        settings={"oss": True, "settled_payment_methods": ["stripe"]},
    )
    try:
        payloads = _add_orders(engine)
        assert len(payloads) == 30
        poll_now(engine.connection_id)
        engine.wait(lambda: engine.settled(30))
        outcomes = {
            name: repo.get_transfer(
                engine.rt.db,
                repo.transfer_key(engine.connection_id, "order", str(p["id"]), "invoice"),
            )
            for name, p in payloads.items()
        }
        for name in BOOKED:
            transfer = outcomes[name]
            assert transfer is not None and transfer.outcome == "done", (name, transfer)

        # The closed-period order is held naming the period; nothing was posted for it.
        held = outcomes["closed-period"]
        assert held is not None and held.outcome == "held"
        assert f'period "{year - 1}-12"' in held.reason, held.reason
        assert "reopen" in held.fix
        vat = outcomes[HELD_VAT]
        assert vat is not None and vat.outcome == "held" and "25" in vat.reason

        invoices = _invoices(tryton)
        by_reference = {i["reference"]: i for i in invoices if i["state"] != "draft"}
        for name in BOOKED:
            _assert_invoice(tryton, name, payloads[name], by_reference)
        drafts = [i for i in invoices if i["state"] == "draft"]
        assert [d["reference"] for d in drafts] == [str(CLOSED_PERIOD_ORDER_ID)]
        assert drafts[0]["number"] is None

        # A refund of the whole order after posting: a credit note, posted and linked.
        refunded = payloads[REFUNDED]
        refund = engine.sandboxes.woo.add_refund(int(refunded["id"]), reason="returned")
        poll_now(engine.connection_id)
        reference = f"{refunded['number']}-refund-{refund['id']}"
        engine.wait(
            lambda: (
                any(i["reference"] == reference for i in _invoices(tryton))
                and repo.unsettled_count(engine.rt.db, engine.connection_id) == 0
            )
        )
        [credit] = [i for i in _invoices(tryton) if i["reference"] == reference]
        invoice = by_reference[str(refunded["number"])]
        assert credit["state"] == "posted" and credit["number"].startswith("CN")
        # 124.83 EUR refunded in full (de-consumer-oss-on: 104.90 + 19.93).
        assert (credit["untaxed_amount"], credit["tax_amount"], credit["total_amount"]) == (
            D("-104.90"),
            D("-19.93"),
            D("-124.83"),
        )
        # Each credited product line points at the invoice line it credits; what the refund
        # pays back beyond its lines (the shipping here) is on the refund product, unlinked.
        invoice_lines = {line["id"]: line for line in _lines(tryton, invoice["id"])}
        credit_lines = _lines(tryton, credit["id"])
        linked = [line for line in credit_lines if line["origin"]]
        assert [line["product"]["code"] for line in credit_lines if not line["origin"]] == [
            "REFUND"
        ]
        for line in linked:
            model, line_id = line["origin"].split(",")
            assert model == "account.invoice.line"
            original = invoice_lines[int(line_id)]
            assert original["product"]["code"] == line["product"]["code"]
            assert D(line["quantity"]) == -D(original["quantity"])
        assert linked

        # A re-run changes nothing in Tryton: the same orders polled again, ...
        before = [(i["id"], i["state"], i["total_amount"]) for i in _invoices(tryton)]
        poll_now(engine.connection_id)
        engine.wait(lambda: repo.unsettled_count(engine.rt.db, engine.connection_id) == 0)
        assert [(i["id"], i["state"], i["total_amount"]) for i in _invoices(tryton)] == before
    finally:
        stop()

    # ... and a Kobling that lost all its data, given the same orders and then the same refund
    # (in the order they happened): every document is found in Tryton by its reference,
    # nothing is created or paid twice.
    again, stop_again = start_tryton_engine(
        tmp_path / "again",
        tryton,
        start=datetime(year - 1, 12, 1, tzinfo=UTC),
        settings={"oss": True, "settled_payment_methods": ["stripe"]},
    )
    try:
        payloads = _add_orders(again)
        poll_now(again.connection_id)
        again.wait(lambda: again.settled(30))
        again.sandboxes.woo.add_refund(int(payloads[REFUNDED]["id"]), reason="returned")
        poll_now(again.connection_id)
        engine_db = again.rt.db
        again.wait(lambda: again.settled(31))
        assert [(i["id"], i["state"], i["total_amount"]) for i in _invoices(tryton)] == before
        for name in BOOKED:
            key = repo.transfer_key(
                again.connection_id, "order", str(payloads[name]["id"]), "invoice"
            )
            transfer = repo.get_transfer(engine_db, key)
            assert transfer is not None and transfer.outcome == "done", (name, transfer)
            assert "already in the target" in transfer.reason, (name, transfer.reason)
        cash = int(tryton.info["journals"]["cash"])
        moves = tryton.client.search("account.move", [("journal", "=", cash)], fields=["id"])
        assert len(moves) == len(BOOKED)  # one payment per invoice, none twice
        references = [i["reference"] for i in _invoices(tryton)]
        assert len(references) == len(set(references)) == len(BOOKED) + 2  # + draft + credit
    finally:
        stop_again()


def _assert_invoice(
    tryton: TrytonDatabase,
    name: str,
    payload: dict[str, Any],
    by_reference: dict[str, dict[str, Any]],
) -> None:
    scenario = BY_ID[name]
    expected = scenario.expected
    invoice = by_reference.get(str(payload["number"]))
    assert invoice is not None, name
    net, vat, gross = (D(x) for x in expected.totals)
    amounts = (invoice["untaxed_amount"], invoice["tax_amount"], invoice["total_amount"])
    assert amounts == (net, vat, gross), (name, amounts)
    assert invoice["currency"]["code"] == payload["currency"], name
    assert invoice["number"].startswith(f"INV{date.today().year}-"), name
    # Paid by card at checkout: the payment is registered, so the invoice is paid.
    assert invoice["state"] == "paid", name
    taxes = tryton.info["taxes"]
    lines = [line for line in _lines(tryton, invoice["id"]) if line["product"]]
    expected_lines = [
        (product, D(qty), D(unit), D(rate), D(line_net))
        for product, qty, unit, rate, line_net, _ in expected.lines
    ]
    got = [
        (
            line["product"]["code"],
            line["quantity"],
            line["unit_price"],
            line["amount"],
            sorted(line["taxes"]),
        )
        for line in lines
    ]
    want = [
        (product, qty, unit, line_net, _tax_ids(taxes, _tax_code(name, rate)))
        for product, qty, unit, rate, line_net in expected_lines
    ]
    assert [(p, D(q), D(u), D(a), t) for p, q, u, a, t in got] == want, name


def _tax_ids(taxes: dict[str, Any], code: str | None) -> list[int]:
    if code is None:
        return []
    if code in ("reverse_charge", "export"):
        return [int(taxes[code])]
    country = code.split(":")[0]
    category = {
        "DK:25": "standard",
        "DE:19": "standard",
        "DE:7": "reduced",
        "FR:20": "standard",
        "FR:5.5": "reduced",
        "FI:13.5": "reduced",
    }[code]
    return [int(taxes[country][category])]
