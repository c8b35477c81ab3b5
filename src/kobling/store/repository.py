"""All reads and writes of the application data. SQL lives here and nowhere else.

Functions take a ``Database`` and return plain values or detached ORM rows, so callers in
the engine and the web layer never hold a session across a network call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from kobling.store import usage
from kobling.store.crypto import CredentialBox
from kobling.store.database import Database
from kobling.store.models import (
    Account,
    Binding,
    Connection,
    Integration,
    PollCursor,
    Receipt,
    Snapshot,
    System,
    Transfer,
    utcnow,
)

TERMINAL_OUTCOMES = ("done", "skipped", "held", "failed")


@dataclass(frozen=True)
class SystemConfig:
    """A system with its credentials opened, for a connector to use (never logged)."""

    id: int
    kind: str
    name: str
    base_url: str
    credentials: dict[str, Any]
    settings: dict[str, Any]

    def __repr__(self) -> str:
        return f"SystemConfig(id={self.id}, kind={self.kind!r}, name={self.name!r})"


@dataclass(frozen=True)
class ConnectionConfig:
    """Everything the engine needs to run one connection."""

    id: int
    name: str
    integration_id: int
    integration_active: bool
    active: bool
    entity: str
    action: str
    start_date: datetime | None
    activated_at: datetime | None
    settings: dict[str, Any]
    source: SystemConfig
    target: SystemConfig


# -- set-up -------------------------------------------------------------------------------


def create_account(db: Database, name: str) -> int:
    with db.session() as s:
        account = Account(name=name)
        s.add(account)
        s.flush()
        return account.id


def create_integration(
    db: Database, account_id: int, name: str, *, start_date: datetime | None, active: bool = True
) -> int:
    with db.session() as s:
        integration = Integration(
            account_id=account_id, name=name, start_date=start_date, active=active
        )
        s.add(integration)
        s.flush()
        return integration.id


def add_system(
    db: Database,
    box: CredentialBox,
    *,
    integration_id: int,
    kind: str,
    name: str,
    base_url: str,
    credentials: dict[str, Any],
    settings: dict[str, Any] | None = None,
) -> int:
    with db.session() as s:
        system = System(
            integration_id=integration_id,
            kind=kind,
            name=name,
            base_url=base_url,
            credentials=box.seal(credentials),
            settings=settings or {},
        )
        s.add(system)
        s.flush()
        return system.id


def add_connection(
    db: Database,
    *,
    integration_id: int,
    name: str,
    source_system_id: int,
    target_system_id: int,
    settings: dict[str, Any],
    entity: str = "order",
    action: str = "invoice",
    activated_at: datetime | None = None,
) -> int:
    with db.session() as s:
        connection = Connection(
            integration_id=integration_id,
            name=name,
            entity=entity,
            action=action,
            source_system_id=source_system_id,
            target_system_id=target_system_id,
            settings=settings,
            activated_at=activated_at or utcnow(),
        )
        s.add(connection)
        s.flush()
        return connection.id


def update_system_base_url(db: Database, system_id: int, base_url: str) -> None:
    with db.session() as s:
        s.execute(update(System).where(System.id == system_id).values(base_url=base_url))


def count_integrations(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Integration)) or 0)


def list_integrations(db: Database) -> list[dict[str, Any]]:
    with db.session() as s:
        rows = s.scalars(select(Integration).order_by(Integration.id)).all()
        return [
            {
                "id": i.id,
                "name": i.name,
                "active": i.active,
                "start_date": i.start_date,
                "connections": [
                    {"id": c.id, "name": c.name, "entity": c.entity, "active": c.active}
                    for c in i.connections
                ],
            }
            for i in rows
        ]


def _system_config(box: CredentialBox, system: System) -> SystemConfig:
    return SystemConfig(
        id=system.id,
        kind=system.kind,
        name=system.name,
        base_url=system.base_url,
        credentials=box.open(system.credentials),
        settings=dict(system.settings or {}),
    )


def load_system(db: Database, box: CredentialBox, system_id: int) -> SystemConfig:
    """A system with its credentials opened, and the settings its connections give it.

    A connector's checks may need the settings a connection has for it (e.g. which
    database); they are taken from the first connection that uses the system.
    """
    with db.session() as s:
        system = s.get(System, system_id)
        if system is None:
            raise LookupError(f"system {system_id} does not exist")
        config = _system_config(box, system)
        used = s.scalars(
            select(Connection)
            .where(
                (Connection.source_system_id == system_id)
                | (Connection.target_system_id == system_id)
            )
            .order_by(Connection.id)
        ).first()
    if used is not None:
        role = "source" if used.source_system_id == system_id else "target"
        settings = dict((used.settings or {}).get(role, {}))
        return replace(config, settings={**config.settings, **settings})
    return config


def load_connection(db: Database, box: CredentialBox, connection_id: int) -> ConnectionConfig:
    """The connection with its integration and both systems, in one query: every step of a
    transfer loads it (a lazy load per relation made it four)."""
    with db.session() as s:
        c = s.scalar(
            select(Connection)
            .where(Connection.id == connection_id)
            .options(
                joinedload(Connection.integration),
                joinedload(Connection.source_system),
                joinedload(Connection.target_system),
            )
        )
        if c is None:
            raise LookupError(f"connection {connection_id} does not exist")
        return ConnectionConfig(
            id=c.id,
            name=c.name,
            integration_id=c.integration_id,
            integration_active=c.integration.active,
            active=c.active,
            entity=c.entity,
            action=c.action,
            start_date=c.integration.start_date or c.activated_at,
            activated_at=c.activated_at,
            settings=dict(c.settings or {}),
            source=_system_config(box, c.source_system),
            target=_system_config(box, c.target_system),
        )


def find_connection_id(db: Database, name: str) -> int | None:
    with db.session() as s:
        return s.scalar(select(Connection.id).where(Connection.name == name))


def account_ids(db: Database) -> list[int]:
    with db.session() as s:
        return list(s.scalars(select(Account.id).order_by(Account.id)))


def account_of_connection(db: Database, connection_id: int) -> int:
    with db.session() as s:
        account_id = s.scalar(
            select(Integration.account_id)
            .join(Connection, Connection.integration_id == Integration.id)
            .where(Connection.id == connection_id)
        )
    if account_id is None:
        raise LookupError(f"connection {connection_id} does not exist")
    return int(account_id)


def connection_names(db: Database) -> list[str]:
    with db.session() as s:
        return list(s.scalars(select(Connection.name).order_by(Connection.name)))


def connection_ids(db: Database) -> list[int]:
    with db.session() as s:
        return list(s.scalars(select(Connection.id).order_by(Connection.id)))


def active_connection_ids(db: Database) -> list[int]:
    with db.session() as s:
        rows = s.execute(
            select(Connection.id)
            .join(Integration, Integration.id == Connection.integration_id)
            .where(Connection.active.is_(True), Integration.active.is_(True))
            .order_by(Connection.id)
        )
        return [row[0] for row in rows]


# -- transfers ----------------------------------------------------------------------------


def transfer_key(connection_id: int, object_type: str, source_id: str, purpose: str) -> str:
    """The transfer key ``(connection, object type, source id, purpose)`` as one string."""
    return f"{connection_id}:{object_type}:{source_id}:{purpose}"


def claim_transfer(
    db: Database,
    *,
    connection_id: int,
    object_type: str,
    source_id: str,
    purpose: str,
    source_number: str = "",
) -> Transfer:
    """Return the transfer for this key, creating it if it does not exist yet.

    Two intakes racing on the same order both reach here; the unique index lets exactly one
    insert win and the other reads the winner's row.
    """
    key = transfer_key(connection_id, object_type, source_id, purpose)
    for _ in range(3):
        with db.session() as s:
            existing = s.scalar(select(Transfer).where(Transfer.key == key))
            if existing is not None:
                return existing
        try:
            with db.session() as s:
                row = Transfer(
                    key=key,
                    connection_id=connection_id,
                    object_type=object_type,
                    source_id=source_id,
                    purpose=purpose,
                    source_number=source_number,
                )
                s.add(row)
                s.flush()
                return row
        except IntegrityError:
            continue
    raise RuntimeError(f"could not claim transfer {key}")


def get_transfer(db: Database, key: str) -> Transfer | None:
    with db.session() as s:
        return s.scalar(select(Transfer).where(Transfer.key == key))


def update_transfer(db: Database, key: str, **values: Any) -> None:
    with db.session() as s:
        s.execute(update(Transfer).where(Transfer.key == key).values(**values))


def add_snapshot(db: Database, key: str, stage: str, data: dict[str, Any]) -> None:
    """Insert the dataset of one stage; also moves the transfer's current stage."""
    # Two Core statements without an ORM session: a transfer writes a dozen snapshots, and
    # the session's select, flush and update made this a tenth of a transfer's CPU time.
    with db.engine.begin() as conn:
        transfer_id = conn.scalar(
            update(Transfer).where(Transfer.key == key).values(stage=stage).returning(Transfer.id)
        )
        if transfer_id is None:
            raise LookupError(f"no transfer {key}")
        conn.execute(insert(Snapshot).values(transfer_id=transfer_id, stage=stage, data=data))


