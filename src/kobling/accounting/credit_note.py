"""The plan of a credit note for a refund: the refunded lines, negated, against the invoice.

A credit note carries the VAT the invoice carried: the sale is classified exactly as the
order was (same destination, same tax point), and each refunded line keeps its original
product and rate. What a refund pays back beyond its lines (shipping, a goodwill amount, or
everything when the shop recorded an amount only) goes on the refund product at the rate the
order's shipping would carry, split into net and VAT. The document's total is the negative of
the amount paid back, to the cent, or the credit note is held.
"""

from __future__ import annotations

from decimal import Decimal

from kobling.accounting.lines import exact_unit_prices
from kobling.accounting.plan import (
    HUNDRED,
    ZERO,
    Decision,
    DocumentPlan,
    PlannedLine,
    PlanPolicy,
    ancillary_decision,
    check_vat,
    even_out,
    plan_invoice,
)
from kobling.accounting.vat import Sale, category_of, classify, decide
from kobling.domain.money import round_half_up
from kobling.domain.order import Order, Refund
from kobling.errors import PermanentError


def credit_note_reference(order: Order, refund: Refund) -> str:
    return f"{order.number}-refund-{refund.source_id}"


def plan_credit_note(
    order: Order, refund: Refund, policy: PlanPolicy, invoice_id: str
) -> DocumentPlan:
    invoice = plan_invoice(order, policy)  # the same customer and VAT decisions
    sale = classify(order, policy.vat)
    decisions = [
        Decision(
            "credit note",
            f"credits invoice {invoice_id}",
            refund.reason or "refund recorded in the shop",
        )
    ]
    lines: list[PlannedLine] = []
    by_id = {line.source_line_id: line for line in order.lines}
    for refunded in refund.lines:
        original = by_id.get(refunded.order_line_id)
        if original is None:
            raise PermanentError(
                f"refund {refund.source_id} refunds order line {refunded.order_line_id}, which "
                f"order {order.number} does not have",
                "check the refund in the shop",
                code="refund_line",
            )
        decision = decide(sale, category_of(original.tax_class, policy.vat))
        check_vat(
            f"refunded line {original.name!r}", refunded.net.amount, refunded.tax.amount, decision
        )
        number = original.sku or policy.fallback_product
        for quantity, unit in exact_unit_prices(refunded.net.amount, refunded.quantity):
            lines.append(
                PlannedLine(
                    "product",
                    number,
                    original.name,
                    -quantity,
                    unit,
                    decision.rate,
                    original.source_line_id,
                    decision.code,
                    decision.reason,
                    ZERO,
                    original.sku or "",
                )
            )
    paid_back = refund.amount.amount
    by_lines = sum((r.net.amount + r.tax.amount for r in refund.lines), ZERO)
    rest = paid_back - by_lines
    if rest > 0:
        lines.append(_amount_line(rest, sale, lines, policy, refund))
    elif rest < 0:
        raise PermanentError(
            f"refund {refund.source_id} pays back {paid_back} but its lines are worth {by_lines}",
            "check the refund's lines and amount in the shop",
            code="refund_amount",
        )
    lines, rounding = even_out(-paid_back, order.currency, policy, lines, decisions)
    return DocumentPlan(
        reference=credit_note_reference(order, refund),
        document_date=(refund.created_at or order.created_at).date(),
        currency=order.currency,
        customer=invoice.customer,
        lines=tuple(lines),
        source_gross=-paid_back,
        decisions=tuple(decisions),
        rounding=rounding,
        kind="credit_note",
        credits=invoice_id,
    )


def _amount_line(
    gross: Decimal, sale: Sale, lines: list[PlannedLine], policy: PlanPolicy, refund: Refund
) -> PlannedLine:
    decision = ancillary_decision(sale, lines, policy)
    net = round_half_up(gross * HUNDRED / (HUNDRED + decision.rate))
    return PlannedLine(
        "refund",
        policy.refund_product,
        refund.reason or "Refund",
        Decimal(-1),
        net,
        decision.rate,
        "",
        decision.code,
        f"an amount refunded without lines: {gross} incl. {decision.rate.normalize():f}% VAT "
        f"({decision.reason})",
    )
