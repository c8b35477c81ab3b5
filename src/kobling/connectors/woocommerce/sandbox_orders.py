"""Realistic WooCommerce orders for a small Danish webshop: the sandbox's data generator.

Everything here is pure: a seeded :class:`random.Random` in, plain JSON-ready dicts out, in
exactly the shape ``GET /wp-json/wc/v3/orders/{id}`` returns (fact sheet §4), minus ``_links``,
which depend on the URL the document is served under and are added by the sandbox.

Why the arithmetic matters: the accounting side recomputes net, VAT and gross from the lines
and holds a transfer when the source's totals disagree beyond a tolerance. A simulator that
produces totals no real shop would produce either hides bugs or invents them, so every amount
below follows WooCommerce's per-line rounding (``Decimal``, half-up, 2 decimals):

* per line ``subtotal`` = unit net x qty, ``total`` = subtotal minus its share of the coupon
  (allocated proportionally, the last line takes the remainder), taxes rounded per line;
* with ``prices_include_tax`` the line's gross is fixed and the tax is taken out of it:
  ``tax = round(gross x 25/125)``, ``net = gross - tax``;
* shipping and fees are always entered excl. tax and taxed per line;
* ``total`` = lines + shipping + fees (all net) + ``total_tax``.

Tax rules are those of a small Danish seller without OSS: 25 % Danish VAT for Danish and EU
consumers, 0 % for EU businesses with a VAT number (reverse charge; the customer is marked VAT
exempt, so no tax lines at all) and for customers outside the EU (export).
"""

from __future__ import annotations

import copy
import itertools
import random
import string
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from stdnum.eu import vat as eu_vat

__all__ = [
    "CATALOGUE",
    "COUPONS",
    "DEFAULT_STATUS_MIX",
    "FIRST_ORDER_ID",
    "SITE_TZ",
    "Cart",
    "CartLine",
    "Coupon",
    "Customer",
    "FeeChoice",
    "LineAmounts",
    "Product",
    "RefundError",
    "ShippingChoice",
    "Totals",
    "allocate",
    "apply_refund",
    "build_order",
    "build_refund",
    "compute",
    "convert",
    "draw_cart",
    "draw_currency",
    "draw_customer",
    "draw_market",
    "format_wc_date",
    "generate",
    "gmt_to_local",
    "json_number",
    "money",
    "parse_wc_date",
    "rebuild_refunds",
    "refunded_amount",
    "round_half_up",
    "tax_string",
    "vat_rate_for",
    "wc_dates",
]

Json = dict[str, Any]

SITE_TZ = ZoneInfo("Europe/Copenhagen")
"""The shop's WordPress timezone: site-local dates (``date_created`` ...) are in this zone."""

BASE_COUNTRY = "DK"
BASE_CURRENCY = "DKK"
WC_VERSION = "9.4.2"
DEFAULT_SITE_URL = "https://shop.example.dk/"
FIRST_ORDER_ID = 1001
"""Orders and refunds share WordPress's post id sequence, so a refund takes the next id."""

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
DK_VAT = Decimal("25")
TAX_RATE_ID = 1
TAX_RATE_CODE = "DK-MOMS-1"
TAX_LABEL = "Moms"

EU_COUNTRIES = frozenset(
    {
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
        "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
    }
)  # fmt: skip

DEFAULT_STATUS_MIX: Mapping[str, float] = {
    "processing": 0.45,
    "completed": 0.25,
    "pending": 0.10,
    "on-hold": 0.05,
    "cancelled": 0.07,
    "failed": 0.05,
    "refunded": 0.03,
}
ORDER_STATUSES = frozenset(
    {"pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed"}
)
PAID_STATUSES = frozenset({"processing", "completed", "refunded"})

DKK_PER_UNIT: Mapping[str, Decimal] = {
    "DKK": Decimal("1"),
    "EUR": Decimal("7.46"),
    "SEK": Decimal("0.65"),
}
"""Fixed conversion table: the shop's multi-currency plugin converts DKK catalogue prices."""

CURRENCY_SYMBOLS: Mapping[str, str] = {"DKK": "kr.", "EUR": "€", "SEK": "kr"}

PAYMENT_TITLES: Mapping[str, str] = {
    "bacs": "Direct bank transfer",
    "stripe": "Credit card (Stripe)",
    "paypal": "PayPal",
    "cod": "Cash on delivery",
}

REFUND_STATUS_NOTE = (
    "Order status set to refunded. To return funds to the customer you will need to issue a "
    "refund through your payment gateway."
)
"""Reason WooCommerce gives the automatic refund created when the status is set to refunded."""


# --------------------------------------------------------------------------- money, dates


def round_half_up(value: Decimal) -> Decimal:
    """Round to cents half away from zero, like PHP's ``round()`` that WooCommerce uses."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def money(value: Decimal) -> str:
    """Format an amount the way the REST API does: a string with exactly 2 decimals.

    Negative zero (from negating ``0.00`` in a refund) is printed as ``0.00``, as PHP does.
    """
    rounded = round_half_up(value)
    if rounded == 0:
        rounded = ZERO
    return f"{rounded:.2f}"


def tax_string(value: Decimal) -> str:
    """Format a per-rate tax amount inside a ``taxes`` array.

    WooCommerce stores these as PHP floats, so the docs' sample shows ``"0.9"`` and ``"0.45"``
    rather than 2-decimal strings; a connector must parse them as decimals, not compare text.
    """
    rounded = round_half_up(value)
    if rounded == 0:
        return "0"
    text = f"{rounded:f}".rstrip("0").rstrip(".")
    return text


def json_number(value: Decimal) -> int | float:
    """Render a line ``price`` as WooCommerce does: a JSON number (``3`` or ``29.9966...``).

    This is the wire format only (``total / quantity`` as a PHP float); no arithmetic in
    Kobling is ever done on it.
    """
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def tax_on_net(net: Decimal, rate: Decimal) -> Decimal:
    """Tax on an amount excl. tax, rounded per line."""
    return round_half_up(net * rate / Decimal(100))


def tax_in_gross(gross: Decimal, rate: Decimal) -> Decimal:
    """Tax contained in an amount incl. tax (``gross x 25/125`` for Danish VAT)."""
    return round_half_up(gross * rate / (Decimal(100) + rate))


def convert(dkk: Decimal, currency: str) -> Decimal:
    """Convert a DKK catalogue amount to the order currency with the fixed rate table."""
    return round_half_up(dkk / DKK_PER_UNIT[currency])


def _as_utc(moment: datetime) -> datetime:
    """Treat naive datetimes as UTC; convert aware ones."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_wc_date(moment: datetime) -> str:
    """ISO 8601 without timezone and without fractions: ``2024-03-01T09:30:00``."""
    return moment.replace(tzinfo=None, microsecond=0).isoformat()