def list_transfers(
    db: Database, *, limit: int = 50, connection_id: int | None = None, outcome: str | None = None
) -> list[Transfer]:
    with db.session() as s:
        query = select(Transfer).order_by(Transfer.updated_at.desc(), Transfer.id.desc())
        if connection_id is not None:
            query = query.where(Transfer.connection_id == connection_id)
        if outcome is not None:
            query = query.where(Transfer.outcome == outcome)
        return list(s.scalars(query.limit(limit)).all())


def transfer_with_snapshots(db: Database, ident: str) -> tuple[Transfer, list[Snapshot]] | None:
    """Find a transfer by id or key, with its snapshots in order."""
    with db.session() as s:
        query = select(Transfer)
        query = (
            query.where(Transfer.id == int(ident))
            if ident.isdigit()
            else query.where(Transfer.key == ident)
        )
        transfer = s.scalar(query)
        if transfer is None:
            return None
        snaps = list(
            s.scalars(
                select(Snapshot).where(Snapshot.transfer_id == transfer.id).order_by(Snapshot.id)
            )
        )
        return transfer, snaps


def transfer_by_number(
    db: Database, connection_id: int, source_number: str, purpose: str = "invoice"
) -> Transfer | None:
    """The newest transfer of an order of a connection, found by the number the shop shows."""
    with db.session() as s:
        return s.scalar(
            select(Transfer)
            .where(
                Transfer.connection_id == connection_id,
                Transfer.object_type == "order",
                Transfer.source_number == source_number,
                Transfer.purpose == purpose,
            )
            .order_by(Transfer.id.desc())
            .limit(1)
        )


