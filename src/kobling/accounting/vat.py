"""VAT decisions: which kind of sale an order is, and which rate each line must carry.

The rules, in the order they are applied (EU VAT Directive as changed by the 2021 e-commerce
package):

* **No destination country** → the VAT cannot be determined: the transfer is held.
* **Domestic sale** (ship-to in the seller's country) → the seller's rates.
* **Business in another EU country with a valid VAT number** (checksum valid and issued by the
  billing address's country) → intra-community supply, reverse charge, 0%.
* **Consumer in another EU country** (distance sale) → the destination's rates when the seller
  uses One-Stop-Shop, the seller's own rates otherwise.
* **Outside the EU** → export, 0%.

Within the sale, a line's *tax class* (standard, reduced, zero, …) picks the category, and the
*tax point* (order date or payment date, a setting) picks the rate valid that day from
``data/eu_vat_rates.json``. Every decision carries a sentence a shop owner can read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from stdnum.eu import vat as eu_vat

from kobling.accounting.vat_rates import UnknownVatRate, is_eu, rate_on
from kobling.domain.customer import Customer
from kobling.domain.order import Order
from kobling.errors import PermanentError

ZERO = Decimal("0")

# WooCommerce's built-in tax classes (fact sheet §6: "" = standard, reduced-rate, zero-rate);
# other shops' names map through the connection setting ``tax_classes``.
DEFAULT_TAX_CLASSES = {
    "": "standard",
    "standard": "standard",
    "reduced-rate": "reduced",
    "reduced": "reduced",
    "reduced2": "reduced2",
    "super-reduced": "super_reduced",
    "super_reduced": "super_reduced",
    "zero-rate": "zero",
    "zero": "zero",
}


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
class VatPolicy:
    seller_country: str = "DK"
    oss: bool = False
    tax_point: str = "order_date"  # or "paid_date"
    tax_classes: Mapping[str, str] = field(default_factory=dict)
    # Dates are the seller's local dates: an order at 22:30 UTC on 31 August is a
    # 1 September order in Copenhagen and Helsinki, and its VAT is September's.
    timezone: str = "Europe/Copenhagen"


@dataclass(frozen=True)
class Sale:
    """The order-level decision."""

    kind: SaleKind
    destination: str
    rate_country: str  # whose rates apply; "" when the sale carries 0% (reverse charge, export)
    zone: VatZone
    tax_point: date
    reason: str


@dataclass(frozen=True)
class VatDecision:
    """The line-level decision: rate, category and a code the target maps to its setup."""

    rate: Decimal
    category: str
    code: str
    reason: str


def destination_country(order: Order) -> str:
    shipping = order.shipping_address.country if order.shipping_address else ""
    return shipping or order.customer.billing.country


def local_date(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


def tax_point(order: Order, policy: VatPolicy) -> date:
    if policy.tax_point == "paid_date" and order.paid_at is not None:
        return local_date(order.paid_at, policy.timezone)
    return local_date(order.created_at, policy.timezone)


def vat_number_verdict(customer: Customer) -> tuple[bool, str]:
    """Is the customer's VAT number usable for reverse charge? Checked offline (checksum)."""
    number = eu_vat.compact(customer.vat_number) if customer.vat_number else ""
    if not number:
        return False, "no VAT number"
    if not eu_vat.is_valid(number):
        return False, f"the VAT number {number} is not a valid EU VAT number"
    issued_by = {"EL": "GR", "XI": "GB"}.get(number[:2], number[:2])
    if issued_by != customer.billing.country:
        return False, (
            f"the VAT number {number} was issued in {issued_by}, but the billing address is in "
            f"{customer.billing.country or 'no country'}"
        )
    return True, f"valid VAT number {number}"


def classify(order: Order, policy: VatPolicy) -> Sale:
    """Decide the kind of sale, or raise ``PermanentError`` when it cannot be decided."""
    country = destination_country(order)
    point = tax_point(order, policy)
    seller = policy.seller_country
    if not country:
        raise PermanentError(
            "the order has no billing or shipping country, so its VAT cannot be determined",
            "add the customer's country to the order's address in the shop",
            code="no_country",
        )
    if country == seller:
        return Sale(
            SaleKind.DOMESTIC,
            country,
            seller,
            VatZone.DOMESTIC,
            point,
            f"domestic sale in {seller}",
        )
    if not is_eu(country, point):
        return Sale(
            SaleKind.EXPORT,
            country,
            "",
            VatZone.ABROAD,
            point,
            f"export to {country}, outside the EU: 0% VAT",
        )
    valid, verdict = vat_number_verdict(order.customer)
    if valid and order.customer.billing.country == seller:
        # An intra-community supply needs a buyer registered in another member state than
        # the one the goods leave (VAT Directive art. 138): a buyer with a number from the
        # seller's own country pays the seller's VAT, wherever the goods go.
        return Sale(
            SaleKind.DOMESTIC,
            country,
            seller,
            VatZone.DOMESTIC,
            point,
            f"business customer with a {verdict} from {seller}, the seller's own country: "
            f"no reverse charge, the seller's {seller} VAT",
        )
    if valid:
        return Sale(
            SaleKind.EU_BUSINESS,
            country,
            "",
            VatZone.EU,
            point,
            f"business customer in {country} with a {verdict}: reverse charge, 0% VAT",
        )
    why = "" if verdict == "no VAT number" else f" ({verdict}, so it is sold as to a consumer)"
    if policy.oss:
        return Sale(
            SaleKind.EU_CONSUMER,
            country,
            country,
            VatZone.DOMESTIC,
            point,
            f"distance sale to a consumer in {country}{why}: {country} VAT through One-Stop-Shop",
        )
    return Sale(
        SaleKind.EU_CONSUMER,
        country,
        seller,
        VatZone.DOMESTIC,
        point,
        f"distance sale to a consumer in {country}{why} without One-Stop-Shop: "
        f"the seller's {seller} VAT",
    )


def category_of(tax_class: str, policy: VatPolicy) -> str:
    mapping = {**DEFAULT_TAX_CLASSES, **policy.tax_classes}
    key = tax_class.strip()
    if key not in mapping:
        raise PermanentError(
            f"the shop's tax class {tax_class!r} is not known to Kobling",
            f"map the tax class {tax_class!r} to standard, reduced, reduced2, super_reduced or "
            "zero in the connection settings (tax_classes)",
            code="tax_class",
        )
    return mapping[key]


def decide(sale: Sale, category: str) -> VatDecision:
    """The rate of one line of ``category`` in ``sale``."""
    if not sale.rate_country:
        code = "reverse_charge" if sale.kind is SaleKind.EU_BUSINESS else "export"
        return VatDecision(ZERO, category, code, sale.reason)
    try:
        found = rate_on(sale.rate_country, category, sale.tax_point)
    except UnknownVatRate as exc:
        raise PermanentError(
            str(exc),
            "map the product's tax class to a category the country has (connection setting "
            "tax_classes), or report the missing rate to Kobling",
            code="unknown_rate",
        ) from exc
    oss = sale.kind is SaleKind.EU_CONSUMER and sale.rate_country == sale.destination
    code = f"{sale.rate_country}:{found.rate.normalize():f}" + (":oss" if oss else "")
    reason = (
        f"{sale.reason}; {category} rate in {sale.rate_country} on {sale.tax_point}: "
        f"{found.rate.normalize():f}%"
    )
    return VatDecision(found.rate, category, code, reason)
