"""The canonical order: what every source normalizes to and every target is planned from.

Amounts follow one convention whatever the source does: every line carries its net amount
(excluding VAT, after discounts) and its VAT separately, plus the source's own rate when it says
one. ``prices_include_tax`` records how the shop showed prices, which matters for rounding, not
for the meaning of the fields. The source's own totals are kept verbatim so the plan can compare
its recomputation with what the customer was actually charged.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from kobling.domain.address import Address
from kobling.domain.customer import Customer
from kobling.domain.money import Money
from kobling.domain.serialize import to_jsonable


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One product line. ``net_total`` is after discount and excludes VAT."""

    source_line_id: str
    name: str
    quantity: Decimal
    unit_price: Money
    net_total: Money
    tax: Money
    sku: str | None = None
    discount: Money | None = None
    tax_rate: Decimal | None = None
    tax_class: str = "standard"
    product_source_id: str | None = None


@dataclass(frozen=True, slots=True)
class ShippingLine:
    source_line_id: str
    method: str
    net: Money
    tax: Money


@dataclass(frozen=True, slots=True)
class Fee:
    """A fee line; the net may be negative (a fee used as a discount)."""

    source_line_id: str
    name: str
    net: Money
    tax: Money
    taxable: bool = True


@dataclass(frozen=True, slots=True)
class Coupon:
    code: str
    discount: Money
    discount_tax: Money


@dataclass(frozen=True, slots=True)
class Payment:
    method: str
    amount: Money
    method_title: str = ""
    transaction_id: str = ""
    paid_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RefundLine:
    """A refunded order line; amounts and quantity are positive (what goes back)."""

    order_line_id: str
    quantity: Decimal
    net: Money
    tax: Money


@dataclass(frozen=True, slots=True)
class Refund:
    """A refund as the source recorded it; ``amount`` is positive (gross, what was paid back).

    ``lines`` are the refunded order lines when the shop said which; a refund without lines
    (or with an amount beyond its lines) refunds "an amount" (shipping, goodwill, …).
    """

    source_id: str
    amount: Money
    reason: str = ""
    created_at: datetime | None = None
    lines: tuple[RefundLine, ...] = ()


@dataclass(frozen=True, slots=True)
class SourceTotals:
    """The totals exactly as the source reported them (gross = what the customer paid)."""

    gross: Money
    tax: Money
    shipping: Money
    discount: Money


@dataclass(frozen=True, slots=True)
class Order:
    """A sales order from any source, normalized."""

    source_id: str
    number: str
    status: str
    currency: str
    created_at: datetime
    modified_at: datetime
    customer: Customer
    totals: SourceTotals
    prices_include_tax: bool = False
    paid_at: datetime | None = None
    shipping_address: Address | None = None
    lines: tuple[OrderLine, ...] = ()
    shipping_lines: tuple[ShippingLine, ...] = ()
    fees: tuple[Fee, ...] = ()
    coupons: tuple[Coupon, ...] = ()
    payments: tuple[Payment, ...] = ()
    refunds: tuple[Refund, ...] = ()
    note: str = ""
    payment_method: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def document_hash(self) -> str:
        """A hash of what the invoice is made of: customer, lines, shipping, fees, totals.

        Status, payments, refunds and dates are left out: an order moving from processing to
        completed, or being refunded, has not been *edited*; its invoice stays right.
        """
        data = to_jsonable(self)
        assert isinstance(data, dict)
        kept = (
            "currency",
            "customer",
            "lines",
            "shipping_lines",
            "fees",
            "coupons",
            "totals",
            "prices_include_tax",
            "shipping_address",
        )
        raw = json.dumps({k: data[k] for k in kept}, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(raw.encode()).hexdigest()

    def content_hash(self) -> str:
        """A hash of everything that would change the document, for change detection.

        ``modified_at`` is left out on purpose: WooCommerce bumps it when an order is merely
        viewed, and such a bump must not look like a change.
        """
        data = to_jsonable(self)
        assert isinstance(data, dict)
        data.pop("modified_at", None)
        raw = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(raw).hexdigest()
