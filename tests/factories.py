"""Small builders for canonical orders in tests (amounts always given by hand)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from kobling.domain import (
    Address,
    Customer,
    Fee,
    Money,
    Order,
    OrderLine,
    ShippingLine,
    SourceTotals,
)

D = Decimal


def line(
    name: str,
    quantity: str,
    net: str,
    tax: str,
    *,
    sku: str | None = "SKU-1",
    currency: str = "DKK",
) -> OrderLine:
    q = D(quantity)
    return OrderLine(
        source_line_id=name,
        name=name,
        quantity=q,
        unit_price=Money(D(net) / q, currency),
        net_total=Money(D(net), currency),
        tax=Money(D(tax), currency),
        sku=sku,
    )


def order(
    *lines: OrderLine,
    total: str,
    country: str = "DK",
    vat_number: str = "",
    currency: str = "DKK",
    shipping: tuple[str, str] | None = None,
    fees: tuple[Fee, ...] = (),
    email: str = "kunde@example.dk",
    status: str = "processing",
    created: datetime | None = None,
    number: str = "1001",
) -> Order:
    when = created or datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    ship = (
        (
            ShippingLine(
                "s1", "Flat rate", Money(D(shipping[0]), currency), Money(D(shipping[1]), currency)
            ),
        )
        if shipping
        else ()
    )
    tax = sum((x.tax.amount for x in lines), D(0)) + sum((s.tax.amount for s in ship), D(0))
    return Order(
        source_id=number,
        number=number,
        status=status,
        currency=currency,
        created_at=when,
        modified_at=when,
        customer=Customer(
            billing=Address(
                country=country,
                first_name="Ada",
                last_name="Lovelace",
                street1="Vej 1",
                postcode="8000",
                city="Aarhus",
                email=email,
            ),
            email=email,
            vat_number=vat_number,
        ),
        totals=SourceTotals(
            gross=Money(D(total), currency),
            tax=Money(tax, currency),
            shipping=Money(D(shipping[0]) if shipping else D(0), currency),
            discount=Money(D(0), currency),
        ),
        lines=tuple(lines),
        shipping_lines=ship,
        fees=fees,
    )