def outcome_counts(db: Database, connection_id: int | None = None) -> dict[str, int]:
    with db.session() as s:
        query = select(Transfer.outcome, func.count()).group_by(Transfer.outcome)
        if connection_id is not None:
            query = query.where(Transfer.connection_id == connection_id)
        return {str(outcome): int(n) for outcome, n in s.execute(query)}


def skip_reasons(db: Database, connection_id: int) -> dict[str, int]:
    with db.session() as s:
        query = (
            select(Transfer.reason, func.count())
            .where(Transfer.connection_id == connection_id, Transfer.outcome == "skipped")
            .group_by(Transfer.reason)
        )
        return {str(reason): int(n) for reason, n in s.execute(query)}


# -- receipts -----------------------------------------------------------------------------


def store_receipt(
    db: Database,
    *,
    connection_id: int,
    delivery_key: str,
    status: str,
    body: bytes,
    headers: dict[str, str],
    topic: str = "",
    object_id: str | None = None,
    detail: str = "",
) -> tuple[int, bool]:
    """Store a delivery; returns ``(receipt id, is_new)``. A repeated delivery id is not new."""
    try:
        with db.session() as s:
            receipt = Receipt(
                connection_id=connection_id,
                delivery_key=delivery_key,
                status=status,
                body=body,
                headers=headers,
                topic=topic,
                object_id=object_id,
                detail=detail,
            )
            s.add(receipt)
            s.flush()
            return receipt.id, True
    except IntegrityError:
        with db.session() as s:
            existing = s.scalar(
                select(Receipt.id).where(
                    Receipt.connection_id == connection_id, Receipt.delivery_key == delivery_key
                )
            )
            assert existing is not None
            return existing, False


