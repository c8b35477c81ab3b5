"""Is an order ready for the books? The reason is always said, also when it is not."""

from __future__ import annotations

from dataclasses import dataclass

from kobling.domain.order import Order
from kobling.store.repository import ConnectionConfig


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    reason: str


def eligibility(order: Order, cfg: ConnectionConfig) -> Eligibility:
    states = list(cfg.settings.get("source", {}).get("eligible_states") or ["processing"])
    if cfg.start_date is not None and order.created_at < cfg.start_date:
        return Eligibility(
            False,
            f"created before the start date {cfg.start_date:%Y-%m-%d %H:%M} UTC",
        )
    if order.status not in states:
        return Eligibility(False, f"state '{order.status}' is not eligible")
    return Eligibility(True, f"state '{order.status}' is eligible ({', '.join(states)})")