def wc_dates(moment: datetime) -> tuple[str, str]:
    """Return the (site-local, GMT) pair WooCommerce reports for one instant."""
    utc = _as_utc(moment)
    return format_wc_date(utc.astimezone(SITE_TZ)), format_wc_date(utc)


def parse_wc_date(value: str) -> datetime:
    """Parse a WooCommerce date string (no timezone) into a naive datetime."""
    return datetime.fromisoformat(value).replace(tzinfo=None)


def gmt_to_local(value: str) -> str:
    """Turn a ``*_gmt`` string into its site-local twin."""
    return wc_dates(parse_wc_date(value))[0]


# --------------------------------------------------------------------------- catalogue


@dataclass(frozen=True)
class Product:
    """A sellable item. Prices are DKK; ``price_incl`` is the shelf price incl. 25 % VAT."""

    id: int
    sku: str
    name: str
    price_excl: Decimal
    price_incl: Decimal
    parent_id: int = 0
    attributes: tuple[tuple[str, str, str, str], ...] = ()
    """Variation attributes as (meta key, value, display key, display value)."""

    @property
    def product_id(self) -> int:
        """The id an order line reports as ``product_id`` (the parent for variations)."""
        return self.parent_id or self.id

    @property
    def variation_id(self) -> int:
        """The id an order line reports as ``variation_id`` (0 for simple products)."""
        return self.id if self.parent_id else 0


def _product(pid: int, sku: str, name: str, excl: str, incl: str, **extra: Any) -> Product:
    return Product(pid, sku, name, Decimal(excl), Decimal(incl), **extra)


TSHIRT_PARENT_ID = 110
CATALOGUE: tuple[Product, ...] = (
    _product(101, "MUG-BLUE", "Ceramic mug, blue", "79.20", "99.00"),
    _product(102, "MUG-RED", "Ceramic mug, red", "79.20", "99.00"),
    # A SKU with a space and a slash, to exercise URL encoding and JSON "\/" escaping.
    _product(103, "MUG SET/2", "Mug gift set, 2 pcs", "142.36", "177.95"),
    _product(104, "CAP-GRN", "Cap, green", "119.96", "149.95"),
    _product(105, "POSTER-A3", "Poster A3 \u201cNyhavn\u201d", "63.96", "79.95"),
    # 33.33 x qty makes the per-line rounding visible (x 0.25 gives half-cent cases).
    _product(106, "STICKER-SET", "Sticker set", "33.33", "41.66"),
    _product(107, "TOTE-NAT", "Tote bag, natural", "71.96", "89.95"),
    _product(108, "NOTEBOOK-A5", "Notebook A5, dotted", "55.96", "69.95"),
    _product(109, "COFFEE-500G", "Coffee beans 500 g", "95.96", "119.95"),
    # WordPress stores product titles HTML-escaped; the REST API returns them that way.
    _product(113, "S&P-SET", "Salt &amp; pepper set", "103.96", "129.95"),
    _product(114, "CANDLE-SOY", "Soy candle \u201cHygge\u201d", "103.96", "129.95"),
    _product(
        111,
        "TEE-M-BLK",
        "T-shirt - M, Black",
        "159.20",
        "199.00",
        parent_id=TSHIRT_PARENT_ID,
        attributes=(("pa_size", "m", "Size", "M"), ("pa_color", "black", "Color", "Black")),
    ),
    _product(
        112,
        "TEE-L-WHT",
        "T-shirt - L, White",
        "159.20",
        "199.00",
        parent_id=TSHIRT_PARENT_ID,
        attributes=(("pa_size", "l", "Size", "L"), ("pa_color", "white", "Color", "White")),
    ),
)


@dataclass(frozen=True)
class Coupon:
    """A coupon as applied at checkout.

    ``amount`` is a percentage for ``percent`` coupons and an amount in the order currency for
    ``fixed_cart`` coupons (incl. tax when the order's prices include tax, as WooCommerce
    interprets coupon amounts in the shop's price entry mode).
    """

    code: str
    discount_type: str
    amount: Decimal


COUPONS: tuple[tuple[str, str, Decimal], ...] = (
    ("velkommen10", "percent", Decimal("10")),
    ("sommer20", "percent", Decimal("20")),
    ("rabat50", "fixed_cart", Decimal("50.00")),  # DKK, converted for other currencies
)


@dataclass(frozen=True)
class CartLine:
    """One product line; ``unit_price`` is in the order currency, gross if prices incl. tax."""

    product: Product
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class ShippingChoice:
    """A shipping rate; WooCommerce shipping costs are always entered excl. tax."""

    method_id: str
    method_title: str
    total: Decimal
    instance_id: str = "1"


@dataclass(frozen=True)
class FeeChoice:
    """A cart fee excl. tax; may be negative (a discount booked as a fee)."""

    name: str
    total: Decimal
    taxable: bool = True


