"""Who is asking: a session cookie (dashboard) or a bearer token (API); CSRF; sign-in limits.

Cookies are HttpOnly and SameSite=Lax, and Secure when Kobling is reached over HTTPS (directly
or behind a proxy that says so in ``X-Forwarded-Proto``). Every form that changes something
carries the session's CSRF token, compared in constant time. Failed sign-ins are counted per
e-mail address and per client address: after ``MAX_FAILURES`` within ``FAILURE_WINDOW`` the
sign-in is refused for a while, even with the right password.
"""

from __future__ import annotations

import hmac
from datetime import timedelta

from fastapi import Request

from kobling.engine.runtime import runtime
from kobling.store import people
from kobling.store.models import utcnow
from kobling.web.problems import Problem

SESSION_COOKIE = "kobling_session"
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)


def is_https(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded.split(",")[0].strip() == "https"


def signed_in(request: Request) -> people.SignedIn | None:
    secret = request.cookies.get(SESSION_COOKIE)
    return people.session_user(runtime().db, secret) if secret else None


def api_person(request: Request) -> people.Person:
    """The API caller, from ``Authorization: Bearer <token>``; 401 without a valid one."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(
            401,
            "the API needs an API token",
            fix="create a token in the dashboard (Users → API tokens) or with `kobling users "
            "token EMAIL`, and send it as 'Authorization: Bearer <token>'",
        )
    person = people.token_user(runtime().db, token.strip())
    if person is None:
        raise Problem(401, "the API token is unknown or was revoked", fix="create a new token")
    return person


def require_write(person: people.Person) -> None:
    if not person.can_write:
        raise Problem(403, f"the role {person.role} may look but not change anything")


def csrf_ok(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected, given or "")


def sign_in_blocked(email: str, client: str) -> bool:
    since = utcnow() - FAILURE_WINDOW
    db = runtime().db
    return any(
        people.failed_logins(db, subject, since) >= MAX_FAILURES
        for subject in (f"email:{people.normalize_email(email)}", f"client:{client}")
    )


def note_failed_sign_in(email: str, client: str) -> None:
    people.record_failed_login(
        runtime().db, f"email:{people.normalize_email(email)}", f"client:{client}"
    )