def list_receipts(db: Database, connection_id: int) -> list[Receipt]:
    with db.session() as s:
        return list(
            s.scalars(
                select(Receipt).where(Receipt.connection_id == connection_id).order_by(Receipt.id)
            )
        )


# -- bindings and cursors -----------------------------------------------------------------


def get_binding(db: Database, target_system_id: int, kind: str, source_key: str) -> str | None:
    with db.session() as s:
        return s.scalar(
            select(Binding.target_key).where(
                Binding.target_system_id == target_system_id,
                Binding.kind == kind,
                Binding.source_key == source_key,
            )
        )


def put_binding(
    db: Database, target_system_id: int, kind: str, source_key: str, target_key: str
) -> None:
    try:
        with db.session() as s:
            s.add(
                Binding(
                    target_system_id=target_system_id,
                    kind=kind,
                    source_key=source_key,
                    target_key=target_key,
                )
            )
    except IntegrityError:
        with db.session() as s:
            s.execute(
                update(Binding)
                .where(
                    Binding.target_system_id == target_system_id,
                    Binding.kind == kind,
                    Binding.source_key == source_key,
                )
                .values(target_key=target_key)
            )


def get_poll_cursor(db: Database, connection_id: int) -> datetime | None:
    with db.session() as s:
        cursor = s.get(PollCursor, connection_id)
        return cursor.window_start if cursor else None


def set_poll_cursor(db: Database, connection_id: int, window_start: datetime) -> None:
    with db.session() as s:
        cursor = s.get(PollCursor, connection_id)
        if cursor is None:
            s.add(PollCursor(connection_id=connection_id, window_start=window_start, polls=1))
        else:
            cursor.window_start = window_start
            cursor.polls += 1


# -- transfer state transitions -------------------------------------------------------------
# Each transition is one conditional UPDATE, so racing intakes and workflows can never move a
# settled transfer backwards (a stale "pending" payload must not overwrite a booked invoice).


def mark_skipped(db: Database, key: str, reason: str, content_hash: str) -> bool:
    with db.session() as s:
        result = s.execute(
            update(Transfer)
            .where(
                Transfer.key == key,
                Transfer.state.in_(("new", "settled")),
                (Transfer.outcome.is_(None)) | (Transfer.outcome == "skipped"),
            )
            .values(
                state="settled",
                outcome="skipped",
                reason=reason,
                fix="",
                content_hash=content_hash,
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_queued(
    db: Database, key: str, workflow_id: str, content_hash: str, document_hash: str = ""
) -> bool:
    """Claim the start of an attempt; only one caller can win it."""
    with db.session() as s:
        result = s.execute(
            update(Transfer)
            .where(
                Transfer.key == key,
                Transfer.state.in_(("new", "settled")),
                (Transfer.outcome.is_(None))
                | (Transfer.outcome.in_(("skipped", "held", "failed"))),
            )
            .values(
                state="queued",
                outcome=None,
                reason="",
                fix="",
                workflow_id=workflow_id,
                content_hash=content_hash,
                document_hash=document_hash,
                attempts=Transfer.attempts + 1,
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_running(db: Database, key: str) -> None:
    update_transfer(db, key, state="running")


def settle(
    db: Database,
    key: str,
    outcome: str,
    *,
    reason: str = "",
    fix: str = "",
    target_document_id: str | None = None,
    code: str = "",
) -> None:
    """Settle a transfer; a done order is counted against the plan in the same transaction."""
    values: dict[str, Any] = {
        "state": "settled",
        "outcome": outcome,
        "reason": reason,
        "fix": fix,
        "problem_code": "" if outcome == "done" else code,
    }
    if target_document_id is not None:
        values["target_document_id"] = target_document_id
    with db.session() as s:
        s.execute(update(Transfer).where(Transfer.key == key).values(**values))
        if outcome == "done":
            transfer = s.scalar(select(Transfer).where(Transfer.key == key))
            if transfer is not None:
                usage.count_done_order(s, transfer)


def unsettled_count(db: Database, connection_id: int) -> int:
    with db.session() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(Transfer)
                .where(Transfer.connection_id == connection_id, Transfer.state != "settled")
            )
            or 0
        )


def transfer_count(db: Database, connection_id: int) -> int:
    with db.session() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(Transfer)
                .where(Transfer.connection_id == connection_id)
            )
            or 0
        )