@dataclass(frozen=True)
class Cart:
    """What the customer bought, before any tax or discount arithmetic."""

    lines: tuple[CartLine, ...]
    coupon: Coupon | None = None
    shipping: tuple[ShippingChoice, ...] = ()
    fees: tuple[FeeChoice, ...] = ()
    prices_include_tax: bool = False


@dataclass(frozen=True)
class Customer:
    """Billing (and shipping) party of an order."""

    first_name: str
    last_name: str
    address_1: str
    city: str
    postcode: str
    country: str
    email: str
    phone: str
    company: str = ""
    address_2: str = ""
    state: str = ""
    customer_id: int = 0
    vat_number: str = ""


def vat_rate_for(country: str, vat_number: str) -> Decimal:
    """VAT rate a small Danish seller without OSS charges this customer, in percent.

    Danish customers always pay 25 % (a Danish CVR number does not change that); EU customers
    pay Danish VAT unless they give a VAT number (reverse charge); exports are zero-rated.
    """
    if country == BASE_COUNTRY:
        return DK_VAT
    if country in EU_COUNTRIES:
        return Decimal(0) if vat_number else DK_VAT
    return Decimal(0)


# --------------------------------------------------------------------------- arithmetic


@dataclass(frozen=True)
class LineAmounts:
    """Computed amounts of one line (excl. tax) and its taxes."""

    subtotal: Decimal
    subtotal_tax: Decimal
    total: Decimal
    total_tax: Decimal


@dataclass(frozen=True)
class Totals:
    """All computed amounts of an order, per line and in total."""

    lines: tuple[LineAmounts, ...]
    shipping: tuple[tuple[Decimal, Decimal], ...]
    fees: tuple[tuple[Decimal, Decimal], ...]

    @property
    def discount_total(self) -> Decimal:
        return sum((line.subtotal - line.total for line in self.lines), ZERO)

    @property
    def discount_tax(self) -> Decimal:
        return sum((line.subtotal_tax - line.total_tax for line in self.lines), ZERO)

    @property
    def cart_tax(self) -> Decimal:
        items = sum((line.total_tax for line in self.lines), ZERO)
        return items + sum((tax for _, tax in self.fees), ZERO)

    @property
    def shipping_total(self) -> Decimal:
        return sum((total for total, _ in self.shipping), ZERO)

    @property
    def shipping_tax(self) -> Decimal:
        return sum((tax for _, tax in self.shipping), ZERO)

    @property
    def total_tax(self) -> Decimal:
        return self.cart_tax + self.shipping_tax

    @property
    def total(self) -> Decimal:
        lines = sum((line.total for line in self.lines), ZERO)
        fees = sum((total for total, _ in self.fees), ZERO)
        return lines + self.shipping_total + fees + self.total_tax


def allocate(amount: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split ``amount`` over lines in proportion to ``weights``; the last takes the remainder.

    The remainder rule guarantees the allocations sum to ``amount`` exactly, so the coupon
    line and the line discounts always agree to the cent.
    """
    base = sum(weights, ZERO)
    if amount == 0 or base == 0:
        return [ZERO for _ in weights]
    shares = [round_half_up(amount * weight / base) for weight in weights[:-1]]
    return [*shares, amount - sum(shares, ZERO)]


def coupon_discount(coupon: Coupon | None, base: Decimal) -> Decimal:
    """Discount of the coupon on the cart base (net, or gross when prices include tax)."""
    if coupon is None:
        return ZERO
    if coupon.discount_type == "percent":
        return round_half_up(base * coupon.amount / Decimal(100))
    return min(coupon.amount, base)


def _line_amounts(base: Decimal, discount: Decimal, rate: Decimal, gross: bool) -> LineAmounts:
    """Amounts of one line from its undiscounted base and its share of the discount."""
    if gross:
        subtotal_tax = tax_in_gross(base, rate)
        total_gross = base - discount
        total_tax = tax_in_gross(total_gross, rate)
        return LineAmounts(base - subtotal_tax, subtotal_tax, total_gross - total_tax, total_tax)
    total = base - discount
    return LineAmounts(base, tax_on_net(base, rate), total, tax_on_net(total, rate))


def compute(cart: Cart, rate: Decimal) -> Totals:
    """Compute every amount of the order with WooCommerce's per-line rounding."""
    bases = [line.unit_price * line.quantity for line in cart.lines]
    discount = coupon_discount(cart.coupon, sum(bases, ZERO))
    shares = allocate(discount, bases)
    lines = tuple(
        _line_amounts(base, share, rate, cart.prices_include_tax)
        for base, share in zip(bases, shares, strict=True)
    )
    shipping = tuple((s.total, tax_on_net(s.total, rate)) for s in cart.shipping)
    fees = tuple(
        (fee.total, tax_on_net(fee.total, rate) if fee.taxable else ZERO) for fee in cart.fees
    )
    return Totals(lines, shipping, fees)


# --------------------------------------------------------------------------- drawing


_NAMES: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "DK": (
        ("Mette", "Søren", "Anne", "Jens", "Line", "Rasmus", "Sofie", "Mikkel", "Ida"),
        ("Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Christensen", "Møller"),
    ),
    "DE": (("Jürgen", "Anna", "Lukas", "Lea", "Felix"), ("Müller", "Schmidt", "Weiß", "Becker")),
    "SE": (("Åsa", "Erik", "Maja", "Oskar"), ("Lindqvist", "Johansson", "Söderberg")),
    "FR": (("Élodie", "Lucas", "Chloé", "Hugo"), ("Moreau", "Lefèvre", "Dubois")),
    "NL": (("Sanne", "Daan", "Fleur", "Bram"), ("de Vries", "Jansen", "van Dijk")),
    "NO": (("Kari", "Ola", "Ingrid"), ("Nordmann", "Hansen", "Berg")),
    "US": (("John", "Emily", "Michael"), ("Doe", "Smith", "Johnson")),
    "GB": (("Oliver", "Amelia", "Harry"), ("Brown", "Taylor", "Wilson")),
}

