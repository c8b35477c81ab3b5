"""Normalizing WooCommerce orders: the docs' own sample order and hand-made edge cases."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from kobling.connectors.woocommerce.source import WooCommerceSource, normalize_order
from kobling.errors import PermanentError

D = Decimal
KEYS = ["_billing_vat_number", "_vat_number"]


def sample(shared_dir: Path) -> dict:
    path = shared_dir / "reference/specs/woocommerce/sample-order-retrieve.json"
    return json.loads(path.read_text(), parse_float=Decimal)


def test_docs_sample_order(shared_dir: Path) -> None:
    raw = sample(shared_dir)
    order = normalize_order(raw, KEYS)
    assert order.source_id == str(raw["id"]) and order.number == str(raw["number"])
    assert order.currency == raw["currency"]
    assert order.totals.gross.amount == D(raw["total"])
    # Line totals are net; their tax is beside them.
    for line, item in zip(order.lines, raw["line_items"], strict=True):
        assert line.net_total.amount == D(item["total"])
        assert line.tax.amount == D(item["total_tax"])
        assert line.quantity == D(item["quantity"])
    # The sample's own arithmetic: lines + shipping + tax = total.
    recomputed = (
        sum(D(i["total"]) for i in raw["line_items"])
        + sum(D(s["total"]) for s in raw["shipping_lines"])
        + D(raw["total_tax"])
    )
    assert recomputed == order.totals.gross.amount
    assert order.customer.billing.country == raw["billing"]["country"]


def test_vat_number_from_plugin_meta_and_big_ids() -> None:
    raw = {
        "id": 9007199254740993,
        "number": "A-17",
        "status": "processing",
        "currency": "EUR",
        "date_created_gmt": "2026-11-02T09:00:00",
        "date_modified_gmt": "2026-11-02T09:05:00",
        "total": "80.00",
        "total_tax": "0.00",
        "billing": {"country": "DE", "company": "GmbH", "email": "Buch@Example.DE"},
        "meta_data": [{"id": 1, "key": "_billing_vat_number", "value": "de 123 456 789"}],
        "line_items": [
            {
                "id": 5,
                "name": "Mug",
                "quantity": 2,
                "subtotal": "80.00",
                "total": "80.00",
                "total_tax": "0.00",
                "sku": "MUG",
            }
        ],
        "refunds": [{"id": 9, "reason": "broken", "total": "-10.00"}],
    }
    order = normalize_order(raw, KEYS)
    assert order.source_id == "9007199254740993"
    assert order.customer.vat_number == "DE123456789"
    assert order.customer.email == "buch@example.de"
    assert order.refunds[0].amount.amount == D("10.00")
    assert order.created_at.tzinfo is not None


def test_unreadable_order_is_a_permanent_problem_with_a_fix() -> None:
    source = WooCommerceSource(
        "http://shop.test/", {"consumer_key": "ck", "consumer_secret": "cs"}, {}
    )
    with pytest.raises(PermanentError) as caught:
        source.normalize({"id": 1, "number": "1", "billing": {"country": "DK"}})
    assert "creation date" in caught.value.reason and caught.value.fix


def test_order_without_country_is_read_with_the_country_unknown() -> None:
    # The plan, not the reader, holds it: "its VAT cannot be determined".
    order = normalize_order(
        {
            "id": 1,
            "number": "1",
            "date_created_gmt": "2026-01-01T00:00:00",
            "total": "10.00",
            "billing": {"country": "", "email": "a@b.dk"},
        },
        KEYS,
    )
    assert order.customer.billing.country == ""


def test_changed_orders_pages_through_the_simulator_with_status_filters() -> None:
    from datetime import UTC, datetime, timedelta

    from kobling.connectors.woocommerce.sandbox import WooCommerceSandbox
    from kobling.web.server import serve_in_thread

    shop = WooCommerceSandbox(consumer_key="ck_t", consumer_secret="cs_t")
    server = serve_in_thread(shop.app)
    try:
        now = datetime.now(UTC)
        orders = shop.generate_orders(
            230,
            start=now - timedelta(days=2),
            end=now,
            statuses={"processing": 0.5, "pending": 0.3, "completed": 0.2},
        )
        source = WooCommerceSource(
            server.url, {"consumer_key": "ck_t", "consumer_secret": "cs_t"}, {}
        )
        since = now - timedelta(days=3)
        every = list(source.changed_orders(since))
        # 230 orders need three pages of 100: all arrive, once, oldest change first.
        assert sorted(o["id"] for o in every) == sorted(o["id"] for o in orders)
        modified = [o["date_modified_gmt"] for o in every]
        assert modified == sorted(modified)
        paid = list(source.changed_orders(since, ["processing", "completed"]))
        expected = {o["id"] for o in orders if o["status"] in ("processing", "completed")}
        assert {o["id"] for o in paid} == expected and len(paid) == len(expected)
    finally:
        server.stop()
        shop.close()
