"""Building connector objects for a connection, through the registry only."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from kobling.connectors import registry
from kobling.connectors.base import InvoiceTarget, OrderSource, WebhookReceiver, WebhookRegistrar
from kobling.connectors.http import BeforeSend, CallLimitable, OnRateLimited
from kobling.engine.runtime import runtime
from kobling.errors import PermanentError, TransientError
from kobling.store import call_budgets
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
            [role, system.id, system.kind, system.base_url, system.credentials, settings],
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
    build = spec.build_target
    system_id = cfg.target.id

    def build_limited(base_url: str, credentials: Mapping[str, Any], settings: Any) -> Any:
        return _limited(build(base_url, credentials, settings), system_id)

    target: InvoiceTarget = _cached(
        "target", cfg.target, cfg.settings.get("target", {}), build_limited
    )
    return target


# Calls are spaced 2 % wider than 60 / calls_per_minute. Exactly even spacing keeps the *send*
# times within the limit, but the remote counts *arrival* times: with n calls allowed per
# window, call k+n arriving a millisecond less late than call k would find call k still in the
# window and be refused. The headroom tolerates 2 % of the window of such jitter (1.2 s at a
# minute) and still uses 98 % of the budget (60 a minute: 58.8 calls a minute).
CALL_HEADROOM = 0.02


# How often a caller that missed its slot takes a fresh one before it sends regardless.
LATE_RESERVATIONS = 3
# A slot further ahead than this (a long Retry-After pushed the budget back) is not waited for
# in a worker thread: the step fails as transient and the engine's durable back-off waits, as
# the HTTP layer does with a long Retry-After. At least a few intervals, so that ordinary
# pacing at a low rate never gets there.
MAX_SLOT_WAIT = 30.0


def call_interval(calls_per_minute: int) -> float:
    """Seconds between two calls to a system allowed ``calls_per_minute`` calls a minute."""
    if calls_per_minute < 1:
        raise ValueError("calls_per_minute must be at least 1")
    return 60.0 / calls_per_minute * (1 + CALL_HEADROOM)


def _limited(connector: Any, system_id: int) -> Any:
    """Pace a connector that has a calls-per-minute limit through the system's shared budget."""
    if isinstance(connector, CallLimitable) and connector.calls_per_minute:
        interval = call_interval(connector.calls_per_minute)
        connector.limit_calls(*call_budget_hooks(system_id, interval))
    return connector


def call_budget_hooks(
    system_id: int,
    interval_seconds: float,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[BeforeSend, OnRateLimited]:
    """``HttpClient`` hooks that space calls to one system ``interval_seconds`` apart across
    every thread and process sharing the database (:mod:`kobling.store.call_budgets`).

    A caller that finds itself more than half an interval past its slot (it waited for a
    database lock, or its process stalled) does not send: callers whose slots passed meanwhile
    would all go at once, a burst the remote counts. It takes a fresh slot instead (the missed
    one stays unused, which is always safe), at most :data:`LATE_RESERVATIONS` times.

    The runtime's database is looked up at each call, not when the hooks are made, because
    connectors are cached per thread and may outlive one runtime (tests).
    """
    tolerance = interval_seconds / 2
    max_wait = max(MAX_SLOT_WAIT, 4 * interval_seconds)

    def before_send() -> None:
        for _ in range(LATE_RESERVATIONS):
            slot = call_budgets.reserve(runtime().db, system_id, interval_seconds, now=clock())
            wait = slot - clock()
            if wait > max_wait:
                raise TransientError(
                    f"calls to this system are paused for {wait:.0f} seconds",
                    "nothing to do: the system asked Kobling to wait; Kobling retries by itself",
                    code="paced",
                    retry_after=wait,
                )
            if wait > 0:
                sleep(wait)
            if clock() - slot <= tolerance:
                return

    def on_rate_limited(retry_after: float | None) -> None:
        # The remote refused anyway (another client on the agreement, a tighter limit than
        # configured): nobody calls before it says, or one interval when it says nothing.
        pause = retry_after if retry_after is not None else interval_seconds
        call_budgets.push_back(runtime().db, system_id, clock() + pause)

    return before_send, on_rate_limited


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
