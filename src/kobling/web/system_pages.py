"""Systems: the shops and accounting systems of each integration. Add one, edit its name,
address and credentials (write-only: the browser never gets them back), see whether its
credentials are complete, and test the connection.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from kobling.connectors import registry
from kobling.engine.runtime import runtime
from kobling.engine.settings import SettingsError, base_url_problem, validate_credentials
from kobling.engine.system_checks import check_system, credentials_problem
from kobling.store import people
from kobling.store import repository as repo
from kobling.store.scope import AccountScope
from kobling.web.api import RecordId
from kobling.web.forms import credential_fields, parse_credentials_form
from kobling.web.pages import (
    not_found,
    page,
    scope_of,
    see_other,
    signed_in_or_redirect,
    writer,
)

router = APIRouter(include_in_schema=False)


def _address_problem(base_url: str) -> str:
    problem = base_url_problem(base_url)
    return problem[:1].upper() + problem[1:]


@router.get("/systems", response_class=HTMLResponse)
def systems_page(request: Request) -> Any:
    session = signed_in_or_redirect(request)
    if isinstance(session, Response):
        return session
    account = scope_of(session)
    checks = account.system_checks()
    connections = account.connections()
    rows = [
        {
            "system": s,
            "title": registry.get(s.kind).title,
            "credentials": credentials_problem(s.id),
            "check": checks.get(s.id),
            "used_by": [
                c.name for c in connections if s.id in (c.source_system_id, c.target_system_id)
            ],
        }
        for s in account.systems()
    ]
    return page(
        request,
        session,
        "systems.html",
        rows=rows,
        integrations=account.integrations(),
        specs=registry.all_specs(),
    )


@router.get("/systems/new", response_class=HTMLResponse)
def new_system_page(request: Request, kind: str = "") -> Any:
    session = signed_in_or_redirect(request)
    if isinstance(session, Response):
        return session
    return _new_form(request, session, kind)


def _new_form(
    request: Request,
    session: people.SignedIn,
    kind: str,
    status: int = 200,
    problems: tuple[str, ...] = (),
    **shown: str,
) -> Any:
    kinds = {spec.kind: spec for spec in registry.all_specs()}
    spec = kinds.get(kind)
    return page(
        request,
        session,
        "system_new.html",
        status,
        specs=list(kinds.values()),
        spec=spec,
        fields=credential_fields(kind) if spec else [],
        integrations=scope_of(session).integrations(),
        problems=problems,
        shown=shown,
    )


@router.post("/systems/new")
async def add_system(request: Request) -> Any:
    form = {k: str(v) for k, v in (await request.form()).items()}
    session = writer(request, form.pop("csrf", ""), "add systems")
    if isinstance(session, Response):
        return session
    kind, name, base_url = form.get("kind", ""), form.get("name", "").strip(), form.get("url", "")
    kinds = {spec.kind for spec in registry.all_specs()}
    if kind not in kinds:
        return _new_form(request, session, "", 422, (f"Choose one of: {', '.join(kinds)}.",))
    credentials = parse_credentials_form(kind, form)
    problems = [p for p in (_address_problem(base_url.strip()),) if p]
    if not name:
        problems.append("Give the system a name you recognise, e.g. 'My WooCommerce shop'.")
    try:
        validate_credentials(kind, credentials)
    except SettingsError as error:
        problems.append(f"{error}: fill in every credential field.")
    chosen = form.get("integration", "")
    integration_id = int(chosen) if chosen.isdigit() and len(chosen) < 10 else 0
    account = scope_of(session)
    if not problems:
        rt = runtime()
        system_id = account.add_system(
            rt.box,
            integration_id=integration_id,
            kind=kind,
            name=name,
            base_url=base_url.strip(),
            credentials=credentials,
        )
        if system_id is not None:
            return see_other(f"/systems/{system_id}?{urlencode({'message': 'Added.'})}")
        problems.append("Choose one of your integrations.")
    return _new_form(request, session, kind, 422, tuple(problems), name=name, url=base_url)


@router.get("/systems/{system_id}", response_class=HTMLResponse)
def system_page(request: Request, system_id: RecordId, message: str = "") -> Any:
    session = signed_in_or_redirect(request)
    if isinstance(session, Response):
        return session
    return _edit_form(request, session, system_id, message=message[:300])


def _edit_form(
    request: Request,
    session: people.SignedIn,
    system_id: int,
    status: int = 200,
    problems: tuple[str, ...] = (),
    message: str = "",
) -> Any:
    account = scope_of(session)
    found = account.system(system_id)
    if found is None:
        return not_found(f"System {system_id}")
    return page(
        request,
        session,
        "system.html",
        status,
        system=found,
        title=registry.get(found.kind).title,
        fields=credential_fields(found.kind),
        credentials=credentials_problem(found.id),
        check=account.system_checks().get(found.id),
        webhooks=_webhooks_of(account, found.id),
        problems=problems,
        message=message,
    )


def _webhooks_of(account: AccountScope, system_id: int) -> list[dict[str, Any]]:
    """Webhook health of the connections this system is the source of (a shop's webhooks)."""
    checks, deliveries = account.webhook_checks(), account.last_deliveries()
    return [
        {"connection": c, "check": checks.get(c.id), "last_delivery": deliveries.get(c.id)}
        for c in account.connections()
        if c.source_system_id == system_id and c.settings.get("use_webhooks", True)
    ]


@router.post("/systems/{system_id}")
async def save_system(request: Request, system_id: RecordId) -> Any:
    form = {k: str(v) for k, v in (await request.form()).items()}
    session = writer(request, form.pop("csrf", ""), "change systems")
    if isinstance(session, Response):
        return session
    account = scope_of(session)
    found = account.system(system_id)
    if found is None:
        return not_found(f"System {system_id}")
    name, base_url = form.get("name", "").strip(), form.get("url", "").strip()
    problems = [p for p in (_address_problem(base_url),) if p]
    if not name:
        problems.append("Give the system a name you recognise.")
    rt = runtime()
    changed = parse_credentials_form(found.kind, form)
    merged = {**repo.load_system(rt.db, rt.box, found.id).credentials, **changed}
    try:
        validate_credentials(found.kind, merged)
    except SettingsError as error:
        problems.append(f"{error}: fill in the missing credential fields.")
    if problems:
        return _edit_form(request, session, system_id, 422, tuple(problems))
    account.update_system(system_id, name=name, base_url=base_url)
    if changed:
        repo.set_system_credentials(rt.db, rt.box, found.id, merged)
    saved = "Saved" + (f" (new {', '.join(sorted(changed))})" if changed else "") + "."
    return see_other(f"/systems/{system_id}?{urlencode({'message': saved})}")


@router.post("/systems/{system_id}/test")
async def test_connection(request: Request, system_id: RecordId, csrf: str = Form("")) -> Any:
    session = writer(request, csrf, "test connections")
    if isinstance(session, Response):
        return session
    if scope_of(session).system(system_id) is None:
        return not_found(f"System {system_id}")
    result = await run_in_threadpool(check_system, system_id)
    outcome = "Connection works" if result.ok else "Connection failed"
    message = f"{outcome}: {result.detail}" + (f" What to do: {result.fix}" if result.fix else "")
    return see_other(f"/systems/{system_id}?{urlencode({'message': message})}")
