"""The customer behind an order, as the source knows them."""

from __future__ import annotations

from dataclasses import dataclass

from kobling.domain.address import Address


@dataclass(frozen=True, slots=True)
class Customer:
    """A buyer. ``source_id`` is None for guest checkouts (WooCommerce customer_id 0)."""

    billing: Address
    source_id: str | None = None
    email: str = ""
    phone: str = ""
    vat_number: str = ""
    ean: str = ""

    @property
    def name(self) -> str:
        return self.billing.display_name or self.email

    @property
    def is_business(self) -> bool:
        """A customer with a VAT number buys as a business (relevant for reverse charge)."""
        return bool(self.vat_number)
