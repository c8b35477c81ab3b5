"""The dashboard's pages: first sign-up, sign-in, home, a transfer with every stage's data.

Server-rendered (Jinja2). Forms that change something carry a CSRF token: the session's when
signed in, otherwise a double-submit cookie set with the form.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from kobling import __version__
from kobling.domain.serialize import to_jsonable
from kobling.engine import actions
from kobling.engine.runtime import runtime
from kobling.engine.settings import SettingsError, validate_connection_settings
from kobling.store import people
from kobling.store import repository as repo
from kobling.store.scope import AccountScope
from kobling.web.api import RecordId, transfer_row
from kobling.web.forms import parse_settings_form, settings_form
from kobling.web.security import (
    SESSION_COOKIE,
    csrf_ok,
    is_https,
    note_failed_sign_in,
    sign_in_blocked,
    signed_in,
)

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
router = APIRouter(include_in_schema=False)
FORM_CSRF_COOKIE = "kobling_form_csrf"
MIN_PASSWORD = 10
ACTIONS = {"retry": "Retry", "retransfer": "Transfer again", "skip": "Skip"}


EXPIRED = "The form expired or came from another page: reload the page and send it again."


def not_found(what: str) -> HTMLResponse:
    return HTMLResponse(
        f"{what} does not exist in your account: go back to the home page (/) and choose it "
        "from the list.",
        status_code=404,
    )


def refused(what: str) -> HTMLResponse:
    return HTMLResponse(
        f"Your role may not {what}: ask an owner of the account for the member role.",
        status_code=403,
    )


def anonymous_csrf_ok(request: Request, csrf: str) -> bool:
    """The double-submit check of forms sent before signing in."""
    return csrf_ok(request.cookies.get(FORM_CSRF_COOKIE, ""), csrf)


def see_other(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def anonymous_form(request: Request, template: str, status: int = 200, **context: Any) -> Any:
    token = request.cookies.get(FORM_CSRF_COOKIE) or secrets.token_urlsafe(32)
    page = templates.TemplateResponse(
        request, template, {"csrf": token, "person": None, **context}, status_code=status
    )
    page.set_cookie(
        FORM_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=is_https(request)
    )
    return page


def start_session(request: Request, person: people.Person) -> RedirectResponse:
    secret, _ = people.open_session(runtime().db, person)
    response = see_other("/")
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        max_age=int(people.SESSION_LIFETIME.total_seconds()),
    )
    response.delete_cookie(FORM_CSRF_COOKIE)
    return response


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/signup", response_class=HTMLResponse)
def signup_form(request: Request) -> Any:
    if people.count_users(runtime().db):
        return see_other("/login")
    return anonymous_form(request, "signup.html")


@router.post("/signup")
def signup(
    request: Request,
    email: str = Form(""),
    password: str = Form(""),
    csrf: str = Form(""),
) -> Any:
    db = runtime().db
    if people.count_users(db):
        return see_other("/login")
    if not anonymous_csrf_ok(request, csrf):
        return anonymous_form(request, "signup.html", 400, error=EXPIRED, email=email)
    if "@" not in email or len(password) < MIN_PASSWORD:
        return anonymous_form(
            request,
            "signup.html",
            400,
            error=f"Enter an e-mail address and a password of at least {MIN_PASSWORD} characters.",
            email=email,
        )
    account = people.first_account_id(db) or repo.create_account(db, "My shop")
    person = people.create_user(db, account, email, password, "owner")
    return start_session(request, person)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Any:
    if not people.count_users(runtime().db):
        return see_other("/signup")
    return anonymous_form(request, "login.html")


@router.post("/login")
def login(
    request: Request,
    email: str = Form(""),
    password: str = Form(""),
    csrf: str = Form(""),
) -> Any:
    if not anonymous_csrf_ok(request, csrf):
        return anonymous_form(request, "login.html", 400, error=EXPIRED, email=email)
    client = _client(request)
    if sign_in_blocked(email, client):
        return anonymous_form(
            request,
            "login.html",
            429,
            error="Too many failed attempts. Wait 15 minutes, then try again.",
            email=email,
        )
    found = people.user_by_email(runtime().db, email)
    if found is None or not people.password_matches(found[1], password):
        note_failed_sign_in(email, client)
        return anonymous_form(
            request, "login.html", 401, error="Wrong e-mail address or password.", email=email
        )
    return start_session(request, found[0])


@router.post("/logout")
def logout(request: Request, csrf: str = Form("")) -> Any:
    session = signed_in(request)
    secret = request.cookies.get(SESSION_COOKIE)
    if session is not None and secret and csrf_ok(session.csrf_token, csrf):
        people.close_session(runtime().db, secret)
    response = see_other("/login")
    response.delete_cookie(SESSION_COOKIE)
    return response


def signed_in_or_redirect(request: Request) -> people.SignedIn | Response:
    session = signed_in(request)
    if session is not None:
        return session
    if not people.count_users(runtime().db):
        return see_other("/signup")
    return see_other("/login")


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Any:
    session = signed_in_or_redirect(request)
    if isinstance(session, Response):
        return session
    account = AccountScope(runtime().db, session.person.account_id)
    integrations = [
        {
            "name": i.name,
            "active": i.active,
            "start_date": i.start_date,
            "connections": [c for c in account.connections() if c.integration_id == i.id],
        }
        for i in account.integrations()
    ]
    context = {
        "person": session.person,
        "csrf": session.csrf_token,
        "integrations": integrations,
        "transfers": [transfer_row(t) for t in account.transfers(limit=50)],
        "counts": account.outcome_counts(),
        "version": __version__,
    }
    return templates.TemplateResponse(request, "home.html", context)


@router.get("/transfers/{transfer_id}", response_class=HTMLResponse)
def transfer_page(request: Request, transfer_id: RecordId, message: str = "") -> Any:
    session = signed_in_or_redirect(request)
    if isinstance(session, Response):
        return session
    account = AccountScope(runtime().db, session.person.account_id)
    found = account.transfer(transfer_id)
    snapshots = account.snapshots(transfer_id)
    if found is None or snapshots is None:
        return not_found(f"Transfer {transfer_id}")
    shown = [
        {
            "stage": s.stage,
            "created_at": s.created_at,
            "json": json.dumps(to_jsonable(s.data), indent=2, ensure_ascii=False),
        }
        for s in snapshots
    ]
    offered = {
        "held": ("retry", "skip"),
        "failed": ("retry", "skip"),
        "done": ("retransfer",),
    }.get(found.outcome or "", ())
    context = {
        "person": session.person,
        "csrf": session.csrf_token,
        "t": found,
        "snapshots": shown,
        "actions": [(a, ACTIONS[a]) for a in offered],
        "message": message[:200],
    }
    return templates.TemplateResponse(request, "transfer.html", context)


@router.post("/transfers/{transfer_id}/{action}")
async def transfer_action(
    request: Request, transfer_id: RecordId, action: str, csrf: str = Form("")
) -> Any:
    session = signed_in_or_redirect(request)
    if isinstance(session, Response):
        return session
    if not csrf_ok(session.csrf_token, csrf) or action not in ACTIONS:
        return HTMLResponse(EXPIRED, status_code=400)
    if not session.person.can_write:
        return refused("change transfers")
    found = AccountScope(runtime().db, session.person.account_id).transfer(transfer_id)
    if found is None:
        return not_found(f"Transfer {transfer_id}")
    do = {"retry": actions.retry, "retransfer": actions.retransfer, "skip": actions.skip}[action]
    try:
        await run_in_threadpool(do, found, session.person.email)
        message = f"{ACTIONS[action]}: accepted"
    except actions.ActionRefused as refusal:
        message = f"{refusal.reason}; {refusal.fix}"
    return see_other(f"/transfers/{transfer_id}?message={message}")


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
    account = AccountScope(runtime().db, session.person.account_id)
    found = account.connection(connection_id)
    if found is None:
        return not_found(f"Connection {connection_id}")
    source_kind, target_kind = account.connection_kinds(found)
    context = {
        "person": session.person,
        "csrf": session.csrf_token,
        "connection": found,
        "sections": settings_form(source_kind, target_kind, shown or found.settings),
        "saved": saved,
        "problems": problems or [],
    }
    return templates.TemplateResponse(request, "settings.html", context, status_code=status)


@router.post("/connections/{connection_id}/settings")
async def save_settings(request: Request, connection_id: RecordId) -> Any:
    session = signed_in_or_redirect(request)
    if isinstance(session, Response):
        return session
    form = {k: str(v) for k, v in (await request.form()).items()}
    if not csrf_ok(session.csrf_token, form.pop("csrf", "")):
        return HTMLResponse(EXPIRED, status_code=400)
    if not session.person.can_write:
        return refused("change settings")
    account = AccountScope(runtime().db, session.person.account_id)
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
