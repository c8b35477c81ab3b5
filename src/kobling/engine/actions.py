"""What a person can do to a transfer from the dashboard or the API: retry, re-transfer, skip.

Each goes through the same intake as a webhook or a poll (the order is fetched again, so the
current shop data and the connection's current settings apply), and each write to the target
still looks up by reference first: a re-transfer of an order whose invoice exists finds it.
"""

from __future__ import annotations

from dataclasses import dataclass

from kobling.engine.intake import start_intake
from kobling.engine.runtime import runtime
from kobling.store import repository as repo
from kobling.store.models import Transfer


@dataclass(frozen=True)
class ActionRefused(Exception):
    """The action does not fit the transfer's state; ``reason`` says why in plain words."""

    reason: str
    fix: str = (
        "reload the transfer to see its state now (someone may have acted on it already) and "
        "choose one of the actions it offers"
    )


def _reopen(transfer: Transfer, reason: str, allowed: tuple[str, ...]) -> None:
    """Make a settled transfer eligible for a new attempt and start its intake."""
    if not repo.reopen_transfer(runtime().db, transfer.id, reason, allowed):
        raise ActionRefused(
            f"transfer {transfer.id} is {transfer.outcome or transfer.state}; this action needs "
            f"one that is {' or '.join(allowed)}"
        )
    start_intake(
        transfer.connection_id,
        transfer.source_id,
        "retry",
        workflow_id=f"intake:{transfer.key}:manual:{transfer.attempts}",
    )


def retry(transfer: Transfer, by: str) -> None:
    """Try a held or failed transfer again, after the fix was applied."""
    _reopen(transfer, f"retry requested by {by}", ("held", "failed"))


def retransfer(transfer: Transfer, by: str) -> None:
    """Transfer again, also a done one (the target is searched by reference first)."""
    _reopen(transfer, f"re-transfer requested by {by}", ("done", "held", "failed"))


def skip(transfer: Transfer, by: str) -> None:
    """Leave a held or failed transfer alone for good (it is no longer listed as a problem)."""
    reason = f"{repo.SKIPPED_BY}{by}: {transfer.reason}"
    if not repo.skip_transfer(runtime().db, transfer.id, reason):
        raise ActionRefused(
            f"transfer {transfer.id} is {transfer.outcome or transfer.state}; only a held or "
            "failed transfer can be skipped"
        )
