"""Users, sign-in sessions, invites, API tokens and failed sign-ins: every query here.

Secrets are handed out once and stored as SHA-256 digests; a password only as an argon2 hash
(``hash_password``). Roles: ``owner`` (everything, users included), ``member`` (systems,
connections, transfers), ``read_only`` (looks).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update

from kobling.store.database import Database
from kobling.store.models import (
    Account,
    ApiToken,
    Invite,
    LoginAttempt,
    User,
    WebSession,
    utcnow,
)

ROLES = ("owner", "member", "read_only")
SESSION_LIFETIME = timedelta(days=14)
INVITE_LIFETIME = timedelta(days=7)
_hasher = PasswordHasher()


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Person:
    """A signed-in user as the web layer sees them (never the password hash)."""

    id: int
    account_id: int
    email: str
    role: str

    @property
    def can_write(self) -> bool:
        return self.role in ("owner", "member")

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"


def _person(user: User) -> Person:
    return Person(user.id, user.account_id, user.email, user.role)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def count_users(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(User)) or 0)


def create_user(db: Database, account_id: int, email: str, password: str, role: str) -> Person:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    with db.session() as s:
        user = User(
            account_id=account_id,
            email=normalize_email(email),
            password_hash=hash_password(password),
            role=role,
            active=True,
        )
        s.add(user)
        s.flush()
        return _person(user)


def first_account_id(db: Database) -> int | None:
    """The account the first user of a fresh install owns (the sandbox's, if there is one)."""
    with db.session() as s:
        return s.scalar(select(Account.id).order_by(Account.id).limit(1))


def user_by_email(db: Database, email: str) -> tuple[Person, str] | None:
    """The active user with this e-mail and their password hash (for checking a sign-in)."""
    with db.session() as s:
        user = s.scalar(
            select(User).where(User.email == normalize_email(email), User.active.is_(True))
        )
        return (_person(user), user.password_hash) if user else None


def list_users(db: Database, account_id: int) -> list[Person]:
    with db.session() as s:
        rows = s.scalars(
            select(User)
            .where(User.account_id == account_id, User.active.is_(True))
            .order_by(User.id)
        )
        return [_person(u) for u in rows]


def set_role(db: Database, account_id: int, user_id: int, role: str) -> bool:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    with db.session() as s:
        done = s.execute(
            update(User).where(User.id == user_id, User.account_id == account_id).values(role=role)
        )
        return bool(done.rowcount)  # type: ignore[attr-defined]


def remove_user(db: Database, account_id: int, user_id: int) -> bool:
    """Deactivate a user of the account and end their sessions and tokens."""
    with db.session() as s:
        done = s.execute(
            update(User)
            .where(User.id == user_id, User.account_id == account_id)
            .values(active=False)
        )
        if not done.rowcount:  # type: ignore[attr-defined]
            return False
        s.execute(delete(WebSession).where(WebSession.user_id == user_id))
        s.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        return True


# -- sessions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    person: Person
    csrf_token: str


def open_session(db: Database, person: Person) -> tuple[str, str]:
    """A new session: (cookie secret, CSRF token). Only the secret's digest is stored."""
    secret = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    with db.session() as s:
        s.add(
            WebSession(
                token_hash=digest(secret),
                user_id=person.id,
                csrf_token=csrf,
                expires_at=utcnow() + SESSION_LIFETIME,
            )
        )
    return secret, csrf


def session_user(db: Database, secret: str) -> SignedIn | None:
    with db.session() as s:
        row = s.execute(
            select(WebSession, User)
            .join(User, User.id == WebSession.user_id)
            .where(
                WebSession.token_hash == digest(secret),
                WebSession.expires_at > utcnow(),
                User.active.is_(True),
            )
        ).first()
        if row is None:
            return None
        session, user = row
        return SignedIn(_person(user), session.csrf_token)


def close_session(db: Database, secret: str) -> None:
    with db.session() as s:
        s.execute(delete(WebSession).where(WebSession.token_hash == digest(secret)))


# -- failed sign-ins ---------------------------------------------------------------------------


def record_failed_login(db: Database, *subjects: str) -> None:
    with db.session() as s:
        for subject in subjects:
            s.add(LoginAttempt(subject=subject[:400]))


def failed_logins(db: Database, subject: str, since: datetime) -> int:
    with db.session() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(LoginAttempt)
                .where(LoginAttempt.subject == subject[:400], LoginAttempt.at > since)
            )
            or 0
        )


def clear_failed_logins(db: Database, subject: str) -> None:
    with db.session() as s:
        s.execute(delete(LoginAttempt).where(LoginAttempt.subject == subject[:400]))


# -- invites -----------------------------------------------------------------------------------


def create_invite(db: Database, inviter: Person, email: str, role: str) -> str:
    """An invitation link's secret (shown once, sent by e-mail)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    secret = secrets.token_urlsafe(32)
    with db.session() as s:
        s.add(
            Invite(
                account_id=inviter.account_id,
                email=normalize_email(email),
                role=role,
                token_hash=digest(secret),
                invited_by=inviter.id,
                expires_at=utcnow() + INVITE_LIFETIME,
            )
        )
    return secret


def open_invite(db: Database, secret: str) -> tuple[int, str, str] | None:
    """(account id, e-mail, role) of a valid, unused invitation."""
    with db.session() as s:
        invite = s.scalar(
            select(Invite).where(
                Invite.token_hash == digest(secret),
                Invite.accepted_at.is_(None),
                Invite.expires_at > utcnow(),
            )
        )
        return (invite.account_id, invite.email, invite.role) if invite else None


def accept_invite(db: Database, secret: str, password: str) -> Person | None:
    opened = open_invite(db, secret)
    if opened is None:
        return None
    account_id, email, role = opened
    with db.session() as s:
        s.execute(
            update(Invite).where(Invite.token_hash == digest(secret)).values(accepted_at=utcnow())
        )
    return create_user(db, account_id, email, password, role)


# -- API tokens --------------------------------------------------------------------------------


def create_api_token(db: Database, person: Person, name: str) -> str:
    secret = "kob_" + secrets.token_urlsafe(32)
    with db.session() as s:
        s.add(ApiToken(user_id=person.id, name=name, token_hash=digest(secret), prefix=secret[:8]))
    return secret


def token_user(db: Database, secret: str) -> Person | None:
    with db.session() as s:
        row = s.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(
                ApiToken.token_hash == digest(secret),
                ApiToken.revoked_at.is_(None),
                User.active.is_(True),
            )
        ).first()
        if row is None:
            return None
        token, user = row
        token.last_used_at = utcnow()
        return _person(user)


@dataclass(frozen=True)
class TokenInfo:
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None


def list_api_tokens(db: Database, person: Person) -> list[TokenInfo]:
    with db.session() as s:
        rows = s.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == person.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.id)
        )
        return [TokenInfo(t.id, t.name, t.prefix, t.created_at, t.last_used_at) for t in rows]


def revoke_api_token(db: Database, person: Person, token_id: int) -> bool:
    with db.session() as s:
        done = s.execute(
            update(ApiToken)
            .where(
                ApiToken.id == token_id,
                ApiToken.user_id == person.id,
                ApiToken.revoked_at.is_(None),
            )
            .values(revoked_at=utcnow())
        )
        return bool(done.rowcount)  # type: ignore[attr-defined]
