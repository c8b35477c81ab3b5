"""The plan of the target document: what will be created, with a reason for every decision.

The plan is computed before anything is written to the target, so everything that would make
the document wrong (VAT that does not match, totals that differ beyond the tolerance) is found
here and the transfer is held with a plain fix, instead of a half-written invoice.

The plan mirrors the ledger's arithmetic: a line's net is ``quantity × unit price`` and its VAT
is rounded half-up per line (e-conomic shows ``vatAmount`` on each booked line). If the shop
rounded differently, the difference is evened out with a VAT-free rounding line when it is
within the tolerance, and held when it is not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from kobling.accounting.lines import exact_unit_prices
from kobling.accounting.vat import VatDecision, VatZone, decide
from kobling.domain.money import round_half_up
from kobling.domain.order import Order
from kobling.errors import PermanentError

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class PlanPolicy:
    """The settings that shape a plan (taken from the connection's settings)."""

    seller_country: str = "DK"
    domestic_vat_rate: Decimal = Decimal("25")
    rounding_tolerance: Decimal = Decimal("0.05")
    shipping_product: str = "SHIPPING"
    fee_product: str = "FEE"
    rounding_product: str = "ROUNDING"
    customer_match_field: str = "email"


@dataclass(frozen=True)
class Decision:
    """One choice the plan made, in words a shop owner can read."""

    subject: str
    choice: str
    reason: str


@dataclass(frozen=True)
class PlannedLine:
    kind: str  # product | shipping | fee | rounding
    product_number: str
    description: str
    quantity: Decimal
    unit_net_price: Decimal
    vat_rate: Decimal
    source_line_id: str = ""

    @property
    def net(self) -> Decimal:
        return round_half_up(self.quantity * self.unit_net_price)

    @property
    def vat(self) -> Decimal:
        return round_half_up(self.net * self.vat_rate / HUNDRED)


@dataclass(frozen=True)
class PlannedCustomer:
    """Who the document is for, and how to find them in the target."""

    match_field: str
    match_value: str
    name: str
    email: str
    street: str
    postcode: str
    city: str
    country: str
    vat_number: str
    phone: str
    currency: str
    vat_zone: VatZone
    is_business: bool


@dataclass(frozen=True)
class DocumentPlan:
    reference: str
    document_date: date
    currency: str
    customer: PlannedCustomer
    lines: tuple[PlannedLine, ...]
    source_gross: Decimal
    decisions: tuple[Decision, ...] = field(default=())

    @property
    def net(self) -> Decimal:
        return sum((line.net for line in self.lines), Decimal("0"))

    @property
    def vat(self) -> Decimal:
        return sum((line.vat for line in self.lines), Decimal("0"))

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat

    def product_numbers(self) -> list[str]:
        seen: dict[str, None] = {}
        for line in self.lines:
            seen.setdefault(line.product_number, None)
        return list(seen)


def plan_invoice(order: Order, policy: PlanPolicy) -> DocumentPlan:
    """Plan the invoice for ``order`` or raise ``PermanentError`` with the reason and fix."""
    vat = decide(order.customer, policy.seller_country, policy.domestic_vat_rate)
    decisions = [Decision("VAT", f"{vat.rate}% ({vat.zone.value} zone)", vat.reason)]
    customer = _plan_customer(order, policy, vat, decisions)
    lines = _product_lines(order, vat) + _shipping_lines(order, policy, vat)
    lines += _fee_lines(order, policy, vat)
    lines = _with_rounding(order, policy, lines, decisions)
    return DocumentPlan(
        reference=order.number,
        document_date=order.created_at.date(),
        currency=order.currency,
        customer=customer,
        lines=tuple(lines),
        source_gross=order.totals.gross.amount,
        decisions=tuple(decisions),
    )


def _match_value(order: Order, match_field: str) -> str:
    customer = order.customer
    values = {
        "email": customer.email,
        "vat_number": customer.vat_number,
        "corporate_identification_number": customer.vat_number,
        "ean": customer.ean,
        "phone": customer.phone,
        "customer_number": customer.source_id or "",
    }
    if match_field not in values:
        raise PermanentError(
            f"the customer match field {match_field!r} is unknown",
            f"choose one of: {', '.join(sorted(values))}",
            code="settings",
        )
    return values[match_field]


def _plan_customer(
    order: Order, policy: PlanPolicy, vat: VatDecision, decisions: list[Decision]
) -> PlannedCustomer:
    customer = order.customer
    value = _match_value(order, policy.customer_match_field)
    if not value:
        raise PermanentError(
            f"order {order.number} has no customer {policy.customer_match_field.replace('_', ' ')}"
            ", which this connection matches customers on",
            f"add the {policy.customer_match_field.replace('_', ' ')} to the order in the shop, "
            "or match customers on another field in the connection settings",
            code="customer",
        )
    decisions.append(Decision("customer", f"match on {policy.customer_match_field}", f"{value!r}"))
    billing = customer.billing
    return PlannedCustomer(
        match_field=policy.customer_match_field,
        match_value=value,
        name=customer.name or value,
        email=customer.email,
        street=billing.street,
        postcode=billing.postcode,
        city=billing.city,
        country=billing.country,
        vat_number=customer.vat_number,
        phone=customer.phone,
        currency=order.currency,
        vat_zone=vat.zone,
        is_business=customer.is_business,
    )


def _check_line_vat(label: str, net: Decimal, tax: Decimal, vat: VatDecision) -> None:
    """Hold the order when the shop charged other VAT than the rules give; never correct it."""
    expected = round_half_up(net * vat.rate / HUNDRED)
    if abs(tax - expected) <= Decimal("0.01"):
        return
    charged = (tax / net * HUNDRED).quantize(Decimal("0.1")) if net else Decimal("0")
    raise PermanentError(
        f"{label}: the shop charged {tax} VAT on {net} (about {charged}%), "
        f"but this is a {vat.kind.value.replace('_', ' ')} sale at {vat.rate}% ({vat.reason})",
        "correct the tax on the order in the shop, or the shop's tax settings, "
        "and the order is transferred on its next update",
        code="vat_mismatch",
    )


def _product_lines(order: Order, vat: VatDecision) -> list[PlannedLine]:
    planned: list[PlannedLine] = []
    for line in order.lines:
        if not line.sku:
            raise PermanentError(
                f"the product {line.name!r} has no SKU in the shop",
                "give the product a SKU in the shop; Kobling books products by SKU",
                code="missing_sku",
            )
        _check_line_vat(f"line {line.name!r}", line.net_total.amount, line.tax.amount, vat)
        for quantity, unit in exact_unit_prices(line.net_total.amount, line.quantity):
            planned.append(
                PlannedLine(
                    "product", line.sku, line.name, quantity, unit, vat.rate, line.source_line_id
                )
            )
    return planned


def _shipping_lines(order: Order, policy: PlanPolicy, vat: VatDecision) -> list[PlannedLine]:
    planned: list[PlannedLine] = []
    for ship in order.shipping_lines:
        if ship.net.is_zero() and ship.tax.is_zero():
            continue
        _check_line_vat(f"shipping {ship.method!r}", ship.net.amount, ship.tax.amount, vat)
        planned.append(
            PlannedLine(
                "shipping",
                policy.shipping_product,
                ship.method or "Shipping",
                Decimal(1),
                ship.net.amount,
                vat.rate,
                ship.source_line_id,
            )
        )
    return planned


def _fee_lines(order: Order, policy: PlanPolicy, vat: VatDecision) -> list[PlannedLine]:
    planned: list[PlannedLine] = []
    for fee in order.fees:
        rate = vat.rate if fee.taxable else Decimal("0")
        if fee.taxable:
            _check_line_vat(f"fee {fee.name!r}", fee.net.amount, fee.tax.amount, vat)
        planned.append(
            PlannedLine(
                "fee",
                policy.fee_product,
                fee.name or "Fee",
                Decimal(1),
                fee.net.amount,
                rate,
                fee.source_line_id,
            )
        )
    return planned


def _with_rounding(
    order: Order, policy: PlanPolicy, lines: list[PlannedLine], decisions: list[Decision]
) -> list[PlannedLine]:
    planned_gross = sum((line.net + line.vat for line in lines), Decimal("0"))
    difference = order.totals.gross.amount - planned_gross
    if difference == 0:
        decisions.append(Decision("totals", "equal", f"{planned_gross} {order.currency}"))
        return lines
    if abs(difference) > policy.rounding_tolerance:
        raise PermanentError(
            f"the document would total {planned_gross} {order.currency} but the shop charged "
            f"{order.totals.gross.amount} (a difference of {difference}, more than the "
            f"tolerance of {policy.rounding_tolerance})",
            "check the order's lines, discounts and taxes in the shop; if the shop is right, "
            "raise the rounding tolerance in the connection settings",
            code="totals_mismatch",
        )
    decisions.append(
        Decision(
            "totals",
            f"rounding line {difference}",
            f"the shop rounded VAT differently; {difference} {order.currency} is within the "
            f"tolerance of {policy.rounding_tolerance}",
        )
    )
    rounding = PlannedLine(
        "rounding", policy.rounding_product, "Rounding", Decimal(1), difference, Decimal("0")
    )
    return [*lines, rounding]
