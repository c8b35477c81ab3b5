"""The application's tables (SQLAlchemy 2 declarative models).

The transfer key is a unique index: it is what makes "the same order arriving three times"
one transfer, whatever races happen between webhook intake and polling. Snapshots are rows
that are only ever inserted, never updated, so the log shows the data exactly as each stage
saw it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store: pass a timezone-aware one")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Account(Base):
    """A tenant: one customer of the platform."""

    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # The plan: orders included per month; None is unlimited (the self-hosted default).
    orders_per_month: Mapped[int | None] = mapped_column(Integer)
    # Past the plan's orders: "continue" (counted as extra orders) or "pause" (held).
    over_limit: Mapped[str] = mapped_column(String(20), default="continue")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Integration(Base):
    """One account's setup of systems and connections."""

    __tablename__ = "integrations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    start_date: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    systems: Mapped[list[System]] = relationship(back_populates="integration")
    connections: Mapped[list[Connection]] = relationship(back_populates="integration")


class System(Base):
    """One connected instance of an external product; credentials are Fernet-encrypted."""

    __tablename__ = "systems"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id"))
    kind: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(200))
    base_url: Mapped[str] = mapped_column(String(500))
    credentials: Mapped[bytes] = mapped_column(LargeBinary)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    integration: Mapped[Integration] = relationship(back_populates="systems")


class Connection(Base):
    """One data flow: entity + source + trigger + target + action + settings."""

    __tablename__ = "connections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id"))
    name: Mapped[str] = mapped_column(String(100), unique=True)
    entity: Mapped[str] = mapped_column(String(30), default="order")
    action: Mapped[str] = mapped_column(String(30), default="invoice")
    source_system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"))
    target_system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    activated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    integration: Mapped[Integration] = relationship(back_populates="connections")
    source_system: Mapped[System] = relationship(foreign_keys=[source_system_id])
    target_system: Mapped[System] = relationship(foreign_keys=[target_system_id])


class Transfer(Base):
    """Carrying one source object, for one purpose, through one connection."""

    __tablename__ = "transfers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id"), index=True)
    object_type: Mapped[str] = mapped_column(String(30))
    # Source ids are strings: Shopify ids exceed 2^53 and must never pass through a float.
    source_id: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[str] = mapped_column(String(100))
    source_number: Mapped[str] = mapped_column(String(100), default="")
    source_status: Mapped[str] = mapped_column(String(50), default="")
    # new → queued → running → settled; ``outcome`` says how it settled.
    state: Mapped[str] = mapped_column(String(20), default="new")
    outcome: Mapped[str | None] = mapped_column(String(20))
    stage: Mapped[str] = mapped_column(String(40), default="received")
    reason: Mapped[str] = mapped_column(Text, default="")
    fix: Mapped[str] = mapped_column(Text, default="")
    # The code of the problem a held or failed transfer met ("401", "connect", ...): what
    # alerts are raised from. Empty when done.
    problem_code: Mapped[str] = mapped_column(String(40), default="")
    target_document_id: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The DBOS workflow id of the current attempt: the transfer key for the first attempt,
    # key#<content hash> for a retry after the source data changed.
    workflow_id: Mapped[str | None] = mapped_column(String(320))
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    # What the document in the target was made from (Order.document_hash), to notice edits
    # after the transfer; "cancelled:<hash>" once a cancellation after booking was handled.
    document_hash: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime(), default=utcnow, onupdate=utcnow, index=True
    )
    snapshots: Mapped[list[Snapshot]] = relationship(
        back_populates="transfer", order_by="Snapshot.id"
    )


class Snapshot(Base):
    """The dataset of one stage of a transfer. Inserted once, never updated."""

    __tablename__ = "snapshots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers.id"), index=True)
    stage: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    transfer: Mapped[Transfer] = relationship(back_populates="snapshots")


class Receipt(Base):
    """One inbound webhook delivery, stored raw before anything else happens."""

    __tablename__ = "receipts"
    __table_args__ = (UniqueConstraint("connection_id", "delivery_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id"))
    delivery_key: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(100), default="")
    object_id: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text, default="")
    headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Binding(Base):
    """A source customer/product known under a number in a target system."""

    __tablename__ = "bindings"
    __table_args__ = (UniqueConstraint("target_system_id", "kind", "source_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"))
    kind: Mapped[str] = mapped_column(String(30))
    source_key: Mapped[str] = mapped_column(String(300))
    target_key: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class PollCursor(Base):
    """Where the last successful poll window of a connection started."""

    __tablename__ = "poll_cursors"
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id"), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UtcDateTime())
    polls: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


Index("ix_transfers_outcome", Transfer.connection_id, Transfer.outcome)


# -- accounts and their people ---------------------------------------------------------------
# Secrets (session ids, invite links, API tokens) are stored as SHA-256 digests only: a copy
# of the database does not let anyone in. Passwords are argon2 hashes (web/security.py).


