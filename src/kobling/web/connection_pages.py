"""Connections and schedules: each connection's trigger, last and next poll, webhook health,
on/off for a connection and for the whole integration, "poll now", "re-register webhooks",
and each connection's settings form (generated from the connectors' settings schemas).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from kobling.engine import polling, schedules
from kobling.engine.eligibility import eligible_states
from kobling.engine.runtime import runtime
from kobling.engine.settings import SettingsError, validate_connection_settings
from kobling.errors import TransferProblem
from kobling.store import people
from kobling.store.models import Connection, PollCursor, WebhookCheck
from kobling.web.api import RecordId
from kobling.web.forms import parse_settings_form, settings_form
from kobling.web.pages import (
    not_found,
    page,
    scope_of,
    see_other,
    signed_in_or_redirect,
    writer,
)

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class ConnectionView:
    """A connection as the connections page shows it."""

    connection: Connection
    source: str
    target: str
    states: list[str]
    webhooks: bool
    schedule: str
    last_poll: datetime | None
    next_poll: datetime | None
    last_delivery: datetime | None
    hooks: WebhookCheck | None


def _view(
    c: Connection,
    names: dict[int, str],
    cursor: PollCursor | None,
    delivery: datetime | None,
    hooks: WebhookCheck | None,
    now: datetime,
) -> ConnectionView:
    cron = runtime().tuning.poll_cron
    return ConnectionView(
        connection=c,
        source=names.get(c.source_system_id, "?"),
        target=names.get(c.target_system_id, "?"),
        states=eligible_states(c.settings),
        webhooks=bool(c.settings.get("use_webhooks", True)),
        schedule=schedules.describe(cron),
        last_poll=cursor.updated_at if cursor else None,
        next_poll=schedules.next_run(cron, now) if c.active else None,
        last_delivery=delivery,
        hooks=hooks,
    )


@router.get("/connections", response_class=HTMLResponse)
def connections_page(request: Request, message: str = "") -> Any:
    session = signed_in_or_redirect(request)
    if isinstance(session, Response):
        return session
    account = scope_of(session)
    names = {s.id: s.name for s in account.systems()}
    cursors, deliveries = account.poll_cursors(), account.last_deliveries()
    hooks = account.webhook_checks()
    now = datetime.now(UTC)
    views = [
        _view(c, names, cursors.get(c.id), deliveries.get(c.id), hooks.get(c.id), now)
        for c in account.connections()
    ]
    integrations = [
        {"integration": i, "connections": [v for v in views if v.connection.integration_id == i.id]}
        for i in account.integrations()
    ]
    return page(
        request, session, "connections.html", integrations=integrations, message=message[:300]
    )


def _back(message: str) -> Response:
    return see_other(f"/connections?{urlencode({'message': message})}")


@router.post("/integrations/{integration_id}/switch/{switch}")
def switch_integration(
    request: Request, integration_id: RecordId, switch: str, csrf: str = Form("")
) -> Any:
    session = writer(request, csrf, "switch integrations on or off")
    if isinstance(session, Response):
        return session
    if switch not in ("on", "off"):
        return not_found(f"The switch {switch!r}")
    if not scope_of(session).set_integration_active(integration_id, switch == "on"):
        return not_found(f"Integration {integration_id}")
    return _back(f"Integration switched {switch}.")


@router.post("/connections/{connection_id}/actions/{action}")
async def connection_action(
    request: Request, connection_id: RecordId, action: str, csrf: str = Form("")
) -> Any:
    session = writer(request, csrf, "change connections")
    if isinstance(session, Response):
        return session
    account = scope_of(session)
    found = account.connection(connection_id)
    if found is None or action not in ("on", "off", "poll", "webhooks"):
        return not_found(f"Connection {connection_id}")
    if action in ("on", "off"):
        account.set_connection_active(connection_id, action == "on")
        return _back(f"Connection {found.name} switched {action}.")
    if action == "poll":
        return _back(await _poll(found))
    return _back(await _reregister(found))


async def _poll(found: Connection) -> str:
    if not runtime().launched:
        return "The engine is not running in this process: start Kobling with `kobling run`."
    workflow_id = await run_in_threadpool(polling.request_poll, found.id)
    return f"Poll of {found.name} queued (workflow {workflow_id})."


async def _reregister(found: Connection) -> str:
    try:
        hooks = await run_in_threadpool(polling.ensure_webhooks, found.id)
    except TransferProblem as problem:
        return f"Webhooks of {found.name} could not be registered: {problem.reason}. {problem.fix}"
    if not hooks:
        return f"{found.name} does not use webhooks (see its settings)."
    done = ", ".join(f"{h['topic']} {h['action']}" for h in hooks)
    return f"Webhooks of {found.name}: {done}."


# -- settings ----------------------------------------------------------------------------------


@router.get("/connections/{connection_id}/settings", response_class=HTMLResponse)
def settings_page(request: Request, connection_id: RecordId, saved: bool = False) -> Any:
    session = signed_in_or_redirect(request)
    if isinstance(session, Response):
        return session
    return _settings(request, session, connection_id, saved=saved)


def _settings(
    request: Request,
    session: people.SignedIn,
    connection_id: RecordId,
    *,
    saved: bool = False,
    problems: list[str] | None = None,
    shown: dict[str, Any] | None = None,
    status: int = 200,
) -> Any:
    account = scope_of(session)
    found = account.connection(connection_id)
    if found is None:
        return not_found(f"Connection {connection_id}")
    source_kind, target_kind = account.connection_kinds(found)
    return page(
        request,
        session,
        "settings.html",
        status,
        connection=found,
        sections=settings_form(source_kind, target_kind, shown or found.settings),
        saved=saved,
        problems=problems or [],
    )


@router.post("/connections/{connection_id}/settings")
async def save_settings(request: Request, connection_id: RecordId) -> Any:
    form = {k: str(v) for k, v in (await request.form()).items()}
    session = writer(request, form.pop("csrf", ""), "change settings")
    if isinstance(session, Response):
        return session
    account = scope_of(session)
    found = account.connection(connection_id)
    if found is None:
        return not_found(f"Connection {connection_id}")
    source_kind, target_kind = account.connection_kinds(found)
    wanted, problems = parse_settings_form(source_kind, target_kind, form)
    # Keys the form does not show (set by commands, e.g. booking_confirmed) are kept.
    merged = {**found.settings, **wanted}
    if not problems:
        try:
            valid = validate_connection_settings(source_kind, target_kind, merged)
        except SettingsError as error:
            problems = [p.strip() for p in str(error).split(":", 1)[-1].split(";")]
        else:
            account.set_connection_settings(connection_id, valid)
            return see_other(f"/connections/{connection_id}/settings?saved=true")
    return _settings(request, session, connection_id, problems=problems, shown=merged, status=422)