# (city, postcode, street)
_PLACES: Mapping[str, tuple[tuple[str, str, str], ...]] = {
    "DK": (
        ("København K", "1050", "Nørregade"),
        ("Aarhus C", "8000", "Søndergade"),
        ("Odense C", "5000", "Vestergade"),
        ("Aalborg", "9000", "Boulevarden"),
        ("Frederiksberg", "2000", "Gammel Kongevej"),
    ),
    "DE": (("Berlin", "10115", "Torstraße"), ("Hamburg", "20095", "Mönckebergstraße")),
    "SE": (("Malmö", "211 22", "Södergatan"), ("Stockholm", "111 52", "Drottninggatan")),
    "FR": (("Paris", "75003", "Rue de Bretagne"), ("Lyon", "69002", "Rue de la République")),
    "NL": (("Amsterdam", "1012 AB", "Damrak"), ("Utrecht", "3511 AA", "Oudegracht")),
    "NO": (("Oslo", "0151", "Karl Johans gate"),),
    "US": (("San Francisco", "94103", "Market Street"), ("New York", "10001", "8th Avenue")),
    "GB": (("London", "EC1A 1BB", "Aldersgate Street"), ("Manchester", "M1 1AE", "Market St")),
}
_US_STATES: Mapping[str, str] = {"San Francisco": "CA", "New York": "NY"}
_PHONE_PREFIX: Mapping[str, str] = {
    "DK": "+45",
    "DE": "+49",
    "SE": "+46",
    "FR": "+33",
    "NL": "+31",
    "NO": "+47",
    "US": "+1",
    "GB": "+44",
}
_COMPANIES: Mapping[str, tuple[str, ...]] = {
    "DK": ("Hansen Tømrer ApS", "Café Kronborg I/S", "Nordlys Design A/S"),
    "DE": ("Müller Handels GmbH", "Weiß & Söhne KG"),
    "SE": ("Svensson Design AB", "Fika Kontor AB"),
    "FR": ("Atelier Moreau SARL", "Dubois & Fils SAS"),
    "NL": ("De Vries Trading B.V.", "Jansen Webwinkel B.V."),
    "NO": ("Fjord Interiør AS",),
    "US": ("Acme Goods LLC",),
    "GB": ("Taylor Supplies Ltd",),
}
_ASCII = str.maketrans(
    {"æ": "ae", "ø": "oe", "å": "aa", "ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "é": "e"}
    | {"è": "e", "É": "E", "Å": "Aa", "Ø": "Oe", "Æ": "Ae", "Ö": "Oe", "Ü": "Ue", " ": ""}
)
_USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0",
)
_CUSTOMER_NOTES = ("", "", "", "", "", "Leave at the back door, please.", "Gaveindpakning, tak.")


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(count))


def _vat_number(rng: random.Random, country: str) -> str:
    """A checksum-valid VAT number in the country's format (drawn until the checksum fits).

    Shops validate VAT numbers before they drop VAT for reverse charge, so the sandbox's B2B
    customers carry numbers that pass the same offline check Kobling makes (python-stdnum).
    GB numbers keep the plain format: GB is outside the EU, so they never decide VAT.
    """
    for _ in range(10_000):
        candidate = _vat_candidate(rng, country)
        if not candidate or country == "GB" or eu_vat.is_valid(candidate):
            return candidate
    raise RuntimeError(f"no valid VAT number drawn for {country}")


def _vat_candidate(rng: random.Random, country: str) -> str:
    formats = {
        "DK": lambda: "DK" + _digits(rng, 8),
        "DE": lambda: "DE" + _digits(rng, 9),
        "SE": lambda: "SE" + _digits(rng, 10) + "01",
        "FR": lambda: "FR" + _digits(rng, 11),
        "NL": lambda: "NL" + _digits(rng, 9) + "B01",
        "GB": lambda: "GB" + _digits(rng, 9),
    }
    make = formats.get(country)
    return make() if make else ""


def draw_customer(
    rng: random.Random, country: str, *, b2b: bool = False, company_only: bool = False
) -> Customer:
    """Draw a customer in ``country``.

    ``b2b`` gives a company with a VAT number (``_billing_vat_number``); ``company_only`` gives a
    company name without one, which must still be charged VAT: a name alone is no proof of a
    business customer.
    """
    first_names, last_names = _NAMES[country]
    first, last = rng.choice(first_names), rng.choice(last_names)
    city, postcode, street = rng.choice(_PLACES[country])
    company = rng.choice(_COMPANIES[country]) if (b2b or company_only) else ""
    local_part = f"{first}.{last}".lower().translate(_ASCII)
    domain = "example.com" if country in ("US", "GB") else f"example.{country.lower()}"
    return Customer(
        first_name=first,
        last_name=last,
        company=company,
        address_1=f"{street} {rng.randint(1, 120)}",
        address_2=rng.choice(("", "", "", "2. tv.", "c/o reception")) if country == "DK" else "",
        city=city,
        state=_US_STATES.get(city, ""),
        postcode=postcode,
        country=country,
        email=f"{local_part}@{domain}",
        phone=f"{_PHONE_PREFIX[country]} {_digits(rng, 8)}",
        customer_id=0 if rng.random() < 0.4 else rng.randint(2, 400),
        vat_number=_vat_number(rng, country) if b2b else "",
    )


def _draw_lines(rng: random.Random, currency: str, gross: bool) -> tuple[CartLine, ...]:
    count = rng.choices((1, 2, 3, 4), weights=(50, 30, 15, 5))[0]
    products = rng.sample(CATALOGUE, count)
    return tuple(
        CartLine(
            product=product,
            quantity=rng.choices((1, 2, 3, 4, 5), weights=(55, 25, 10, 6, 4))[0],
            unit_price=convert(product.price_incl if gross else product.price_excl, currency),
        )
        for product in products
    )


def _draw_coupon(rng: random.Random, currency: str) -> Coupon | None:
    if rng.random() >= 0.2:
        return None
    code, kind, amount = rng.choice(COUPONS)
    return Coupon(code, kind, amount if kind == "percent" else convert(amount, currency))


