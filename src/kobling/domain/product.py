"""A product as sold in the source."""

from __future__ import annotations

from dataclasses import dataclass

from kobling.domain.money import Money


@dataclass(frozen=True, slots=True)
class Product:
    """A sellable item identified across systems by its SKU."""

    sku: str
    name: str
    source_id: str | None = None
    price: Money | None = None
    tax_class: str = "standard"
    active: bool = True
