"""The e-conomic target against its simulator: customers, truncation, product groups."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal

import pytest

from kobling.accounting.plan import PlanPolicy, plan_invoice
from kobling.connectors.economic.sandbox import EconomicSandbox
from kobling.connectors.economic.target import EconomicTarget
from kobling.errors import PermanentError
from kobling.web.server import serve_in_thread
from tests.factories import line, order

CREDS = {"app_secret_token": "app", "agreement_grant_token": "grant"}


@pytest.fixture
def ledger() -> Iterator[tuple[EconomicSandbox, str]]:
    sandbox = EconomicSandbox(app_secret_token="app", agreement_grant_token="grant")
    server = serve_in_thread(sandbox.app)
    yield sandbox, server.url
    server.stop()


def _plan(**kwargs):
    o = order(line("Mug", "1", "100.00", "25.00", sku="MUG"), total="125.00", **kwargs)
    return plan_invoice(o, PlanPolicy())


def test_consumers_go_on_the_collective_customer(ledger) -> None:
    sandbox, url = ledger
    setup = EconomicTarget(url, CREDS, {})
    collective = setup.ensure_customer(_plan(email="first@example.dk").customer)
    target = EconomicTarget(url, CREDS, {"collective_customer": int(collective.number)})
    result = target.ensure_customer(_plan(email="someone.else@example.dk").customer)
    assert (result.number, result.action) == (collective.number, "collective")
    assert len(sandbox.customers()) == 1


def test_a_missing_collective_customer_is_held_with_the_fix(ledger) -> None:
    _, url = ledger
    target = EconomicTarget(url, CREDS, {"collective_customer": 999})
    with pytest.raises(PermanentError) as caught:
        target.ensure_customer(_plan().customer)
    assert "999" in caught.value.reason and "collective_customer" in caught.value.fix


def test_business_customers_get_the_b2b_group(ledger) -> None:
    sandbox, url = ledger
    target = EconomicTarget(url, CREDS, {"customer_group_b2b": 2, "customer_group_b2c": 1})
    o = order(
        line("Mug", "1", "100.00", "0.00", sku="MUG"),
        total="100.00",
        country="DE",
        vat_number="DE136695976",
        currency="EUR",
    )
    target.ensure_customer(plan_invoice(o, PlanPolicy()).customer)
    target.ensure_customer(_plan(email="private@example.dk").customer)
    groups = sorted(c["customerGroup"]["customerGroupNumber"] for c in sandbox.customers())
    assert groups == [1, 2]


def test_matched_customer_is_updated_only_when_the_setting_says_so(ledger) -> None:
    sandbox, url = ledger
    EconomicTarget(url, CREDS, {}).ensure_customer(_plan().customer)
    moved = order(line("Mug", "1", "100.00", "25.00", sku="MUG"), total="125.00")
    billing = replace(moved.customer.billing, street1="Ny Vej 9")
    moved = replace(moved, customer=replace(moved.customer, billing=billing))
    planned = plan_invoice(moved, PlanPolicy()).customer
    assert EconomicTarget(url, CREDS, {}).ensure_customer(planned).action == "matched"
    assert sandbox.customers()[0]["address"] == "Vej 1"
    result = EconomicTarget(url, CREDS, {"update_customers": True}).ensure_customer(planned)
    assert result.action == "updated" and "address" in result.notes[-1]
    assert sandbox.customers()[0]["address"] == "Ny Vej 9"
    assert len(sandbox.customers()) == 1


def test_long_values_are_never_cut_silently(ledger) -> None:
    sandbox, url = ledger
    long_name = "Aktieselskabet " + "Meget Langt Navn " * 20  # 355 characters
    o = order(line("Mug", "1", "100.00", "25.00", sku="MUG"), total="125.00")
    billing = replace(o.customer.billing, company=long_name)
    o = replace(o, customer=replace(o.customer, billing=billing))
    plan = plan_invoice(o, PlanPolicy())
    target = EconomicTarget(url, CREDS, {})
    customer = target.ensure_customer(plan.customer)
    assert customer.notes and "255" in customer.notes[0] and long_name in customer.notes[0]
    target.ensure_products(plan)
    document = target.create_document(plan, customer.number)
    assert document.data["kobling_truncated"]
    [draft] = sandbox.draft_invoices()
    assert long_name[:250] == draft["recipient"]["name"]
    assert long_name in draft["notes"]["textLine2"]


def test_created_products_go_into_the_group_of_their_vat(ledger) -> None:
    sandbox, url = ledger
    target = EconomicTarget(url, CREDS, {})
    o = order(
        line("Mug", "1", "100.00", "25.00", sku="MUG"), total="175.00", shipping=("50.00", "0.00")
    )
    plan = plan_invoice(o, PlanPolicy())
    target.ensure_products(plan)
    groups = {
        p["productNumber"]: p["productGroup"]["productGroupNumber"] for p in sandbox.products()
    }
    # MUG at 25% → group 1; untaxed shipping at 0% → group 2 (the default mapping).
    assert groups == {"MUG": 1, "SHIPPING0": 2}
    number = target.ensure_customer(plan.customer).number
    document = target.book(target.create_document(plan, number))
    # 100.00 + 25.00 VAT + 50.00 untaxed shipping = 175.00
    assert Decimal(str(document.gross)) == Decimal("175.00")


def test_a_vat_rate_without_a_product_group_is_named(ledger) -> None:
    _, url = ledger
    target = EconomicTarget(url, CREDS, {})
    o = order(line("Mug", "1", "100.00", "19.00", sku="MUG"), total="119.00", country="DE")
    plan = plan_invoice(o, PlanPolicy(oss=True))
    with pytest.raises(PermanentError) as caught:
        target.ensure_products(plan)
    assert "19% VAT (DE:19:oss)" in caught.value.reason
    assert "vat_product_groups['DE:19:oss']" in caught.value.fix
