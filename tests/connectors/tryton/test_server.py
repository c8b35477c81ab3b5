"""Against a real Tryton 8.2 server over REST (marked ``tryton``; skip without .venv-tryton).

Amounts are computed by hand in the comments; Tryton rounds each tax line half-up to cents.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from kobling.errors import PermanentError
from tests.connectors.tryton.conftest import TrytonDatabase

# Slow too (module activation ~30 s, a server process): `make test-fast` leaves them out.
pytestmark = [pytest.mark.tryton, pytest.mark.slow]

INVOICE_FIELDS = ["state", "number", "untaxed_amount", "tax_amount", "total_amount", "move"]


def create_customer(db: TrytonDatabase, name: str, country: str = "DK") -> dict[str, Any]:
    return db.client.create(
        "party.party",
        {
            "name": name,
            "addresses": [
                [
                    "create",
                    [
                        {
                            "street": "Vestergade 1",
                            "postal_code": "8000",
                            "city": "Aarhus",
                            "country": db.info["countries"][country],
                        }
                    ],
                ]
            ],
        },
        fields=["name", "addresses"],
    )


def create_invoice(
    db: TrytonDatabase,
    party: dict[str, Any],
    invoice_date: date,
    lines: list[tuple[str, Decimal, Decimal, int]],
) -> dict[str, Any]:
    """A draft customer invoice; each line is (description, quantity, unit price, tax id).

    REST ``create`` runs no on_change, so everything the form would fill in is sent.
    """
    info = db.info
    return db.client.create(
        "account.invoice",
        {
            "type": "out",
            "party": party["id"],
            "invoice_address": party["addresses"][0],
            "invoice_date": invoice_date,
            "account": info["accounts"]["receivable"],
            "journal": info["journals"]["revenue"],
            "reference": "WEB-1001",
            "lines": [
                [
                    "create",
                    [
                        {
                            "type": "line",
                            "description": description,
                            "quantity": quantity,
                            "unit_price": price,
                            "account": info["accounts"]["revenue"],
                            "taxes": [["add", [tax]]],
                        }
                        for description, quantity, price, tax in lines
                    ],
                ]
            ],
        },
        fields=INVOICE_FIELDS,
    )


def test_search_create_and_deactivate_a_party(tryton: TrytonDatabase) -> None:
    client = tryton.client
    (company,) = client.search("party.party", [("name", "=", "Kobling Sandbox ApS")])
    assert company["id"] == tryton.info["company_party"]

    created = create_customer(tryton, "Jens Hansen")
    found = client.search("party.party", [("name", "=", "Jens Hansen")], fields=["name", "code"])
    assert [p["id"] for p in found] == [created["id"]]
    address = client.read("party.address", created["addresses"][0], fields=["city", "country"])
    assert (address["city"], address["country"]) == ("Aarhus", tryton.info["countries"]["DK"])

    # A deactivated record is hidden from searches unless active_test is off: a lookup by
    # name or SKU must switch it off, or it creates a duplicate.
    client.write("party.party", created["id"], {"active": False})
    assert client.search("party.party", [("name", "=", "Jens Hansen")]) == []
    hidden = client.search("party.party", [("name", "=", "Jens Hansen")], active_test=False)
    assert [p["id"] for p in hidden] == [created["id"]]


def test_post_an_invoice_with_danish_vat(tryton: TrytonDatabase) -> None:
    client, info = tryton.client, tryton.info
    today = date.today()
    party = create_customer(tryton, "Mette Jensen")
    dk25 = info["taxes"]["DK"]["standard"]
    # 3 x 19.99 = 59.97 net; 25 % VAT = 14.9925 -> 14.99; total 74.96
    draft = create_invoice(
        tryton, party, today, [("Ceramic mug", Decimal(3), Decimal("19.99"), dk25)]
    )
    assert draft["state"] == "draft"
    assert draft["number"] is None

    posted = client.call(
        "account.invoice",
        "post",
        draft["id"],
        fields=[*INVOICE_FIELDS, "taxes.tax", "taxes.base", "taxes.amount"],
    )
    assert posted["state"] == "posted"
    assert posted["number"] == f"INV{today.year}-00001"
    assert posted["untaxed_amount"] == Decimal("59.97")
    assert posted["tax_amount"] == Decimal("14.99")
    assert posted["total_amount"] == Decimal("74.96")
    assert [(t["tax"], t["base"], t["amount"]) for t in posted["taxes"]] == [
        (dk25, Decimal("59.97"), Decimal("14.99"))
    ]

    # The accounting move: receivable debit 74.96 = revenue credit 59.97 + output VAT 14.99.
    move_lines = client.search(
        "account.move.line", [("move", "=", posted["move"])], fields=["account", "debit", "credit"]
    )
    booked = {(ml["account"], ml["debit"], ml["credit"]) for ml in move_lines}
    accounts = info["accounts"]
    assert booked == {
        (accounts["receivable"], Decimal("74.96"), Decimal(0)),
        (accounts["revenue"], Decimal(0), Decimal("59.97")),
        (accounts["output_vat"], Decimal(0), Decimal("14.99")),
    }


def test_posting_into_a_closed_period_names_the_period(tryton: TrytonDatabase) -> None:
    client, info = tryton.client, tryton.info
    last_year = date.today().year - 1
    period_name = f"{last_year}-12"
    (period,) = client.search("account.period", [("name", "=", period_name)], fields=["state"])
    assert client.call("account.period", "close", period["id"], fields=["state"])["state"] == (
        "closed"
    )

    party = create_customer(tryton, "Late Order Ltd")
    dk25 = info["taxes"]["DK"]["standard"]
    draft = create_invoice(
        tryton, party, date(last_year, 12, 15), [("Late mug", Decimal(1), Decimal(100), dk25)]
    )
    with pytest.raises(PermanentError) as caught:
        client.call("account.invoice", "post", draft["id"])
    error = caught.value
    assert error.code == "closed_period"
    assert f'"{period_name}"' in error.reason
    assert "closed" in error.reason
    assert f'reopen period "{period_name}"' in error.fix
    # Nothing was booked: the invoice is still a draft without a number.
    after = client.read("account.invoice", draft["id"], fields=["state", "number"])
    assert (after["state"], after["number"]) == ("draft", None)


def test_finnish_rates_follow_the_invoice_date(tryton: TrytonDatabase) -> None:
    """One tax per category; Tryton picks the child rate valid on the invoice date."""
    info = tryton.info
    party = create_customer(tryton, "Helsinki Oy", country="FI")
    standard, reduced = info["taxes"]["FI"]["standard"], info["taxes"]["FI"]["reduced"]
    hundred = Decimal(100)
    cases = [
        (date(2024, 8, 31), standard, Decimal("24.00")),  # 24 % until 31 Aug 2024
        (date(2024, 9, 1), standard, Decimal("25.50")),  # 25.5 % from 1 Sep 2024
        (date(2025, 12, 31), reduced, Decimal("14.00")),  # 14 % until 31 Dec 2025
        (date(2026, 1, 1), reduced, Decimal("13.50")),  # 13.5 % from 1 Jan 2026
    ]
    for invoice_date, tax, expected in cases:
        draft = create_invoice(tryton, party, invoice_date, [("Item", Decimal(1), hundred, tax)])
        assert (invoice_date, draft["tax_amount"]) == (invoice_date, expected)
