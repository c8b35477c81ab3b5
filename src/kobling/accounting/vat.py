"""Which kind of sale an order is, and which VAT zone that puts it in.

This is the first, deliberately small, set of rules: a seller without One-Stop-Shop charges
its own domestic VAT on sales to consumers in other EU countries, reverse-charges business
customers with a VAT number, and charges no VAT on exports outside the EU. Dated rates,
OSS and VAT-number validation build on this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from kobling.domain.customer import Customer

EU_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
    ]
)


class SaleKind(StrEnum):
    DOMESTIC = "domestic"
    EU_CONSUMER = "eu_consumer"
    EU_BUSINESS = "eu_business"
    EXPORT = "export"


class VatZone(StrEnum):
    """The three zones every ledger we target distinguishes."""

    DOMESTIC = "domestic"
    EU = "eu"
    ABROAD = "abroad"


@dataclass(frozen=True)
class VatDecision:
    kind: SaleKind
    zone: VatZone
    rate: Decimal
    reason: str


def decide(customer: Customer, seller_country: str, domestic_rate: Decimal) -> VatDecision:
    """Classify the sale and explain the VAT the document will carry."""
    country = customer.billing.country
    if country == seller_country:
        return VatDecision(
            SaleKind.DOMESTIC,
            VatZone.DOMESTIC,
            domestic_rate,
            f"domestic sale in {country}: {domestic_rate}% VAT",
        )
    if country in EU_COUNTRIES and customer.vat_number:
        return VatDecision(
            SaleKind.EU_BUSINESS,
            VatZone.EU,
            Decimal("0"),
            f"business customer in {country} with VAT number {customer.vat_number}: "
            "reverse charge, 0% VAT",
        )
    if country in EU_COUNTRIES:
        return VatDecision(
            SaleKind.EU_CONSUMER,
            VatZone.DOMESTIC,
            domestic_rate,
            f"consumer in {country} without One-Stop-Shop: the seller's own {domestic_rate}% VAT",
        )
    return VatDecision(
        SaleKind.EXPORT,
        VatZone.ABROAD,
        Decimal("0"),
        f"export to {country} outside the EU: 0% VAT",
    )