def next_source_id(db: Database, connection_id: int, floor: int) -> int:
    """One more than the largest numeric source id seen on a connection (at least ``floor``)."""
    with db.session() as s:
        ids = s.scalars(select(Transfer.source_id).where(Transfer.connection_id == connection_id))
        numbers = [int(i) for i in ids if i.isdigit()]
    return max([floor - 1, *numbers]) + 1


def update_connection_settings(db: Database, connection_id: int, settings: dict[str, Any]) -> None:
    """Replace a connection's settings (callers validate them first)."""
    with db.session() as s:
        s.execute(
            update(Connection).where(Connection.id == connection_id).values(settings=settings)
        )


def set_document_hash(db: Database, key: str, document_hash: str) -> None:
    update_transfer(db, key, document_hash=document_hash)


def claim_amendment(db: Database, key: str, seen: str, new: str) -> bool:
    """Claim the handling of a change after transfer; exactly one intake wins it."""
    with db.session() as s:
        result = s.execute(
            update(Transfer)
            .where(Transfer.key == key, Transfer.document_hash == seen)
            .values(document_hash=new)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def latest_snapshot(db: Database, key: str, stage: str) -> dict[str, Any] | None:
    with db.session() as s:
        transfer_id = s.scalar(select(Transfer.id).where(Transfer.key == key))
        data = s.scalar(
            select(Snapshot.data)
            .where(Snapshot.transfer_id == transfer_id, Snapshot.stage == stage)
            .order_by(Snapshot.id.desc())
            .limit(1)
        )
        return dict(data) if data is not None else None


def delete_binding(db: Database, target_system_id: int, kind: str, source_key: str) -> None:
    with db.session() as s:
        s.execute(
            delete(Binding).where(
                Binding.target_system_id == target_system_id,
                Binding.kind == kind,
                Binding.source_key == source_key,
            )
        )


def poll_count(db: Database, connection_id: int) -> int:
    """How many polls of a connection have completed."""
    with db.session() as s:
        cursor = s.get(PollCursor, connection_id)
        return cursor.polls if cursor else 0


def set_system_credentials(
    db: Database, box: CredentialBox, system_id: int, credentials: dict[str, Any]
) -> None:
    """Replace a system's credentials (sealed; they are never read back out by the web)."""
    with db.session() as s:
        s.execute(
            update(System).where(System.id == system_id).values(credentials=box.seal(credentials))
        )


def reopen_transfer(db: Database, transfer_id: int, reason: str, allowed: Sequence[str]) -> bool:
    """Make a settled transfer whose outcome is in ``allowed`` eligible for a new attempt.

    It becomes ``held`` with an empty content hash, so the next intake of the order starts an
    attempt even when the order did not change. Only one caller can win it.
    """
    with db.session() as s:
        done = s.execute(
            update(Transfer)
            .where(
                Transfer.id == transfer_id,
                Transfer.state == "settled",
                Transfer.outcome.in_(list(allowed)),
            )
            .values(outcome="held", reason=reason, fix="", content_hash="")
        )
        return bool(done.rowcount)  # type: ignore[attr-defined]


# How a skip by a person begins its reason (``skipped by owner@shop: …``); intake leaves such
# transfers alone when it sees the order again.
SKIPPED_BY = "skipped by "


def skip_transfer(db: Database, transfer_id: int, reason: str) -> bool:
    """Settle a held or failed transfer as skipped (a person decided to leave it)."""
    with db.session() as s:
        done = s.execute(
            update(Transfer)
            .where(
                Transfer.id == transfer_id,
                Transfer.state == "settled",
                Transfer.outcome.in_(("held", "failed")),
            )
            .values(outcome="skipped", reason=reason[:2000], fix="")
        )
        return bool(done.rowcount)  # type: ignore[attr-defined]
