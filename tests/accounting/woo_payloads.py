"""WooCommerce REST v3 order payloads for scenario tests, as ``GET /orders/{id}`` returns them.

The layout follows the fact sheet (shared/reference/apis/woocommerce.md §4) and the docs'
sample order 727: amounts are strings with two decimals, a line's ``total`` is net after
discount with ``total_tax`` beside it (also when ``prices_include_tax`` is true), ``subtotal``
is before discount, ``price`` is a JSON number, the VAT number is plugin ``meta_data``
(``_billing_vat_number``) and the ``*_gmt`` dates carry no zone.

The builder never computes the order's ``total`` or ``total_tax``: every scenario writes them
by hand, so an expected amount is never derived by the code it checks. It only fills in what
WooCommerce reports beside them and Kobling does not read for the plan (``shipping_total``,
``discount_total``, ``cart_tax``, a line's ``subtotal_tax`` and ``taxes``, ``tax_lines``).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

# (sku, name, quantity, subtotal, total, total_tax, tax_class[, subtotal_tax])
LineSpec = tuple[Any, ...]
# (method_title, total, total_tax)
ShippingSpec = tuple[str, str, str]
# (name, total, total_tax, tax_status)  tax_status: "taxable" | "none"
FeeSpec = tuple[str, str, str, str]
# (code, discount, discount_tax)
CouponSpec = tuple[str, str, str]

SITE_TZ = ZoneInfo("Europe/Copenhagen")
SITE_URL = "https://shop.example.dk/"
TAX_RATE_ID = 1

# A plausible address per country (street, postcode, city, state, phone).
ADDRESSES: dict[str, tuple[str, str, str, str, str]] = {
    "DK": ("Søndergade 12", "8000", "Aarhus C", "", "+45 86 12 34 56"),
    "DE": ("Friedrichstraße 43", "10117", "Berlin", "BE", "+49 30 1234567"),
    "FR": ("12 rue de Rivoli", "75004", "Paris", "", "+33 1 42 12 34 56"),
    "SE": ("Drottninggatan 7", "111 51", "Stockholm", "", "+46 8 123 456 78"),
    "FI": ("Mannerheimintie 5", "00100", "Helsinki", "", "+358 9 123 4567"),
    "AT": ("Kärntner Straße 21", "1010", "Wien", "", "+43 1 234 5678"),
    "GR": ("Ermou 24", "105 63", "Athina", "I", "+30 21 0123 4567"),
    "IT": ("Via del Corso 101", "00186", "Roma", "RM", "+39 06 1234 5678"),
    "NL": ("Damrak 70", "1012 LM", "Amsterdam", "", "+31 20 123 4567"),
    "ES": ("Calle de Alcalá 45", "28014", "Madrid", "M", "+34 91 123 45 67"),
    "NO": ("Karl Johans gate 15", "0159", "Oslo", "", "+47 22 12 34 56"),
    "US": ("969 Market", "94103", "San Francisco", "CA", "(555) 555-5555"),
    "GB": ("221B Baker Street", "NW1 6XE", "London", "", "+44 20 7946 0000"),
    "FO": ("Niels Finsens gøta 11", "100", "Tórshavn", "", "+298 31 12 34"),
}
EMPTY_ADDRESS = ("", "", "", "", "")


def _d(value: str) -> Decimal:
    return Decimal(value)


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):.2f}"


def _sum(values: Sequence[str]) -> str:
    return _money(sum((_d(v) for v in values), Decimal(0)))


def _price(total: str, quantity: int) -> int | float:
    """``price`` as the REST API sends it: a JSON number (``total / quantity``)."""
    value = _d(total) / quantity if quantity else _d(total)
    return int(value) if value == value.to_integral_value() else float(value)


def _dates(gmt: str | None) -> tuple[str | None, str | None]:
    """(site-local, GMT) for a GMT string; WooCommerce reports both, neither with a zone."""
    if gmt is None:
        return None, None
    utc = datetime.fromisoformat(gmt).replace(tzinfo=ZoneInfo("UTC"))
    return utc.astimezone(SITE_TZ).strftime("%Y-%m-%dT%H:%M:%S"), gmt


def _taxes(total_tax: str, subtotal_tax: str | None) -> list[dict[str, Any]]:
    if _d(total_tax) == 0 and (subtotal_tax is None or _d(subtotal_tax) == 0):
        return []
    return [
        {
            "id": TAX_RATE_ID,
            "total": total_tax,
            "subtotal": "" if subtotal_tax is None else subtotal_tax,
        }
    ]


def _address(country: str, *, first: str, last: str, company: str) -> dict[str, str]:
    street, postcode, city, state, phone = ADDRESSES.get(country, EMPTY_ADDRESS)
    if not country:
        street, postcode, city, state, phone = ("Nowhere Lane 1", "", "Somewhere", "", "")
    return {
        "first_name": first,
        "last_name": last,
        "company": company,
        "address_1": street,
        "address_2": "",
        "city": city,
        "state": state,
        "postcode": postcode,
        "country": country,
        "phone": phone,
    }


def _line_item(order_id: int, index: int, spec: LineSpec) -> dict[str, Any]:
    sku, name, quantity, subtotal, total, total_tax, tax_class = spec[:7]
    if len(spec) > 7:
        subtotal_tax = spec[7]
    elif _d(subtotal) == _d(total) or _d(total) == 0:
        subtotal_tax = total_tax
    else:  # the tax before the discount, in proportion (not read by Kobling's plan)
        subtotal_tax = _money(_d(total_tax) * _d(subtotal) / _d(total))
    return {
        "id": order_id * 100 + 10 + index,
        "name": name,
        "product_id": 500 + index,
        "variation_id": 0,
        "quantity": quantity,
        "tax_class": tax_class,
        "subtotal": subtotal,
        "subtotal_tax": subtotal_tax,
        "total": total,
        "total_tax": total_tax,
        "taxes": _taxes(total_tax, subtotal_tax),
        "meta_data": [],
        "sku": sku or "",
        "price": _price(total, quantity),
    }


def _method_id(title: str, total: str) -> str:
    if _d(total) == 0 and "free" in title.lower():
        return "free_shipping"
    if "pickup" in title.lower():
        return "local_pickup"
    return "flat_rate"


def woo_order(
    number: int,
    *,
    lines: Sequence[LineSpec] = (),
    shipping: Sequence[ShippingSpec] = (),
    fees: Sequence[FeeSpec] = (),
    coupons: Sequence[CouponSpec] = (),
    total: str,
    total_tax: str,
    country: str,
    shipping_country: str | None = None,
    vat_number: str = "",
    currency: str = "DKK",
    status: str = "processing",
    created: str = "2026-11-02T10:00:00",
    paid: str | None = None,
    prices_include_tax: bool = False,
    email: str | None = None,
) -> dict[str, Any]:
    """A realistic REST v3 order; ``total`` and ``total_tax`` are taken as written.

    ``shipping_country=None`` ships to the billing address; ``""`` gives the empty shipping
    address WooCommerce reports for virtual orders.
    """
    first, last = "Ada", f"Kunde{number}"
    company = f"Firma {number}" if vat_number else ""
    billing = _address(country, first=first, last=last, company=company)
    billing["email"] = email if email is not None else f"kunde{number}@example.dk"
    if shipping_country is None:
        ship_to = {k: v for k, v in billing.items() if k != "email"}
    elif shipping_country == "":
        ship_to = {k: "" for k in billing if k != "email"}
    else:
        ship_to = _address(shipping_country, first=first, last=last, company=company)
    created_local, created_gmt = _dates(created)
    paid_local, paid_gmt = _dates(paid)
    completed_local, completed_gmt = _dates((paid or created) if status == "completed" else None)

    line_items = [_line_item(number, i, spec) for i, spec in enumerate(lines)]
    shipping_lines: list[dict[str, Any]] = [
        {
            "id": number * 100 + 40 + i,
            "method_title": title,
            "method_id": _method_id(title, amount),
            "instance_id": str(i + 1),
            "total": amount,
            "total_tax": tax,
            "taxes": _taxes(tax, None),
            "meta_data": [],
        }
        for i, (title, amount, tax) in enumerate(shipping)
    ]
    fee_lines: list[dict[str, Any]] = [
        {
            "id": number * 100 + 60 + i,
            "name": name,
            "tax_class": "",
            "tax_status": status_,
            "total": amount,
            "total_tax": tax,
            "taxes": _taxes(tax, None),
            "meta_data": [],
        }
        for i, (name, amount, tax, status_) in enumerate(fees)
    ]
    coupon_lines: list[dict[str, Any]] = [
        {
            "id": number * 100 + 80 + i,
            "code": code,
            "discount": discount,
            "discount_tax": discount_tax,
            "meta_data": [],
        }
        for i, (code, discount, discount_tax) in enumerate(coupons)
    ]
    shipping_tax = _sum([s["total_tax"] for s in shipping_lines])
    cart_tax = _sum([x["total_tax"] for x in line_items] + [f["total_tax"] for f in fee_lines])
    tax_lines: list[dict[str, Any]] = []
    if _d(cart_tax) != 0 or _d(shipping_tax) != 0:
        tax_lines.append(
            {
                "id": number * 100 + 90,
                "rate_code": f"{shipping_country or country or 'XX'}-VAT-1",
                "rate_id": TAX_RATE_ID,
                "label": "VAT",
                "compound": False,
                "tax_total": cart_tax,
                "shipping_tax_total": shipping_tax,
                "meta_data": [],
            }
        )
    meta: list[dict[str, Any]] = []
    if vat_number:
        meta.append({"id": number * 100 + 1, "key": "_billing_vat_number", "value": vat_number})
    meta.append(
        {"id": number * 100 + 2, "key": "_wc_order_attribution_source_type", "value": "typein"}
    )
    return {
        "id": number,
        "parent_id": 0,
        "number": str(number),
        "order_key": f"wc_order_k{number:011d}",
        "created_via": "checkout",
        "version": "9.3.3",
        "status": status,
        "currency": currency,
        "date_created": created_local,
        "date_created_gmt": created_gmt,
        "date_modified": created_local,
        "date_modified_gmt": created_gmt,
        "discount_total": _sum([c["discount"] for c in coupon_lines]),
        "discount_tax": _sum([c["discount_tax"] for c in coupon_lines]),
        "shipping_total": _sum([s["total"] for s in shipping_lines]),
        "shipping_tax": shipping_tax,
        "cart_tax": cart_tax,
        "total": total,
        "total_tax": total_tax,
        "prices_include_tax": prices_include_tax,
        "customer_id": 0,
        "customer_ip_address": "192.0.2.10",
        "customer_user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101",
        "customer_note": "",
        "billing": billing,
        "shipping": ship_to,
        "payment_method": "stripe" if paid else "bacs",
        "payment_method_title": "Credit card (Stripe)" if paid else "Direct bank transfer",
        "transaction_id": f"pi_{number:024d}" if paid else "",
        "date_paid": paid_local,
        "date_paid_gmt": paid_gmt,
        "date_completed": completed_local,
        "date_completed_gmt": completed_gmt,
        "cart_hash": f"{number:032x}",
        "meta_data": meta,
        "line_items": line_items,
        "tax_lines": tax_lines,
        "shipping_lines": shipping_lines,
        "fee_lines": fee_lines,
        "coupon_lines": coupon_lines,
        "refunds": [],
        "currency_symbol": {"DKK": "kr.", "EUR": "€", "SEK": "kr", "NOK": "kr"}.get(
            currency, currency
        ),
        "_links": {
            "self": [{"href": f"{SITE_URL}wp-json/wc/v3/orders/{number}"}],
            "collection": [{"href": f"{SITE_URL}wp-json/wc/v3/orders"}],
        },
    }


def redated(payload: dict[str, Any], created: str, modified: str | None = None) -> dict[str, Any]:
    """A copy of ``payload`` created at ``created`` (GMT), paid then too if it was paid."""
    document = copy.deepcopy(payload)
    document["date_created"], document["date_created_gmt"] = _dates(created)
    document["date_modified"], document["date_modified_gmt"] = _dates(modified or created)
    if document.get("date_paid_gmt"):
        document["date_paid"], document["date_paid_gmt"] = _dates(created)
    if document.get("date_completed_gmt"):
        document["date_completed"], document["date_completed_gmt"] = _dates(created)
    return document
