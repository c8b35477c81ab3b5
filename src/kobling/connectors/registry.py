"""The one place that knows which connectors exist and what each can do."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from kobling.connectors.base import (
    ConnectionCheck,
    InvoiceTarget,
    OrderSource,
    WebhookReceiver,
    WebhookRegistrar,
)

Capability = str  # "order_source" | "invoice_target" | "webhooks"


@dataclass(frozen=True)
class RateLimit:
    """The pace ``limit`` transfers per ``period`` seconds a backfill estimate assumes for a
    target account that sets no ``calls_per_minute`` of its own (calls are paced by
    store/call_budgets.py, not by this)."""

    limit: int
    period: float


@dataclass(frozen=True)
class ConnectorSpec:
    kind: str
    title: str
    capabilities: frozenset[Capability]
    credentials_model: type[BaseModel]
    settings_model: type[BaseModel]
    build_source: Callable[[str, Mapping[str, Any], Mapping[str, Any]], OrderSource] | None = None
    build_target: Callable[[str, Mapping[str, Any], Mapping[str, Any]], InvoiceTarget] | None = None
    build_webhooks: (
        Callable[[str, Mapping[str, Any], Mapping[str, Any]], WebhookReceiver] | None
    ) = None
    build_registrar: (
        Callable[[str, Mapping[str, Any], Mapping[str, Any]], WebhookRegistrar] | None
    ) = None
    # A source that can normalize payloads without credentials or network (for preview).
    offline_source: Callable[[Mapping[str, Any]], OrderSource] | None = None
    transfer_rate_limit: RateLimit | None = None
    # Calls a day per account that the remote's terms allow (a fair-use budget, not enforced by
    # the remote with 429s): a backfill estimate that needs more says so, with the pace that fits.
    daily_call_budget: int | None = None
    # One cheap authenticated read for the dashboard's "Test connection"; never raises for
    # remote trouble (see ``base.run_check``).
    check_connection: (
        Callable[[str, Mapping[str, Any], Mapping[str, Any]], ConnectionCheck] | None
    ) = None


_REGISTRY: dict[str, ConnectorSpec] = {}


def register(spec: ConnectorSpec) -> ConnectorSpec:
    _REGISTRY[spec.kind] = spec
    return spec


def _load_builtin() -> None:
    # Imported here so that importing the registry stays cheap and cycle-free. Importing one
    # connector elsewhere (the demo imports Tryton's client) registers only that one, so the
    # check is "loaded", not "registry empty".
    global _loaded
    if not _loaded:
        from kobling.connectors import economic, tryton, woocommerce  # noqa: F401

        _loaded = True


_loaded = False


def get(kind: str) -> ConnectorSpec:
    _load_builtin()
    try:
        return _REGISTRY[kind]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise LookupError(f"no connector {kind!r}; known connectors: {known}") from None


def all_specs() -> list[ConnectorSpec]:
    _load_builtin()
    return sorted(_REGISTRY.values(), key=lambda spec: spec.kind)
