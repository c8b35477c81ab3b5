"""Building connector objects for a connection, through the registry only."""

from __future__ import annotations

from kobling.connectors import registry
from kobling.connectors.base import InvoiceTarget, OrderSource, WebhookReceiver, WebhookRegistrar
from kobling.engine.runtime import runtime
from kobling.errors import PermanentError
from kobling.store.repository import ConnectionConfig, load_connection


def connection(connection_id: int) -> ConnectionConfig:
    rt = runtime()
    return load_connection(rt.db, rt.box, connection_id)


def source_for(cfg: ConnectionConfig) -> OrderSource:
    spec = registry.get(cfg.source.kind)
    if spec.build_source is None:
        raise PermanentError(f"{spec.title} cannot be a source of orders", "choose another system")
    return spec.build_source(
        cfg.source.base_url, cfg.source.credentials, cfg.settings.get("source", {})
    )


def target_for(cfg: ConnectionConfig) -> InvoiceTarget:
    spec = registry.get(cfg.target.kind)
    if spec.build_target is None:
        raise PermanentError(f"{spec.title} cannot receive invoices", "choose another system")
    settings = cfg.settings.get("target", {})
    return spec.build_target(cfg.target.base_url, cfg.target.credentials, settings)


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
