"""Signing up, in and out, and what every dashboard page shares.

The dashboard is server-rendered (Jinja2, with htmx for the parts that update themselves).
Forms that change something carry a CSRF token: the session's when signed in, otherwise a
double-submit cookie set with the form. The pages themselves live beside this module, one per
part of the dashboard: home, log (transfers), systems, connections, people.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from kobling.engine.runtime import runtime
from kobling.store import people
from kobling.store import repository as repo
from kobling.store.scope import AccountScope
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


def page(
    request: Request,
    session: people.SignedIn,
    template: str,
    status: int = 200,
    **context: Any,
) -> Any:
    """Render a signed-in page; every page knows who is signed in and the form token."""
    values = {"person": session.person, "csrf": session.csrf_token, **context}
    return templates.TemplateResponse(request, template, values, status_code=status)


def writer(request: Request, csrf: str, what: str) -> people.SignedIn | Response:
    """The session of a signed-in person allowed to ``what``, for a form that changes data."""
    session = signed_in_or_redirect(request)
    if isinstance(session, Response):
        return session
    if not csrf_ok(session.csrf_token, csrf):
        return HTMLResponse(EXPIRED, status_code=400)
    if not session.person.can_write:
        return refused(what)
    return session


def scope_of(session: people.SignedIn) -> AccountScope:
    return AccountScope(runtime().db, session.person.account_id)


def engine_stopped(command: str) -> HTMLResponse | None:
    """None when the engine runs in this process; else a 409 page naming what to do."""
    if runtime().launched:
        return None
    return HTMLResponse(
        "The engine is not running in this process: start Kobling with `kobling run`, or use "
        f"`{command}` on the command line.",
        status_code=409,
    )
