"""A backfill's progress in the store: counted per order, through the transfer key's index."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import event

from kobling.store import backfills
from kobling.store import repository as repo
from kobling.store.crypto import CredentialBox
from kobling.store.database import Database
from tests.store.test_repository import _connection


def _transfer(db: Database, connection_id: int, source_id: str, outcome: str | None) -> None:
    repo.claim_transfer(
        db, connection_id=connection_id, object_type="order", source_id=source_id, purpose="invoice"
    )
    if outcome is not None:
        key = repo.transfer_key(connection_id, "order", source_id, "invoice")
        repo.settle(db, key, outcome)


def test_progress_counts_the_handed_orders_of_this_connection_only(db: Database) -> None:
    box = CredentialBox(Fernet.generate_key())
    mine = _connection(db, box)
    cfg = repo.load_connection(db, box, mine)
    other = repo.add_connection(
        db,
        integration_id=cfg.integration_id,
        name="second shop",
        source_system_id=cfg.source.id,
        target_system_id=cfg.target.id,
        settings={},
    )
    ids = [str(n) for n in range(1, 8)]
    backfill_id = backfills.create(db, mine, datetime(2026, 1, 1, tzinfo=UTC), "", ids, "me")
    backfills.advance(db, backfill_id, 6)  # 1–6 handed, 7 not yet
    for source_id, outcome in [("1", "done"), ("2", "done"), ("3", "held"), ("4", None)]:
        _transfer(db, mine, source_id, outcome)
    _transfer(db, mine, "7", "done")  # not handed by this backfill yet
    _transfer(db, other, "5", "done")  # the same order id on another connection
    progress = backfills.progress(db, backfill_id)
    assert (progress.total, progress.handed) == (7, 6)
    assert (progress.done, progress.held, progress.failed, progress.skipped) == (2, 1, 0, 0)
    # 4 is running, 5 and 6 have no transfer of this connection yet.
    assert progress.pending == 3
    assert backfills.unsettled(db, mine, ["1", "3", "4", "5"]) == 2


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_progress_finds_each_order_by_its_transfer_key(db: Database) -> None:
    """Not by connection: that walks every transfer of the connection on every check."""
    box = CredentialBox(Fernet.generate_key())
    connection_id = _connection(db, box)
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "transfers" in statement:
            statements.append((statement, params))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        backfills.unsettled(db, connection_id, ["1", "2"])
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert len(statements) == 1
    statement, params = statements[0]
    with db.engine.connect() as conn:
        plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).fetchall()
    details = " ".join(str(row[-1]) for row in plan)
    assert "USING INDEX sqlite_autoindex_transfers_1 (key=?)" in details, details
