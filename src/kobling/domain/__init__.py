"""The canonical model: pure data, no I/O, no framework imports."""

from kobling.domain.address import Address
from kobling.domain.customer import Customer
from kobling.domain.money import Money
from kobling.domain.order import (
    Coupon,
    Fee,
    Order,
    OrderLine,
    Payment,
    Refund,
    RefundLine,
    ShippingLine,
    SourceTotals,
)
from kobling.domain.product import Product

__all__ = [
    "Address",
    "Coupon",
    "Customer",
    "Fee",
    "Money",
    "Order",
    "OrderLine",
    "Payment",
    "Product",
    "Refund",
    "RefundLine",
    "ShippingLine",
    "SourceTotals",
]
