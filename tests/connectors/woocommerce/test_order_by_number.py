"""`WooCommerceSource.order_by_number` against the simulator over loopback HTTP.

The shop's number is a string that sequential-numbering plugins set apart from the id (fact
sheet §4), and ``search`` matches far more than the number, so only an exact number counts.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from kobling.connectors.woocommerce.sandbox import WooCommerceSandbox
from kobling.connectors.woocommerce.source import WooCommerceSource
from kobling.web.server import serve_in_thread
from tests.accounting.woo_payloads import redated, woo_order

KEY, SECRET = "ck_lookup", "cs_lookup"


def order(order_id: int, number: str, *, status: str = "processing") -> dict[str, Any]:
    payload = woo_order(
        order_id,
        lines=[("MUG", "Mug", 1, "80.00", "80.00", "20.00", "")],
        total="100.00",
        total_tax="20.00",
        country="DK",
        status=status,
    )
    payload["number"] = number
    return redated(payload, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"))


@pytest.fixture
def shop() -> Iterator[tuple[WooCommerceSandbox, WooCommerceSource]]:
    sandbox = WooCommerceSandbox(consumer_key=KEY, consumer_secret=SECRET)
    server = serve_in_thread(sandbox.app)
    for order_id, number in ((1002, "1002"), (1003, "1003"), (2000, "WC-1002")):
        sandbox.add_order(order(order_id, number), deliver_webhooks=False)
    try:
        yield (
            sandbox,
            WooCommerceSource(server.url, {"consumer_key": KEY, "consumer_secret": SECRET}, {}),
        )
    finally:
        server.stop()
        sandbox.close()


def test_an_exact_number_among_search_hits(
    shop: tuple[WooCommerceSandbox, WooCommerceSource],
) -> None:
    sandbox, source = shop
    # "1002" is also part of "WC-1002" (and of its id block): only the exact number counts.
    found = source.order_by_number("1002")
    assert found is not None and found["id"] == 1002
    plugin = source.order_by_number(" WC-1002 ")
    assert plugin is not None and plugin["id"] == 2000
    searches = [path for method, path, _ in sandbox.requests if "search=" in path]
    assert searches, "the lookup did not search"


def test_an_id_is_not_a_number_and_unknown_numbers_are_none(
    shop: tuple[WooCommerceSandbox, WooCommerceSource],
) -> None:
    _, source = shop
    # Order 2000 exists, but the shop shows it as WC-1002: there is no order *numbered* 2000.
    assert source.order_by_number("2000") is None
    assert source.order_by_number("99999") is None  # search finds none, by id: 404
    assert source.order_by_number("WC-9") is None
    assert source.order_by_number("  ") is None


def test_falls_back_to_the_id_when_search_misses_the_number(
    shop: tuple[WooCommerceSandbox, WooCommerceSource], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A shop whose search does not index the number: the number that is an id still counts.
    _, source = shop
    monkeypatch.setattr(source.client, "paginate", lambda path, params: iter(()))
    found = source.order_by_number("1003")
    assert found is not None and found["number"] == "1003"
    assert source.order_by_number("WC-1002") is None


def test_trashed_orders_are_not_searched(
    shop: tuple[WooCommerceSandbox, WooCommerceSource],
) -> None:
    sandbox, source = shop
    sandbox.add_order(order(3000, "T-1", status="trash"), deliver_webhooks=False)
    assert source.order_by_number("T-1") is None
