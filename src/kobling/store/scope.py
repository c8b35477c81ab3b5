"""What one account may see and change: every query joined to the account, in the store.

The web layer (API and dashboard) reaches integrations, systems, connections, transfers and
receipts only through an ``AccountScope``, so a record of another account is not found, in
the same way as a record that does not exist. Checking in the views alone would let one
forgotten check leak data; here the account is part of every query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, func, or_, select, update

from kobling.store import repository, usage
from kobling.store.crypto import CredentialBox
from kobling.store.database import Database
from kobling.store.models import (
    Connection,
    Integration,
    PollCursor,
    Receipt,
    Snapshot,
    System,
    SystemCheck,
    Transfer,
    WebhookCheck,
)


@dataclass(frozen=True)
class AccountScope:
    db: Database
    account_id: int

    # -- integrations, systems, connections ------------------------------------------------

    def integrations(self) -> list[Integration]:
        with self.db.session() as s:
            query = select(Integration).where(Integration.account_id == self.account_id)
            return list(s.scalars(query.order_by(Integration.id)))

    def integration(self, integration_id: int) -> Integration | None:
        with self.db.session() as s:
            return s.scalar(
                select(Integration).where(
                    Integration.id == integration_id, Integration.account_id == self.account_id
                )
            )

    def set_integration_active(self, integration_id: int, active: bool) -> bool:
        with self.db.session() as s:
            done = s.execute(
                update(Integration)
                .where(Integration.id == integration_id, Integration.account_id == self.account_id)
                .values(active=active)
            )
            return bool(done.rowcount)  # type: ignore[attr-defined]

    def _systems(self) -> Select[Any]:
        return (
            select(System)
            .join(Integration, Integration.id == System.integration_id)
            .where(Integration.account_id == self.account_id)
        )

    def systems(self) -> list[System]:
        with self.db.session() as s:
            return list(s.scalars(self._systems().order_by(System.id)))

    def system(self, system_id: int) -> System | None:
        with self.db.session() as s:
            found: System | None = s.scalar(self._systems().where(System.id == system_id))
            return found

    def add_system(
        self,
        box: CredentialBox,
        *,
        integration_id: int,
        kind: str,
        name: str,
        base_url: str,
        credentials: dict[str, Any],
    ) -> int | None:
        """A new system in one of this account's integrations (None: not this account's)."""
        if self.integration(integration_id) is None:
            return None
        return repository.add_system(
            self.db,
            box,
            integration_id=integration_id,
            kind=kind,
            name=name,
            base_url=base_url,
            credentials=credentials,
        )

    def update_system(self, system_id: int, *, name: str, base_url: str) -> bool:
        if self.system(system_id) is None:
            return False
        with self.db.session() as s:
            s.execute(
                update(System).where(System.id == system_id).values(name=name, base_url=base_url)
            )
        return True

    def _connections(self) -> Select[Any]:
        return (
            select(Connection)
            .join(Integration, Integration.id == Connection.integration_id)
            .where(Integration.account_id == self.account_id)
        )

    def connections(self) -> list[Connection]:
        with self.db.session() as s:
            return list(s.scalars(self._connections().order_by(Connection.id)))

    def connection(self, connection_id: int) -> Connection | None:
        with self.db.session() as s:
            found: Connection | None = s.scalar(
                self._connections().where(Connection.id == connection_id)
            )
            return found

    def connection_kinds(self, connection: Connection) -> tuple[str, str]:
        """The source's and the target's connector kinds (what validates its settings)."""
        with self.db.session() as s:
            source = s.get(System, connection.source_system_id)
            target = s.get(System, connection.target_system_id)
            assert source is not None and target is not None  # foreign keys
            return source.kind, target.kind

    def set_connection_active(self, connection_id: int, active: bool) -> bool:
        if self.connection(connection_id) is None:
            return False
        with self.db.session() as s:
            s.execute(
                update(Connection).where(Connection.id == connection_id).values(active=active)
            )
        return True

    def set_connection_settings(self, connection_id: int, settings: dict[str, Any]) -> bool:
        if self.connection(connection_id) is None:
            return False
        with self.db.session() as s:
            s.execute(
                update(Connection).where(Connection.id == connection_id).values(settings=settings)
            )
        return True

    # -- transfers and receipts ------------------------------------------------------------

    def _transfers(self) -> Select[Any]:
        return (
            select(Transfer)
            .join(Connection, Connection.id == Transfer.connection_id)
            .join(Integration, Integration.id == Connection.integration_id)
            .where(Integration.account_id == self.account_id)
        )

    def transfers(
        self,
        *,
        limit: int = 50,
        offset: int = 0,
        outcome: str | None = None,
        outcomes: Sequence[str] = (),
        state: str | None = None,
        number: str | None = None,
        connection_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Transfer]:
        query = self._transfers()
        if outcome is not None:
            query = query.where(Transfer.outcome == outcome)
        if outcomes:
            query = query.where(Transfer.outcome.in_(list(outcomes)))
        if state is not None:
            query = query.where(Transfer.state == state)
        if number:
            # What a shop owner types: the order number, or the shop's id where it differs.
            number = number.strip().lstrip("#")
            query = query.where(or_(Transfer.source_number == number, Transfer.source_id == number))
        if connection_id is not None:
            query = query.where(Transfer.connection_id == connection_id)
        if since is not None:
            query = query.where(Transfer.updated_at >= since)
        if until is not None:
            query = query.where(Transfer.updated_at < until)
        query = query.order_by(Transfer.updated_at.desc(), Transfer.id.desc())
        with self.db.session() as s:
            return list(s.scalars(query.offset(offset).limit(limit)))

    def transfer(self, transfer_id: int) -> Transfer | None:
        with self.db.session() as s:
            found: Transfer | None = s.scalar(self._transfers().where(Transfer.id == transfer_id))
            return found

    def snapshots(self, transfer_id: int) -> list[Snapshot] | None:
        if self.transfer(transfer_id) is None:
            return None
        with self.db.session() as s:
            query = select(Snapshot).where(Snapshot.transfer_id == transfer_id)
            return list(s.scalars(query.order_by(Snapshot.id)))

    def outcome_counts(self) -> dict[str, int]:
        query = (
            select(Transfer.outcome, func.count())
            .join(Connection, Connection.id == Transfer.connection_id)
            .join(Integration, Integration.id == Connection.integration_id)
            .where(Integration.account_id == self.account_id)
            .group_by(Transfer.outcome)
        )
        with self.db.session() as s:
            return {str(outcome): int(n) for outcome, n in s.execute(query)}

    def receipts(self, connection_ids: Sequence[int] | None = None, limit: int = 50) -> list[Any]:
        query = (
            select(Receipt)
            .join(Connection, Connection.id == Receipt.connection_id)
            .join(Integration, Integration.id == Connection.integration_id)
            .where(Integration.account_id == self.account_id)
        )
        if connection_ids is not None:
            query = query.where(Receipt.connection_id.in_(list(connection_ids)))
        with self.db.session() as s:
            return list(s.scalars(query.order_by(Receipt.id.desc()).limit(limit)))

    def usage(self) -> list[dict[str, Any]]:
        """Orders transferred per month (each order once), with extra orders past the plan."""
        return [
            {"month": m.month, "orders": m.orders, "included": m.included, "extra": m.extra}
            for m in usage.history(self.db, self.account_id)
        ]

    # -- health: connection tests, webhooks, polls, deliveries ------------------------------

    def system_checks(self) -> dict[int, SystemCheck]:
        query = (
            select(SystemCheck)
            .join(System, System.id == SystemCheck.system_id)
            .join(Integration, Integration.id == System.integration_id)
            .where(Integration.account_id == self.account_id)
        )
        with self.db.session() as s:
            return {row.system_id: row for row in s.scalars(query)}

    def webhook_checks(self) -> dict[int, WebhookCheck]:
        query = self._by_connection(WebhookCheck, WebhookCheck.connection_id)
        with self.db.session() as s:
            return {row.connection_id: row for row in s.scalars(query)}

    def poll_cursors(self) -> dict[int, PollCursor]:
        query = self._by_connection(PollCursor, PollCursor.connection_id)
        with self.db.session() as s:
            return {row.connection_id: row for row in s.scalars(query)}

    def last_deliveries(self) -> dict[int, datetime]:
        """When each connection last received a webhook delivery."""
        query = (
            select(Receipt.connection_id, func.max(Receipt.received_at))
            .join(Connection, Connection.id == Receipt.connection_id)
            .join(Integration, Integration.id == Connection.integration_id)
            .where(Integration.account_id == self.account_id)
            .group_by(Receipt.connection_id)
        )
        with self.db.session() as s:
            return {int(cid): _aware(at) for cid, at in s.execute(query) if at is not None}

    def _by_connection(self, model: Any, column: Any) -> Select[Any]:
        return (
            select(model)
            .join(Connection, Connection.id == column)
            .join(Integration, Integration.id == Connection.integration_id)
            .where(Integration.account_id == self.account_id)
        )


def _aware(at: datetime) -> datetime:
    """Aggregates bypass the column type, so SQLite hands back a naive UTC datetime."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