def _draw_shipping(
    rng: random.Random, country: str, currency: str, cart_dkk: Decimal
) -> ShippingChoice:
    """Danish carriers at home, one international rate abroad; free above a threshold."""
    if country == BASE_COUNTRY:
        if cart_dkk >= Decimal(500):
            return ShippingChoice("free_shipping", "Fri fragt", ZERO, "3")
        options = (
            ShippingChoice("flat_rate", "PostNord Pakke", convert(Decimal("49.00"), currency)),
            ShippingChoice("flat_rate", "GLS Pakkeshop", convert(Decimal("39.00"), currency), "2"),
            ShippingChoice("local_pickup", "Afhentning i butikken", ZERO, "4"),
        )
        return rng.choices(options, weights=(50, 40, 10))[0]
    if cart_dkk >= Decimal(1500):
        return ShippingChoice("free_shipping", "Free international shipping", ZERO, "7")
    rate_dkk = Decimal("129.00") if country in EU_COUNTRIES else Decimal("179.00")
    return ShippingChoice("flat_rate", "International shipping", convert(rate_dkk, currency), "6")


def _draw_fees(
    rng: random.Random, country: str, currency: str, cart_dkk: Decimal
) -> tuple[FeeChoice, ...]:
    fees: list[FeeChoice] = []
    if rng.random() < 0.08:
        fees.append(FeeChoice("Gift wrap", convert(Decimal("25.00"), currency)))
    if country == BASE_COUNTRY and cart_dkk >= Decimal(200) and rng.random() < 0.05:
        fees.append(FeeChoice("Loyalty discount", -convert(Decimal("20.00"), currency)))
    return tuple(fees)


def draw_cart(rng: random.Random, country: str, currency: str, rate: Decimal) -> Cart:
    """Draw a realistic cart for a customer in ``country`` paying in ``currency``.

    Tax-inclusive pricing is only drawn for customers charged Danish VAT, so WooCommerce's
    base-location price adjustment for zero-rated customers never comes into play.
    """
    gross = rate > 0 and rng.random() < 0.2
    lines = _draw_lines(rng, currency, gross)
    cart_dkk = sum((line.product.price_excl * line.quantity for line in lines), ZERO)
    return Cart(
        lines=lines,
        coupon=_draw_coupon(rng, currency),
        shipping=(_draw_shipping(rng, country, currency, cart_dkk),),
        fees=_draw_fees(rng, country, currency, cart_dkk),
        prices_include_tax=gross,
    )


def draw_market(rng: random.Random) -> tuple[str, bool, bool]:
    """Draw (country, has VAT number, company without VAT number) for one order.

    About 60 % Danish, 25 % EU consumers, 7 % EU businesses, 8 % outside the EU.
    """
    roll = rng.random()
    if roll < 0.60:
        return "DK", rng.random() < 0.06, False
    if roll < 0.85:
        country = rng.choices(("DE", "SE", "FR", "NL"), weights=(35, 25, 20, 20))[0]
        return country, False, rng.random() < 0.1
    if roll < 0.92:
        return rng.choices(("DE", "SE", "FR", "NL"), weights=(35, 25, 20, 20))[0], True, False
    return rng.choices(("NO", "US", "GB"), weights=(45, 25, 30))[0], rng.random() < 0.2, False


def draw_currency(rng: random.Random, country: str) -> str:
    """Currency the customer checked out in: DKK at home, mostly EUR/SEK in the EU."""
    if country == "SE":
        return "SEK" if rng.random() < 0.7 else "DKK"
    if country in ("DE", "FR", "NL"):
        return "EUR" if rng.random() < 0.8 else "DKK"
    return "DKK"


# --------------------------------------------------------------------------- order document


@dataclass(frozen=True)
class Timeline:
    """When things happened to an order (UTC)."""

    created: datetime
    modified: datetime
    paid: datetime | None = None
    completed: datetime | None = None
    refunded: datetime | None = None


def _timeline(rng: random.Random, status: str, created: datetime, end: datetime | None) -> Timeline:
    """Plausible event times after ``created``, never later than ``end`` (if given)."""
    cap = max(end, created) if end is not None else None

    def after(seconds: float) -> datetime:
        moment = created + timedelta(seconds=int(seconds))
        return min(moment, cap) if cap is not None else moment

    paid = after(rng.uniform(5, 120)) if status in PAID_STATUSES else None
    completed = after(rng.uniform(1, 4) * 86400) if status == "completed" else None
    refunded = after(rng.uniform(2, 10) * 86400) if status == "refunded" else None
    modified = (
        {
            "pending": after(rng.uniform(0, 2)),
            "on-hold": after(rng.uniform(1, 3)),
            "failed": after(rng.uniform(10, 60)),
            "cancelled": after(rng.uniform(3600, 7200)),
        }.get(status)
        or refunded
        or completed
        or paid
        or created
    )
    return Timeline(created, modified, paid, completed, refunded)


def _choose_payment(rng: random.Random, status: str, country: str) -> str:
    """Gateway by status: bank transfers wait on-hold, card payments fail or stay pending."""
    if status == "on-hold":
        return "bacs"
    if status in ("pending", "failed"):
        return rng.choice(("stripe", "paypal"))
    if status == "cancelled":
        return rng.choice(("stripe", "paypal", "bacs"))
    method = rng.choices(("stripe", "paypal", "bacs", "cod"), weights=(55, 20, 15, 10))[0]
    if method == "cod" and (country != BASE_COUNTRY or status == "refunded"):
        return "stripe"
    return method


def _transaction_id(rng: random.Random, method: str, paid: bool) -> str:
    if not paid:
        return ""
    if method == "stripe":
        return "pi_" + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(24))
    if method == "paypal":
        return "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(17))
    return ""


