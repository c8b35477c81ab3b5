"""Building connector objects for a connection, through the registry only."""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

from kobling.connectors import registry
from kobling.connectors.base import InvoiceTarget, OrderSource, WebhookReceiver, WebhookRegistrar
from kobling.engine.runtime import runtime
from kobling.errors import PermanentError
from kobling.store.repository import ConnectionConfig, SystemConfig, load_connection


def connection(connection_id: int) -> ConnectionConfig:
    rt = runtime()
    return load_connection(rt.db, rt.box, connection_id)


# Connector objects hold an HTTP client (a connection pool); building one per step costs more
# than the step's requests. They are cached per thread (httpx clients are not shared across
# threads here) and keyed by everything they were built from, so changed credentials or
# settings build a new one.
_local = threading.local()


def _cached(role: str, system: SystemConfig, settings: dict[str, Any], build: Any) -> Any:
    cache: dict[str, Any] = _local.__dict__.setdefault("connectors", {})
    fingerprint = hashlib.sha256(
        json.dumps(
            [role, system.kind, system.base_url, system.credentials, settings],
            sort_keys=True,
            default=str,
        ).encode()
    ).hexdigest()
    found = cache.get(fingerprint)
    if found is None:
        found = build(system.base_url, system.credentials, settings)
        cache[fingerprint] = found
    return found


def source_for(cfg: ConnectionConfig) -> OrderSource:
    spec = registry.get(cfg.source.kind)
    if spec.build_source is None:
        raise PermanentError(f"{spec.title} cannot be a source of orders", "choose another system")
    source: OrderSource = _cached(
        "source", cfg.source, cfg.settings.get("source", {}), spec.build_source
    )
    return source


def target_for(cfg: ConnectionConfig) -> InvoiceTarget:
    spec = registry.get(cfg.target.kind)
    if spec.build_target is None:
        raise PermanentError(f"{spec.title} cannot receive invoices", "choose another system")
    target: InvoiceTarget = _cached(
        "target", cfg.target, cfg.settings.get("target", {}), spec.build_target
    )
    return target


def webhooks_for(cfg: ConnectionConfig) -> WebhookReceiver | None:
    spec = registry.get(cfg.source.kind)
    if spec.build_webhooks is None:
        return None
    return spec.build_webhooks(
        cfg.source.base_url, cfg.source.credentials, cfg.settings.get("source", {})
    )


def registrar_for(cfg: ConnectionConfig) -> WebhookRegistrar | None:
    spec = registry.get(cfg.source.kind)
    if spec.build_registrar is None:
        return None
    return spec.build_registrar(
        cfg.source.base_url, cfg.source.credentials, cfg.settings.get("source", {})
    )


def transfer_queue_name(target_kind: str) -> str:
    """One queue per target connector, partitioned by target account (system id)."""
    return f"transfers-{target_kind}"
