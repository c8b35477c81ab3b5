"""The store on SQLite and PostgreSQL: unique transfer keys, receipts, bindings, secrets."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import event, text

from kobling.store import repository as repo
from kobling.store.crypto import CredentialBox
from kobling.store.database import Database


@pytest.fixture
def box() -> CredentialBox:
    return CredentialBox(Fernet.generate_key())


def _connection(db: Database, box: CredentialBox) -> int:
    account = repo.create_account(db, "Shop A/S")
    integration = repo.create_integration(
        db, account, "Shop → ledger", start_date=datetime(2026, 1, 1, tzinfo=UTC)
    )
    shop = repo.add_system(
        db,
        box,
        integration_id=integration,
        kind="woocommerce",
        name="Shop",
        base_url="https://shop.example/",
        credentials={"consumer_secret": "cs_TOPSECRET"},
    )
    ledger = repo.add_system(
        db,
        box,
        integration_id=integration,
        kind="economic",
        name="Ledger",
        base_url="https://ledger.example/",
        credentials={"app_secret_token": "x"},
    )
    return repo.add_connection(
        db,
        integration_id=integration,
        name="orders",
        source_system_id=shop,
        target_system_id=ledger,
        settings={"a": 1},
    )


def test_credentials_are_encrypted_at_rest(db: Database, box: CredentialBox) -> None:
    cid = _connection(db, box)
    with db.engine.connect() as conn:
        raw = b"".join(bytes(r[0]) for r in conn.execute(text("select credentials from systems")))
    assert b"cs_TOPSECRET" not in raw
    cfg = repo.load_connection(db, box, cid)
    assert cfg.source.credentials == {"consumer_secret": "cs_TOPSECRET"}
    assert "TOPSECRET" not in repr(cfg)


def test_racing_claims_make_one_transfer(db: Database, box: CredentialBox) -> None:
    cid = _connection(db, box)
    keys: list[str] = []
    barrier = threading.Barrier(6)

    def claim() -> None:
        barrier.wait()
        row = repo.claim_transfer(
            db,
            connection_id=cid,
            object_type="order",
            source_id="9007199254740993",
            purpose="invoice",
        )
        keys.append(row.key)

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(keys)) == 1 and len(keys) == 6
    assert repo.transfer_count(db, cid) == 1
    # 2^53 + 1 survives as text: a float would have turned it into ...992.
    assert repo.get_transfer(db, keys[0]).source_id == "9007199254740993"


def test_only_one_caller_wins_an_attempt_and_settled_never_goes_back(
    db: Database, box: CredentialBox
) -> None:
    cid = _connection(db, box)
    key = repo.claim_transfer(
        db, connection_id=cid, object_type="order", source_id="7", purpose="invoice"
    ).key
    assert repo.mark_queued(db, key, key, "h1") is True
    assert repo.mark_queued(db, key, key, "h1") is False
    repo.settle(db, key, "done", reason="booked as invoice 4", target_document_id="4")
    assert repo.mark_skipped(db, key, "state 'pending' is not eligible", "h0") is False
    assert repo.mark_queued(db, key, key + "#x", "h2") is False
    row = repo.get_transfer(db, key)
    assert (row.outcome, row.target_document_id, row.attempts) == ("done", "4", 1)


def test_receipts_are_deduplicated_by_delivery_id(db: Database, box: CredentialBox) -> None:
    cid = _connection(db, box)
    first = repo.store_receipt(
        db, connection_id=cid, delivery_key="d-1", status="accepted", body=b"{}", headers={}
    )
    again = repo.store_receipt(
        db, connection_id=cid, delivery_key="d-1", status="accepted", body=b"{}", headers={}
    )
    other = repo.store_receipt(
        db, connection_id=cid, delivery_key="d-2", status="accepted", body=b"{}", headers={}
    )
    assert first[1] is True and again == (first[0], False) and other[1] is True
    assert len(repo.list_receipts(db, cid)) == 2


def test_snapshots_are_appended_in_order(db: Database, box: CredentialBox) -> None:
    cid = _connection(db, box)
    key = repo.claim_transfer(
        db, connection_id=cid, object_type="order", source_id="1", purpose="invoice"
    ).key
    repo.add_snapshot(db, key, "received", {"total": "10.00"})
    repo.add_snapshot(db, key, "plan", {"gross": "10.00"})
    transfer, snaps = repo.transfer_with_snapshots(db, key)
    assert [s.stage for s in snaps] == ["received", "plan"]
    assert snaps[0].data == {"total": "10.00"}
    assert transfer.stage == "plan"
    assert snaps[0].created_at is not None and transfer.updated_at >= snaps[0].created_at
    with pytest.raises(LookupError, match="no transfer 1:order:2:invoice"):
        repo.add_snapshot(db, "1:order:2:invoice", "plan", {})
    assert len(repo.transfer_with_snapshots(db, key)[1]) == 2


def test_bindings_and_poll_cursor(db: Database, box: CredentialBox) -> None:
    cid = _connection(db, box)
    cfg = repo.load_connection(db, box, cid)
    assert repo.get_binding(db, cfg.target.id, "customer", "email:a@b.dk") is None
    repo.put_binding(db, cfg.target.id, "customer", "email:a@b.dk", "17")
    repo.put_binding(db, cfg.target.id, "customer", "email:a@b.dk", "18")
    assert repo.get_binding(db, cfg.target.id, "customer", "email:a@b.dk") == "18"
    moment = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    repo.set_poll_cursor(db, cid, moment)
    got = repo.get_poll_cursor(db, cid)
    assert got == moment and got.tzinfo is not None


def test_a_connection_loads_with_its_systems_in_one_statement(
    db: Database, box: CredentialBox
) -> None:
    """Every step of a transfer loads its connection: one statement, not one per relation."""
    connection_id = _connection(db, box)
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        cfg = repo.load_connection(db, box, connection_id)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert (cfg.source.kind, cfg.target.kind) == ("woocommerce", "economic")
    assert cfg.source.credentials == {"consumer_secret": "cs_TOPSECRET"}
    assert cfg.start_date == datetime(2026, 1, 1, tzinfo=UTC)
    assert [s for s in statements if s.lstrip().upper().startswith("SELECT")] == statements
    assert len(statements) == 1