class _Ids:
    """Item and meta ids of one order: WooCommerce numbers them from one global table."""

    def __init__(self, start: int) -> None:
        self._counter: Iterator[int] = itertools.count(start)

    def next(self) -> int:
        return next(self._counter)


def _meta(ids: _Ids, key: str, value: str) -> Json:
    return {"id": ids.next(), "key": key, "value": value}


def _taxes(rate: Decimal, total: Decimal, subtotal: Decimal | None) -> list[Json]:
    """The per-rate ``taxes`` array; empty when no tax rate applied (exempt or export)."""
    if rate == 0:
        return []
    return [
        {
            "id": TAX_RATE_ID,
            "total": tax_string(total),
            "subtotal": "" if subtotal is None else tax_string(subtotal),
        }
    ]


def _line_item(ids: _Ids, line: CartLine, amounts: LineAmounts, rate: Decimal) -> Json:
    product = line.product
    meta = [
        {"id": ids.next(), "key": key, "value": value, "display_key": dkey, "display_value": dval}
        for key, value, dkey, dval in product.attributes
    ]
    return {
        "id": ids.next(),
        "name": product.name,
        "product_id": product.product_id,
        "variation_id": product.variation_id,
        "quantity": line.quantity,
        "tax_class": "",
        "subtotal": money(amounts.subtotal),
        "subtotal_tax": money(amounts.subtotal_tax),
        "total": money(amounts.total),
        "total_tax": money(amounts.total_tax),
        "taxes": _taxes(rate, amounts.total_tax, amounts.subtotal_tax),
        "meta_data": meta,
        "sku": product.sku,
        "price": json_number(amounts.total / line.quantity),
    }


def _shipping_line(ids: _Ids, choice: ShippingChoice, tax: Decimal, rate: Decimal) -> Json:
    return {
        "id": ids.next(),
        "method_title": choice.method_title,
        "method_id": choice.method_id,
        "instance_id": choice.instance_id,
        "total": money(choice.total),
        "total_tax": money(tax),
        "taxes": _taxes(rate, tax, None),
        "meta_data": [],
    }


def _fee_line(ids: _Ids, fee: FeeChoice, tax: Decimal, rate: Decimal) -> Json:
    return {
        "id": ids.next(),
        "name": fee.name,
        "tax_class": "",
        "tax_status": "taxable" if fee.taxable else "none",
        "total": money(fee.total),
        "total_tax": money(tax),
        "taxes": _taxes(rate if fee.taxable else Decimal(0), tax, None),
        "meta_data": [],
    }


def _coupon_line(ids: _Ids, coupon: Coupon, totals: Totals) -> Json:
    return {
        "id": ids.next(),
        "code": coupon.code,
        "discount": money(totals.discount_total),
        "discount_tax": money(totals.discount_tax),
        "discount_type": coupon.discount_type,
        "nominal_amount": json_number(coupon.amount),
        "free_shipping": False,
        "meta_data": [],
    }


def _tax_lines(ids: _Ids, totals: Totals, rate: Decimal) -> list[Json]:
    """One summary line per rate; none at all when the order carries no tax."""
    if rate == 0:
        return []
    return [
        {
            "id": ids.next(),
            "rate_code": TAX_RATE_CODE,
            "rate_id": TAX_RATE_ID,
            "label": TAX_LABEL,
            "compound": False,
            "tax_total": money(totals.cart_tax),
            "shipping_tax_total": money(totals.shipping_tax),
            "rate_percent": json_number(rate),
            "meta_data": [],
        }
    ]


def _address(customer: Customer, *, billing: bool) -> Json:
    address: Json = {
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "company": customer.company,
        "address_1": customer.address_1,
        "address_2": customer.address_2,
        "city": customer.city,
        "state": customer.state,
        "postcode": customer.postcode,
        "country": customer.country,
    }
    if billing:
        address["email"] = customer.email
    address["phone"] = customer.phone
    return address


def _order_meta(
    rng: random.Random, ids: _Ids, customer: Customer, rate: Decimal, created_via: str
) -> list[Json]:
    meta: list[Json] = []
    if customer.vat_number:
        meta.append(_meta(ids, "_billing_vat_number", customer.vat_number))
        if rate == 0 and customer.country in EU_COUNTRIES:
            meta.append(_meta(ids, "is_vat_exempt", "yes"))
    if created_via == "checkout":
        source = rng.choice(("typein", "organic", "utm", "referral"))
        meta.append(_meta(ids, "_wc_order_attribution_source_type", source))
    return meta


def _stripe_meta(ids: _Ids, currency: str, total: Decimal) -> list[Json]:
    """What the Stripe gateway stores on a paid order (useful for payout reconciliation)."""
    fee = round_half_up(total * Decimal("0.015") + convert(Decimal("1.80"), currency))
    return [
        _meta(ids, "_stripe_currency", currency),
        _meta(ids, "_stripe_fee", money(fee)),
        _meta(ids, "_stripe_net", money(total - fee)),
    ]


