"""What a connector can be: the roles the engine talks to, and nothing system-specific.

A connector implements one or more of these protocols and declares which in its
``ConnectorSpec`` (see ``registry.py``); the engine and the web layer ask the registry and never
test ``if kind == "woocommerce"``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

from kobling.accounting.plan import DocumentPlan, PlannedCustomer, PlannedPayment
from kobling.domain.order import Order, Refund


class OrderSource(Protocol):
    """A system orders come from."""

    def fetch_order(self, source_id: str) -> dict[str, Any]:
        """The order as the source serves it now (the raw payload, for the log)."""
        ...

    def changed_orders(
        self, modified_after: datetime, statuses: Sequence[str] = ()
    ) -> Iterator[dict[str, Any]]:
        """Every order modified after the instant (in ``statuses`` if given), oldest first."""
        ...

    def normalize(self, payload: dict[str, Any]) -> Order:
        """The canonical order for a raw payload, or ``PermanentError`` saying what is wrong."""
        ...

    def fetch_refund(self, order_id: str, refund_id: str) -> dict[str, Any]: ...

    def normalize_refund(self, payload: dict[str, Any], currency: str) -> Refund: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class WebhookDelivery:
    """What an inbound delivery turned out to be."""

    status: Literal["ping", "accepted", "rejected", "ignored"]
    delivery_key: str
    topic: str = ""
    object_id: str | None = None
    detail: str = ""


class WebhookReceiver(Protocol):
    def receive(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery: ...


@dataclass(frozen=True)
class WebhookStatus:
    topic: str
    remote_id: str
    action: Literal["present", "created", "reactivated"]
    detail: str = ""


class WebhookRegistrar(Protocol):
    def ensure_webhooks(self, delivery_url: str) -> list[WebhookStatus]: ...


@dataclass(frozen=True)
class TargetDocument:
    """A document as it exists in the target."""

    id: str
    state: Literal["draft", "booked"]
    gross: Decimal | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CustomerResult:
    number: str
    action: Literal["matched", "created", "updated", "collective"]
    notes: tuple[str, ...] = ()


class InvoiceTarget(Protocol):
    """A system invoices are created in."""

    def find_document(self, reference: str) -> TargetDocument | None:
        """The document carrying the shop's order reference, booked or draft, if any."""
        ...

    def ensure_customer(self, customer: PlannedCustomer) -> CustomerResult: ...

    def ensure_products(self, plan: DocumentPlan) -> list[dict[str, Any]]: ...

    def create_document(self, plan: DocumentPlan, customer_number: str) -> TargetDocument: ...

    def book(self, document: TargetDocument) -> TargetDocument: ...

    def update_document(
        self, document_id: str, plan: DocumentPlan, customer_number: str
    ) -> TargetDocument:
        """Overwrite a draft that was not booked yet with the order's new data."""
        ...

    def credit_document(
        self, document_id: str, reference: str, note: str, on: date
    ) -> TargetDocument:
        """Credit a booked document in full (a credit note of all its lines), once."""
        ...

    def delete_document(self, document_id: str) -> None:
        """Delete a draft that was not booked."""
        ...

    def register_payment(self, document: TargetDocument, payment: PlannedPayment) -> dict[str, Any]:
        """Record a payment against a booked invoice, once (looked up before it is created)."""
        ...

    def close(self) -> None: ...