class User(Base):
    """A person who signs in; belongs to one account with one role."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # owner | member | read_only
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class WebSession(Base):
    """A signed-in browser: the cookie carries the secret, the row its digest."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Invite(Base):
    """An invitation by e-mail link to join an account with a role."""

    __tablename__ = "invites"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ApiToken(Base):
    """A bearer token for the REST API, acting as its user (and so within its account)."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # shown in lists, never the whole token
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class LoginAttempt(Base):
    """A failed sign-in, kept for rate limiting by e-mail address and by client address."""

    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(400), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


# -- health of systems and connections (shown in the dashboard) ------------------------------


class SystemCheck(Base):
    """The latest "test connection" of a system: one cheap authenticated read."""

    __tablename__ = "system_checks"
    system_id: Mapped[int] = mapped_column(
        ForeignKey("systems.id"), primary_key=True, autoincrement=False
    )
    ok: Mapped[bool] = mapped_column(Boolean)
    code: Mapped[str] = mapped_column(String(40), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    fix: Mapped[str] = mapped_column(Text, default="")
    checked_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class WebhookCheck(Base):
    """What the latest look at a connection's webhooks in the shop found.

    ``hooks`` lists each topic with what was done (present, created, reactivated). A shop that
    disabled a webhook (WooCommerce does after failed deliveries) is remembered in
    ``disabled_at``/``disabled_detail`` after the webhook was re-enabled, so the dashboard can
    say it happened.
    """

    __tablename__ = "webhook_checks"
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id"), primary_key=True)
    hooks: Mapped[list[Any]] = mapped_column(JSON, default=list)
    error: Mapped[str] = mapped_column(Text, default="")
    checked_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    disabled_detail: Mapped[str] = mapped_column(Text, default="")


class UsageRecord(Base):
    """One order transferred: counted once per transfer key, whatever retries follow.

    Extra orders are not marked here but computed per month (orders beyond the plan), so
    concurrent transfers can never both claim the last included order.
    """

    __tablename__ = "usage_records"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    transfer_key: Mapped[str] = mapped_column(String(300), unique=True)
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM, UTC
    origin: Mapped[str] = mapped_column(String(20), default="live")  # live | backfill
    counted_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


Index("ix_usage_records_account_month", UsageRecord.account_id, UsageRecord.month)


class Backfill(Base):
    """An import of previous orders: which orders, how far it got, running or paused.

    The shop's order ids are listed once when the backfill is created, so orders changed while
    it runs are neither skipped nor imported twice; ``cursor`` is how many were handed to
    intake. Intake deduplicates by transfer key, so running a finished backfill again creates
    nothing.
    """

    __tablename__ = "backfills"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id"), index=True)
    since: Mapped[datetime] = mapped_column(UtcDateTime())
    from_number: Mapped[str] = mapped_column(String(100), default="")
    order_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    cursor: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(20), default="running")  # running|paused|finished
    requested_by: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class NotificationPrefs(Base):
    """What a person is e-mailed, and when they last were."""

    __tablename__ = "notification_prefs"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    # Errors: off, immediate, hourly or daily; status reports: off, daily or weekly.
    errors: Mapped[str] = mapped_column(String(20), default="immediate")
    reports: Mapped[str] = mapped_column(String(20), default="off")
    errors_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    report_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Alert(Base):
    """One cause that needs a person (rejected credentials, an unreachable system, ...).

    At most one open alert per account and cause: it is mailed once, and a new alert for the
    same cause can only open after this one was resolved.
    """

    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    cause: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    detail: Mapped[str] = mapped_column(Text, default="")
    fix: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(300), default="/")
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    mailed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ReconciliationRun(Base):
    """The result of one reconciliation of a connection (scheduled or asked for)."""

    __tablename__ = "reconciliation_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id"), index=True)
    start: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD
    end: Mapped[str] = mapped_column(String(10))
    checked: Mapped[int] = mapped_column(Integer, default=0)
    missing: Mapped[int] = mapped_column(Integer, default=0)
    duplicated: Mapped[int] = mapped_column(Integer, default=0)
    mismatched: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    ran_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class CallBudget(Base):
    """The next free moment to call one target system, shared by every worker process.

    A "next free slot" (GCRA) limiter: each call takes the slot ``max(now, next_slot)`` and moves
    ``next_slot`` one interval on, in one atomic UPDATE (see :mod:`kobling.store.call_budgets`).
    Microseconds since the Unix epoch, as an integer, so the spacing never drifts by rounding.
    """

    __tablename__ = "call_budgets"
    system_id: Mapped[int] = mapped_column(
        ForeignKey("systems.id"), primary_key=True, autoincrement=False
    )
    next_slot_us: Mapped[int] = mapped_column(BigInteger, default=0)


class WriteAttempt(Base):
    """A write to a target that a transfer has tried at least once (document, booking, payment).

    Recorded, and committed, before the request is sent. A step that finds its own record has
    run before, so the outcome of that earlier request is uncertain (a lost response, a crash)
    and it looks the document up by reference first; a step without one knows nothing can
    exist yet and saves the lookup (docs/architecture.md, "Calls per order").
    """

    __tablename__ = "write_attempts"
    transfer_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    action: Mapped[str] = mapped_column(String(40), primary_key=True)
    first_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Worker(Base):
    """A process running the engine under an executor id, and when it was last seen alive.

    DBOS recovers a process's unfinished workflows when a process with the same executor id
    starts; two live processes sharing one id would each recover the other's work. So a process
    claims its id here at start and refuses it while another live process holds it.
    """

    __tablename__ = "workers"
    executor_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(20))  # "worker", "web" or "web+worker"
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class Mark(Base):
    """A named moment the store keeps, e.g. ``restored``: when the database was restored."""

    __tablename__ = "marks"
    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class PollLease(Base):
    """Which poll of a connection runs now (its workflow id), and until when at most.

    Polls are scheduled every few minutes; one that takes longer (a large shop, a re-read of
    61 days) must not be joined by the next, which would read and queue the same orders again.
    """

    __tablename__ = "poll_leases"
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id"), primary_key=True)
    holder: Mapped[str] = mapped_column(String(320))
    until: Mapped[datetime] = mapped_column(UtcDateTime())
