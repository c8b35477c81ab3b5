"""Is an order ready for the books? The reason is always said, also when it is not."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kobling.domain.order import Order
from kobling.store.repository import ConnectionConfig


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    reason: str


def eligible_states(settings: Mapping[str, Any]) -> list[str]:
    """The order states that make an order ready for the books, per the connection settings."""
    return list((settings.get("source") or {}).get("eligible_states") or ["processing"])


def eligibility(order: Order, cfg: ConnectionConfig, origin: str = "") -> Eligibility:
    """Whether the order is due; a backfill imports orders from before the start date."""
    start = None if origin == "backfill" else cfg.start_date
    return decide_eligibility(order, eligible_states(cfg.settings), start)


def decide_eligibility(order: Order, states: list[str], start_date: datetime | None) -> Eligibility:
    if start_date is not None and order.created_at < start_date:
        return Eligibility(
            False,
            f"created before the start date {start_date:%Y-%m-%d %H:%M} UTC",
        )
    if order.status == "cancelled":
        return Eligibility(False, "cancelled before transfer")
    if order.status not in states:
        return Eligibility(False, f"state '{order.status}' is not eligible")
    return Eligibility(True, f"state '{order.status}' is eligible ({', '.join(states)})")
