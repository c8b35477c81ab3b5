"""Whether a transfer books its document or leaves a draft, and why.

Booking is final in most ledgers, so it is switched on deliberately: a new connection's
invoices stay drafts during a trial (``booking_trial_days`` after activation) until the user
confirms the drafts are right; some payment methods (cash on delivery, bank transfer awaiting
payment) are never booked automatically.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kobling.domain.order import Order


@dataclass(frozen=True)
class BookingDecision:
    book: bool
    reason: str


def booking_decision(
    settings: dict[str, Any], order: Order, activated_at: datetime | None, now: datetime
) -> BookingDecision:
    if settings.get("target", {}).get("invoice_mode", "book") != "book":
        return BookingDecision(False, "the connection leaves invoices as drafts")
    method = order.payment_method
    if method and method in settings.get("draft_payment_methods", []):
        return BookingDecision(
            False, f"payment method {method!r} is never booked automatically: left as a draft"
        )
    trial = int(settings.get("booking_trial_days", 0))
    if trial and not settings.get("booking_confirmed") and activated_at is not None:
        ends = activated_at + timedelta(days=trial)
        if now < ends:
            return BookingDecision(
                False,
                f"booking trial until {ends:%Y-%m-%d}: invoices stay drafts until you confirm "
                "they are right (kobling connections confirm-booking)",
            )
    return BookingDecision(True, "booking is on")
