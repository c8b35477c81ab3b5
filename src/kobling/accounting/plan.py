"""The plan of the target document: what will be created, with a reason for every decision.

The plan is computed before anything is written to the target, so everything that would make
the document wrong (VAT that does not match the rules, totals that differ beyond the tolerance,
a line without SKU) is found here and the transfer is held with a plain fix, instead of a
half-written invoice.

The plan mirrors the ledger's arithmetic: a line's net is ``quantity × unit price`` (two
decimals) and its VAT is rounded half-up per line (e-conomic shows ``vatAmount`` on each booked
line). If the shop rounded differently, the difference is evened out with a VAT-free rounding
line when it is within the tolerance, and the transfer is held when it is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from kobling.accounting.lines import exact_unit_prices
from kobling.accounting.vat import (
    Sale,
    VatDecision,
    VatPolicy,
    VatZone,
    category_of,
    classify,
    decide,
    local_date,
)
from kobling.domain.money import round_half_up
from kobling.domain.order import Order
from kobling.errors import PermanentError

HUNDRED = Decimal(100)
ZERO = Decimal(0)
CENT_TOLERANCE = Decimal("0.01")


@dataclass(frozen=True)
class PlanPolicy:
    """The settings that shape a plan (taken from the connection's settings)."""

    seller_country: str = "DK"
    oss: bool = False
    tax_point: str = "order_date"
    tax_classes: Mapping[str, str] = field(default_factory=dict)
    timezone: str = "Europe/Copenhagen"
    rounding_tolerance: Decimal = Decimal("0.05")
    shipping_product: str = "SHIPPING"
    untaxed_shipping_product: str = "SHIPPING0"
    fee_product: str = "FEE"
    untaxed_fee_product: str = "FEE0"
    rounding_product: str = "ROUNDING"
    fallback_product: str = ""
    gift_card_product: str = ""
    gift_card_skus: tuple[str, ...] = ()
    customer_match_field: str = "email"
    refund_product: str = "REFUND"

    @property
    def vat(self) -> VatPolicy:
        return VatPolicy(
            self.seller_country, self.oss, self.tax_point, self.tax_classes, self.timezone
        )


@dataclass(frozen=True)
class Decision:
    """One choice the plan made, in words a shop owner can read."""

    subject: str
    choice: str
    reason: str


@dataclass(frozen=True)
class PlannedLine:
    kind: str  # product | shipping | fee | gift_card | rounding
    product_number: str
    description: str
    quantity: Decimal
    unit_net_price: Decimal
    vat_rate: Decimal
    source_line_id: str = ""
    vat_code: str = ""
    reason: str = ""
    discount: Decimal = ZERO
    sku: str = ""

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
    ean: str = ""

    @property
    def kind(self) -> str:
        """b2c, b2b or ean (a public customer invoiced electronically through its EAN/GLN)."""
        if self.ean:
            return "ean"
        return "b2b" if self.is_business else "b2c"


@dataclass(frozen=True)
class DocumentPlan:
    reference: str
    document_date: date
    currency: str
    customer: PlannedCustomer
    lines: tuple[PlannedLine, ...]
    source_gross: Decimal
    decisions: tuple[Decision, ...] = ()
    rounding: Decimal = ZERO
    kind: str = "invoice"  # or "credit_note"
    credits: str = ""  # the invoice a credit note credits
    payment_method: str = ""

    @property
    def net(self) -> Decimal:
        return sum((line.net for line in self.lines), ZERO)

    @property
    def vat(self) -> Decimal:
        return sum((line.vat for line in self.lines), ZERO)

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
    sale = classify(order, policy.vat)
    decisions = [Decision("sale", sale.kind.value, sale.reason)]
    customer = _plan_customer(order, policy, sale, decisions)
    lines = _product_lines(order, policy, sale)
    lines += _shipping_lines(order, policy, sale, lines)
    lines += _fee_lines(order, policy, sale, lines)
    lines, rounding = _with_rounding(order, policy, lines, decisions)
    return DocumentPlan(
        reference=order.number,
        document_date=local_date(order.created_at, policy.timezone),
        currency=order.currency,
        customer=customer,
        lines=tuple(lines),
        source_gross=order.totals.gross.amount,
        decisions=tuple(decisions),
        rounding=rounding,
        payment_method=order.payment_method,
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
    order: Order, policy: PlanPolicy, sale: Sale, decisions: list[Decision]
) -> PlannedCustomer:
    customer = order.customer
    field_name = policy.customer_match_field
    value = _match_value(order, field_name)
    if not value:
        words = field_name.replace("_", " ")
        raise PermanentError(
            f"order {order.number} has no customer {words}, which this connection matches "
            "customers on",
            f"add the {words} to the order in the shop, or match customers on another field "
            "in the connection settings",
            code="customer",
        )
    decisions.append(Decision("customer", f"match on {field_name}", f"{value!r}"))
    billing = customer.billing
    return PlannedCustomer(
        match_field=field_name,
        match_value=value,
        name=customer.name or value,
        email=customer.email,
        street=billing.street,
        postcode=billing.postcode,
        city=billing.city,
        country=billing.country or sale.destination,
        vat_number=customer.vat_number,
        phone=customer.phone,
        currency=order.currency,
        vat_zone=sale.zone,
        is_business=customer.is_business or bool(billing.company),
        ean=customer.ean,
    )


def check_vat(label: str, net: Decimal, tax: Decimal, decision: VatDecision) -> None:
    """Hold the order when the shop charged other VAT than the rules give; never correct it."""
    expected = round_half_up(net * decision.rate / HUNDRED)
    if abs(tax - expected) <= CENT_TOLERANCE:
        return
    charged = round_half_up(tax / net * HUNDRED, Decimal("0.1")) if net else ZERO
    raise PermanentError(
        f"{label}: the shop charged {tax} VAT on {net} (about {charged.normalize():f}%), but the "
        f"rules give {decision.rate.normalize():f}% ({decision.reason})",
        "correct the VAT on the order or the shop's tax settings (or the One-Stop-Shop and "
        "seller-country settings of this connection, if those are wrong); the order is "
        "transferred on its next update",
        code="vat_mismatch",
    )


def _product_number(policy: PlanPolicy, name: str, sku: str | None) -> tuple[str, str]:
    if sku:
        return sku, ""
    if policy.fallback_product:
        return policy.fallback_product, f"no SKU in the shop: booked on {policy.fallback_product}"
    raise PermanentError(
        f"the product {name!r} has no SKU in the shop",
        "give the product a SKU in the shop (Kobling books products by SKU), or configure a "
        "fallback product in the connection settings",
        code="missing_sku",
    )


def _product_lines(order: Order, policy: PlanPolicy, sale: Sale) -> list[PlannedLine]:
    planned: list[PlannedLine] = []
    for line in order.lines:
        if line.sku and line.sku in policy.gift_card_skus and policy.gift_card_product:
            planned += _gift_card_lines(
                line.name,
                line.sku,
                line.net_total.amount,
                line.tax.amount,
                policy,
                line.source_line_id,
            )
            continue
        number, note = _product_number(policy, line.name, line.sku)
        decision = decide(sale, category_of(line.tax_class, policy.vat))
        check_vat(f"line {line.name!r}", line.net_total.amount, line.tax.amount, decision)
        reason = decision.reason + (f"; {note}" if note else "")
        discount = line.discount.amount if line.discount else ZERO
        for i, (quantity, unit) in enumerate(
            exact_unit_prices(line.net_total.amount, line.quantity)
        ):
            planned.append(
                PlannedLine(
                    "product",
                    number,
                    line.name,
                    quantity,
                    unit,
                    decision.rate,
                    line.source_line_id,
                    decision.code,
                    reason,
                    discount if i == 0 else ZERO,
                    line.sku or "",
                )
            )
    return planned


def _gift_card_lines(
    name: str, sku: str, net: Decimal, tax: Decimal, policy: PlanPolicy, line_id: str
) -> list[PlannedLine]:
    if tax != 0:
        raise PermanentError(
            f"the gift card {name!r} carries {tax} VAT in the shop; a multi-purpose gift card "
            "is not a sale and carries no VAT until it is redeemed",
            "set the gift card product's tax status to 'none' in the shop",
            code="gift_card_vat",
        )
    return [
        PlannedLine(
            "gift_card",
            policy.gift_card_product,
            name,
            Decimal(1),
            net,
            ZERO,
            line_id,
            "outside_scope",
            "gift card: not revenue, booked on the gift card product",
            ZERO,
            sku,
        )
    ]


def ancillary_decision(sale: Sale, lines: list[PlannedLine], policy: PlanPolicy) -> VatDecision:
    """Shipping and fees follow the goods: the highest rate among the order's product lines."""
    product_lines = [line for line in lines if line.kind == "product"]
    if not product_lines:
        return decide(sale, "standard")
    top = max(product_lines, key=lambda line: line.vat_rate)
    return VatDecision(top.vat_rate, "ancillary", top.vat_code, f"follows the goods: {top.reason}")


def ancillary_product(base: str, untaxed: str, decision: VatDecision, sale: Sale) -> str:
    """Shipping and fee products per VAT rate.

    Ledgers such as e-conomic take a line's VAT from its product, so one product cannot carry
    two rates: 0% goes on the untaxed product, the seller's standard rate on the base product,
    any other rate on ``<base>-<rate>`` (e.g. ``SHIPPING-12``).
    """
    if not sale.rate_country:
        return base  # reverse charge or export: 0% by the VAT zone, whatever the product
    if decision.rate == 0:
        return untaxed
    if decision.rate == _standard_rate(sale):
        return base
    return f"{base}-{decision.rate.normalize():f}"[:25]


def _standard_rate(sale: Sale) -> Decimal | None:
    if not sale.rate_country:
        return None
    try:
        return decide(sale, "standard").rate
    except PermanentError:
        return None


def _shipping_lines(
    order: Order, policy: PlanPolicy, sale: Sale, lines: list[PlannedLine]
) -> list[PlannedLine]:
    planned: list[PlannedLine] = []
    decision = ancillary_decision(sale, lines, policy)
    for ship in order.shipping_lines:
        net, tax = ship.net.amount, ship.tax.amount
        if net == 0 and tax == 0:
            continue
        method = ship.method or "Shipping"
        if tax == 0 and decision.rate != 0:
            planned.append(
                PlannedLine(
                    "shipping",
                    policy.untaxed_shipping_product,
                    method,
                    Decimal(1),
                    net,
                    ZERO,
                    ship.source_line_id,
                    "untaxed",
                    "the shop charged no VAT on this shipping: booked as untaxed shipping",
                )
            )
            continue
        check_vat(f"shipping {method!r}", net, tax, decision)
        planned.append(
            PlannedLine(
                "shipping",
                ancillary_product(
                    policy.shipping_product, policy.untaxed_shipping_product, decision, sale
                ),
                method,
                Decimal(1),
                net,
                decision.rate,
                ship.source_line_id,
                decision.code,
                decision.reason,
            )
        )
    return planned


def _fee_lines(
    order: Order, policy: PlanPolicy, sale: Sale, lines: list[PlannedLine]
) -> list[PlannedLine]:
    planned: list[PlannedLine] = []
    decision = ancillary_decision(sale, lines, policy)
    for fee in order.fees:
        name = fee.name or "Fee"
        if not fee.taxable:
            planned.append(
                PlannedLine(
                    "fee",
                    policy.untaxed_fee_product,
                    name,
                    Decimal(1),
                    fee.net.amount,
                    ZERO,
                    fee.source_line_id,
                    "untaxed",
                    "a fee without VAT in the shop",
                )
            )
            continue
        check_vat(f"fee {name!r}", fee.net.amount, fee.tax.amount, decision)
        planned.append(
            PlannedLine(
                "fee",
                ancillary_product(policy.fee_product, policy.untaxed_fee_product, decision, sale),
                name,
                Decimal(1),
                fee.net.amount,
                decision.rate,
                fee.source_line_id,
                decision.code,
                decision.reason,
            )
        )
    return planned


def even_out(
    target_gross: Decimal,
    currency: str,
    policy: PlanPolicy,
    lines: list[PlannedLine],
    decisions: list[Decision],
) -> tuple[list[PlannedLine], Decimal]:
    """Add a rounding line so the lines total ``target_gross``, or hold beyond the tolerance."""
    planned_gross = sum((line.net + line.vat for line in lines), ZERO)
    difference = target_gross - planned_gross
    if difference == 0:
        decisions.append(Decision("totals", "equal", f"{planned_gross} {currency}"))
        return lines, ZERO
    if abs(difference) > policy.rounding_tolerance:
        raise PermanentError(
            f"the document would total {planned_gross} {currency} but the shop's amount is "
            f"{target_gross} (a difference of {difference}, more than the tolerance of "
            f"{policy.rounding_tolerance})",
            "check the order's lines, discounts and taxes in the shop; if the shop is right, "
            "raise the rounding tolerance in the connection settings",
            code="totals_mismatch",
        )
    reason = (
        f"the shop rounded VAT differently; {difference} {currency} is within the "
        f"tolerance of {policy.rounding_tolerance}"
    )
    decisions.append(Decision("totals", f"rounding line {difference}", reason))
    rounding = PlannedLine(
        "rounding",
        policy.rounding_product,
        "Rounding",
        Decimal(1),
        difference,
        ZERO,
        "",
        "rounding",
        reason,
    )
    return [*lines, rounding], difference


def _with_rounding(
    order: Order, policy: PlanPolicy, lines: list[PlannedLine], decisions: list[Decision]
) -> tuple[list[PlannedLine], Decimal]:
    return even_out(order.totals.gross.amount, order.currency, policy, lines, decisions)


@dataclass(frozen=True)
class PlannedPayment:
    """A payment received at checkout, to be registered against the booked invoice."""

    method: str
    amount: Decimal
    currency: str
    paid_on: date
    text: str


def plan_payment(
    order: Order, settled_methods: list[str], timezone: str = "Europe/Copenhagen"
) -> tuple[PlannedPayment | None, str]:
    """The payment to register, or None with the reason why not."""
    method = order.payment_method
    if not method:
        return None, "the order has no payment method"
    if method not in settled_methods:
        return None, f"payment method {method!r} is not settled at checkout (no payment entry)"
    if order.paid_at is None:
        return None, "the order is not paid yet"
    payment = order.payments[0] if order.payments else None
    reference = f" ({payment.transaction_id})" if payment and payment.transaction_id else ""
    return (
        PlannedPayment(
            method=method,
            amount=order.totals.gross.amount,
            currency=order.currency,
            paid_on=local_date(order.paid_at, timezone),
            text=f"Payment order {order.number} {method}{reference}",
        ),
        f"paid by {method} on {order.paid_at:%Y-%m-%d}",
    )