def _random_token(rng: random.Random, alphabet: str, length: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def _date_pair(moment: datetime | None) -> tuple[str | None, str | None]:
    if moment is None:
        return None, None
    return wc_dates(moment)


def build_order(
    rng: random.Random,
    *,
    order_id: int,
    created_gmt: datetime,
    status: str,
    country: str,
    currency: str,
    cart: Cart | None = None,
    customer: Customer | None = None,
    b2b: bool = False,
    payment_method: str | None = None,
    created_via: str = "checkout",
    end_gmt: datetime | None = None,
    refund_id: int | None = None,
    site_url: str = DEFAULT_SITE_URL,
) -> Json:
    """Build one order document; anything not given (cart, customer, payment) is drawn.

    ``status="refunded"`` builds a paid order and applies a full refund with id ``refund_id``
    (default ``order_id + 1``, as refunds take the next post id). ``end_gmt`` caps the dates of
    later events (payment, completion, refund) so a generated history never lies in the future.
    """
    if status not in ORDER_STATUSES:
        raise ValueError(f"unknown order status {status!r}")
    customer = customer or draw_customer(rng, country, b2b=b2b)
    rate = vat_rate_for(customer.country, customer.vat_number)
    cart = cart or draw_cart(rng, customer.country, currency, rate)
    totals = compute(cart, rate)
    created = _as_utc(created_gmt)
    timeline = _timeline(rng, status, created, _as_utc(end_gmt) if end_gmt else None)
    method = payment_method or _choose_payment(rng, status, customer.country)
    order = _assemble(
        rng,
        order_id=order_id,
        status="completed" if status == "refunded" else status,
        currency=currency,
        cart=cart,
        customer=customer,
        rate=rate,
        totals=totals,
        timeline=timeline,
        method=method,
        created_via=created_via,
        site_url=site_url,
    )
    if status == "refunded":
        assert timeline.refunded is not None
        refund = build_refund(
            order, refund_id=refund_id or order_id + 1, created_gmt=timeline.refunded
        )
        order = apply_refund(order, refund, modified_gmt=timeline.refunded)
    return order


def _assemble(
    rng: random.Random,
    *,
    order_id: int,
    status: str,
    currency: str,
    cart: Cart,
    customer: Customer,
    rate: Decimal,
    totals: Totals,
    timeline: Timeline,
    method: str,
    created_via: str,
    site_url: str,
) -> Json:
    """Lay the computed order out in the REST API's field order (docs sample, order 727)."""
    ids = _Ids(order_id * 100)
    paid = timeline.paid is not None
    meta = _order_meta(rng, ids, customer, rate, created_via)
    if paid and method == "stripe":
        meta += _stripe_meta(ids, currency, totals.total)
    line_items = [
        _line_item(ids, line, amounts, rate)
        for line, amounts in zip(cart.lines, totals.lines, strict=True)
    ]
    tax_lines = _tax_lines(ids, totals, rate)
    shipping_lines = [
        _shipping_line(ids, choice, tax, rate)
        for choice, (_, tax) in zip(cart.shipping, totals.shipping, strict=True)
    ]
    fee_lines = [
        _fee_line(ids, fee, tax, rate) for fee, (_, tax) in zip(cart.fees, totals.fees, strict=True)
    ]
    coupon_lines = [_coupon_line(ids, cart.coupon, totals)] if cart.coupon else []
    order_key = "wc_order_" + _random_token(rng, string.ascii_letters + string.digits, 13)
    created_local, created_gmt = wc_dates(timeline.created)
    modified_local, modified_gmt = wc_dates(timeline.modified)
    paid_local, paid_gmt = _date_pair(timeline.paid)
    completed_local, completed_gmt = _date_pair(timeline.completed)
    from_checkout = created_via == "checkout"
    return {
        "id": order_id,
        "parent_id": 0,
        "number": str(order_id),
        "order_key": order_key,
        "created_via": created_via,
        "version": WC_VERSION,
        "status": status,
        "currency": currency,
        "date_created": created_local,
        "date_created_gmt": created_gmt,
        "date_modified": modified_local,
        "date_modified_gmt": modified_gmt,
        "discount_total": money(totals.discount_total),
        "discount_tax": money(totals.discount_tax),
        "shipping_total": money(totals.shipping_total),
        "shipping_tax": money(totals.shipping_tax),
        "cart_tax": money(totals.cart_tax),
        "total": money(totals.total),
        "total_tax": money(totals.total_tax),
        "prices_include_tax": cart.prices_include_tax,
        "customer_id": customer.customer_id,
        "customer_ip_address": f"192.0.2.{rng.randint(1, 254)}" if from_checkout else "",
        "customer_user_agent": rng.choice(_USER_AGENTS) if from_checkout else "",
        "customer_note": rng.choice(_CUSTOMER_NOTES) if from_checkout else "",
        "billing": _address(customer, billing=True),
        "shipping": _address(customer, billing=False),
        "payment_method": method,
        "payment_method_title": PAYMENT_TITLES.get(method, method),
        "transaction_id": _transaction_id(rng, method, paid),
        "date_paid": paid_local,
        "date_paid_gmt": paid_gmt,
        "date_completed": completed_local,
        "date_completed_gmt": completed_gmt,
        "cart_hash": _random_token(rng, "0123456789abcdef", 32) if from_checkout else "",
        "meta_data": meta,
        "line_items": line_items,
        "tax_lines": tax_lines,
        "shipping_lines": shipping_lines,
        "fee_lines": fee_lines,
        "coupon_lines": coupon_lines,
        "refunds": [],
        "payment_url": (
            f"{site_url}checkout/order-pay/{order_id}/?pay_for_order=true&key={order_key}"
        ),
        "is_editable": status in ("pending", "on-hold"),
        "needs_payment": status in ("pending", "failed") and totals.total > 0,
        "needs_processing": True,
        "currency_symbol": CURRENCY_SYMBOLS.get(currency, currency),
    }


# --------------------------------------------------------------------------- refunds


class RefundError(ValueError):
    """A refund WooCommerce would refuse; carries the REST error code and HTTP status."""

    def __init__(self, message: str, *, code: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def refunded_amount(order: Json) -> Decimal:
    """Sum already refunded (the ``refunds`` summary carries negative totals)."""
    return -sum((Decimal(entry["total"]) for entry in order.get("refunds", [])), ZERO)


def _refund_line(ids: _Ids, line: Json) -> Json:
    """Negate one order line for a full refund (fact sheet §5, sample refund 724)."""

    def neg(field: str) -> str:
        return money(-Decimal(line[field]))

    taxes = [
        {
            "id": tax["id"],
            "total": tax_string(-Decimal(tax["total"] or "0")),
            "subtotal": tax_string(-Decimal(tax["subtotal"] or "0")),
        }
        for tax in line["taxes"]
    ]
    return {
        "id": ids.next(),
        "name": line["name"],
        "product_id": line["product_id"],
        "variation_id": line["variation_id"],
        "quantity": -line["quantity"],
        "tax_class": line["tax_class"],
        "subtotal": neg("subtotal"),
        "subtotal_tax": neg("subtotal_tax"),
        "total": neg("total"),
        "total_tax": neg("total_tax"),
        "taxes": taxes,
        "meta_data": [_meta(ids, "_refunded_item_id", str(line["id"]))],
        "sku": line["sku"],
        "price": json_number(-Decimal(line["total"]) / line["quantity"]),
    }


def build_refund(
    order: Json,
    *,
    refund_id: int,
    created_gmt: datetime,
    amount: Decimal | None = None,
    reason: str = "",
    refunded_by: int = 1,
    refunded_payment: bool = False,
) -> Json:
    """Build a refund document of ``order`` (without ``_links``).

    ``amount=None`` refunds whatever remains. When nothing was refunded before, that full
    refund lists every product line negated with ``_refunded_item_id``; any other refund is an
    amount-only refund (no lines), like refund 726 of the docs sample.
    """
    remaining = Decimal(order["total"]) - refunded_amount(order)
    value = remaining if amount is None else round_half_up(amount)
    if value <= 0 and amount is not None:
        raise RefundError(
            "Refund amount must be greater than zero.",
            code="woocommerce_rest_invalid_order_refund",
            status=400,
        )
    if value > remaining or value <= 0:
        raise RefundError(
            "Invalid refund amount.", code="woocommerce_rest_cannot_create_order_refund", status=500
        )
    ids = _Ids(refund_id * 100)
    whole_order = not order.get("refunds") and value == Decimal(order["total"])
    lines = [_refund_line(ids, line) for line in order["line_items"]] if whole_order else []
    created_local, created_gmt_text = wc_dates(created_gmt)
    return {
        "id": refund_id,
        "date_created": created_local,
        "date_created_gmt": created_gmt_text,
        "amount": money(value),
        "reason": reason,
        "refunded_by": refunded_by,
        "refunded_payment": refunded_payment,
        "meta_data": [],
        "line_items": lines,
    }


def apply_refund(order: Json, refund: Json, *, modified_gmt: datetime) -> Json:
    """Return a copy of ``order`` with ``refund`` recorded (newest first, negative total).

    A refund that leaves nothing to refund moves the order to ``refunded`` (WooCommerce's
    ``wc_order_fully_refunded``).
    """
    updated = copy.deepcopy(order)
    summary = {"id": refund["id"], "reason": refund["reason"], "total": "-" + refund["amount"]}
    updated["refunds"] = [summary, *updated.get("refunds", [])]
    updated["date_modified"], updated["date_modified_gmt"] = wc_dates(modified_gmt)
    if refunded_amount(updated) >= Decimal(updated["total"]):
        updated["status"] = "refunded"
        updated["is_editable"] = False
        updated["needs_payment"] = False
    return updated


def rebuild_refunds(order: Json) -> list[Json]:
    """Recreate the refund documents behind a generated order's ``refunds`` summary.

    Generated orders carry only the summary (the order document); the sandbox needs the full
    refund records for ``/refunds``. Rebuilding is deterministic: refunds are replayed oldest
    first against the order without refunds, dated at the order's ``date_modified_gmt``.
    """
    replay = copy.deepcopy(order)
    replay["refunds"] = []
    when = parse_wc_date(order["date_modified_gmt"])
    records: list[Json] = []
    for entry in reversed(order.get("refunds", [])):
        amount = -Decimal(entry["total"])
        remaining = Decimal(replay["total"]) - refunded_amount(replay)
        refund = build_refund(
            replay,
            refund_id=entry["id"],
            created_gmt=when,
            amount=None if amount == remaining else amount,
            reason=entry.get("reason", ""),
        )
        replay = apply_refund(replay, refund, modified_gmt=when)
        records.append(refund)
    return records


# --------------------------------------------------------------------------- generate


def _random_moments(rng: random.Random, n: int, start: datetime, end: datetime) -> list[datetime]:
    """``n`` sorted instants in ``[start, end)`` at whole seconds (ids grow with dates)."""
    span = max(int((end - start).total_seconds()), 1)
    return sorted(start + timedelta(seconds=rng.randrange(span)) for _ in range(n))


def generate(
    rng: random.Random,
    n: int,
    start: datetime,
    end: datetime,
    statuses: Mapping[str, float] | None = None,
    *,
    first_id: int = FIRST_ORDER_ID,
    site_url: str = DEFAULT_SITE_URL,
) -> list[Json]:
    """Generate ``n`` orders created between ``start`` and ``end`` (UTC), oldest first.

    Ids are consecutive from ``first_id``, except that each refunded order's refund takes the
    id right after it (orders and refunds share one sequence in WordPress).
    """
    mix = statuses or DEFAULT_STATUS_MIX
    unknown = set(mix) - ORDER_STATUSES
    if unknown:
        raise ValueError(f"unknown order statuses: {sorted(unknown)}")
    start_utc, end_utc = _as_utc(start), _as_utc(end)
    if end_utc < start_utc:
        raise ValueError("end is before start")
    orders: list[Json] = []
    next_id = first_id
    for created in _random_moments(rng, n, start_utc, end_utc):
        status = rng.choices(list(mix), weights=list(mix.values()))[0]
        country, b2b, company_only = draw_market(rng)
        customer = draw_customer(rng, country, b2b=b2b, company_only=company_only)
        order = build_order(
            rng,
            order_id=next_id,
            created_gmt=created,
            status=status,
            country=country,
            currency=draw_currency(rng, country),
            customer=customer,
            created_via=rng.choices(("checkout", "admin", "rest-api"), weights=(93, 5, 2))[0],
            end_gmt=end_utc,
            refund_id=next_id + 1,
            site_url=site_url,
        )
        next_id += 2 if status == "refunded" else 1
        orders.append(order)
    return orders
