"""The Users page: invite by link, change a role, remove someone; one's own API tokens.

Only owners manage users. An owner cannot change or remove themselves here (so an account
always keeps an owner); invitation links and tokens are shown once and stored as digests.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from kobling.engine.runtime import runtime
from kobling.errors import TransferProblem
from kobling.notify import mailer
from kobling.notify.invitations import invitation
from kobling.store import notifications, people
from kobling.web.api import RecordId
from kobling.web.pages import (
    EXPIRED,
    MIN_PASSWORD,
    anonymous_csrf_ok,
    anonymous_form,
    not_found,
    see_other,
    signed_in_or_redirect,
    start_session,
    templates,
)
from kobling.web.security import csrf_ok

router = APIRouter(include_in_schema=False)


def _page(request: Request, session: people.SignedIn, status: int = 200, **context: Any) -> Any:
    db = runtime().db
    values = {
        "person": session.person,
        "csrf": session.csrf_token,
        "users": people.list_users(db, session.person.account_id),
        "roles": people.ROLES,
        "tokens": people.list_api_tokens(db, session.person),
        "mine": _my_prefs(session.person),
        "error_choices": notifications.ERRORS,
        "report_choices": notifications.REPORTS,
        "mail_server": runtime().smtp is not None,
        "message": "",
        **context,
    }
    return templates.TemplateResponse(request, "users.html", values, status_code=status)


def _my_prefs(person: people.Person) -> notifications.Recipient | None:
    found = notifications.recipients(runtime().db, person.account_id)
    return next((r for r in found if r.user_id == person.id), None)


@router.post("/users/me/notifications")
def save_notifications(
    request: Request, errors: str = Form(""), reports: str = Form(""), csrf: str = Form("")
) -> Any:
    """Anyone chooses their own e-mails (read-only people get status reports only)."""
    session = _checked(request, csrf, owner=False)
    if isinstance(session, Response):
        return session
    try:
        notifications.set_prefs(runtime().db, session.person.id, errors, reports)
    except ValueError as error:
        return _page(request, session, 422, message=f"Not saved: {error}.")
    return _page(request, session, message="Your e-mail choices are saved.")


def _checked(request: Request, csrf: str, *, owner: bool) -> people.SignedIn | Response:
    session = signed_in_or_redirect(request)
    if isinstance(session, Response):
        return session
    if not csrf_ok(session.csrf_token, csrf):
        return HTMLResponse(EXPIRED, status_code=400)
    if owner and not session.person.is_owner:
        return HTMLResponse(
            "Only an owner of the account manages its users: ask one of them.", status_code=403
        )
    return session


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, message: str = "") -> Any:
    session = signed_in_or_redirect(request)
    if isinstance(session, Response):
        return session
    return _page(request, session, message=message[:200])


@router.post("/users/invite")
async def invite(
    request: Request, email: str = Form(""), role: str = Form(""), csrf: str = Form("")
) -> Any:
    session = _checked(request, csrf, owner=True)
    if isinstance(session, Response):
        return session
    if "@" not in email or role not in people.ROLES:
        return _page(request, session, 422, message="Enter an e-mail address and a role.")
    secret = people.create_invite(runtime().db, session.person, email, role)
    link = str(request.url_for("invite_form", secret=secret))
    invited = people.normalize_email(email)
    sent = await run_in_threadpool(_mail_invitation, session.person, invited, role, link)
    return _page(request, session, link=link, invited=invited, mailed=sent)


def _mail_invitation(inviter: people.Person, to: str, role: str, link: str) -> str:
    """What became of the e-mail, in words for the page (the link is shown there too)."""
    smtp = runtime().smtp
    if smtp is None:
        return f"Kobling sends no e-mail until a mail server is set: {mailer.ENV_HELP}."
    days = people.INVITE_LIFETIME.days
    message = invitation(smtp, to=to, inviter=inviter.email, role=role, link=link, days=days)
    try:
        mailer.send(smtp, message)
    except TransferProblem as problem:
        return f"The invitation could not be e-mailed: {problem.reason}; {problem.fix}."
    return f"The invitation was e-mailed to {to}."


@router.post("/users/{user_id}/role")
def change_role(
    request: Request, user_id: RecordId, role: str = Form(""), csrf: str = Form("")
) -> Any:
    session = _checked(request, csrf, owner=True)
    if isinstance(session, Response):
        return session
    if user_id == session.person.id or role not in people.ROLES:
        return see_other("/users?message=Choose another user and a role.")
    if not people.set_role(runtime().db, session.person.account_id, user_id, role):
        return not_found(f"User {user_id}")
    return see_other(f"/users?message=Role changed to {role}.")


@router.post("/users/{user_id}/remove")
def remove(request: Request, user_id: RecordId, csrf: str = Form("")) -> Any:
    session = _checked(request, csrf, owner=True)
    if isinstance(session, Response):
        return session
    if user_id == session.person.id:
        return see_other("/users?message=You cannot remove yourself.")
    if not people.remove_user(runtime().db, session.person.account_id, user_id):
        return not_found(f"User {user_id}")
    return see_other("/users?message=User removed; their sessions and tokens ended.")


@router.post("/tokens")
def create_token(request: Request, name: str = Form(""), csrf: str = Form("")) -> Any:
    session = _checked(request, csrf, owner=False)
    if isinstance(session, Response):
        return session
    token = people.create_api_token(runtime().db, session.person, name.strip()[:100] or "token")
    return _page(request, session, new_token=token)


@router.post("/tokens/{token_id}/revoke")
def revoke_token(request: Request, token_id: RecordId, csrf: str = Form("")) -> Any:
    session = _checked(request, csrf, owner=False)
    if isinstance(session, Response):
        return session
    if not people.revoke_api_token(runtime().db, session.person, token_id):
        return not_found(f"Token {token_id}")
    return see_other("/users?message=Token revoked.")


@router.get("/invite/{secret}", response_class=HTMLResponse, name="invite_form")
def invite_form(request: Request, secret: str) -> Any:
    opened = people.open_invite(runtime().db, secret)
    if opened is None:
        return anonymous_form(
            request,
            "invite.html",
            404,
            error="This invitation is unknown, used or expired; ask for a new one.",
        )
    _, email, role = opened
    return anonymous_form(request, "invite.html", email=email, role=role, secret=secret)


@router.post("/invite/{secret}")
def accept(request: Request, secret: str, password: str = Form(""), csrf: str = Form("")) -> Any:
    opened = people.open_invite(runtime().db, secret)
    if opened is None:
        return anonymous_form(
            request,
            "invite.html",
            400,
            error="This invitation was used or expired: ask for a new one.",
        )
    if not anonymous_csrf_ok(request, csrf):
        return anonymous_form(request, "invite.html", 400, error=EXPIRED)
    _, email, role = opened
    if len(password) < MIN_PASSWORD:
        return anonymous_form(
            request,
            "invite.html",
            400,
            error=f"The password needs at least {MIN_PASSWORD} characters.",
            email=email,
            role=role,
            secret=secret,
        )
    person = people.accept_invite(runtime().db, secret, password)
    if person is None:
        return anonymous_form(
            request, "invite.html", 400, error="This invitation was used: sign in instead."
        )
    return start_session(request, person)
