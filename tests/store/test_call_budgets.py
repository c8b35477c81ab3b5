"""The shared call limiter on SQLite and PostgreSQL: every caller gets its own slot, evenly
spaced, across threads and processes; a 429 pushes the budget back."""

from __future__ import annotations

import itertools
import multiprocessing
import threading
from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet

from kobling.store import call_budgets
from kobling.store import repository as repo
from kobling.store.crypto import CredentialBox
from kobling.store.database import Database

NOW = 1_000.0  # a fixed "now" for all callers, so every slot can be worked out by hand


def _system(db: Database, name: str = "Ledger") -> int:
    box = CredentialBox(Fernet.generate_key())
    account = repo.create_account(db, f"{name} A/S")
    integration = repo.create_integration(
        db, account, f"Shop → {name}", start_date=datetime(2026, 1, 1, tzinfo=UTC)
    )
    return repo.add_system(
        db,
        box,
        integration_id=integration,
        kind="economic",
        name=name,
        base_url="https://ledger.example/",
        credentials={"app_secret_token": "x", "agreement_grant_token": "y"},
    )


def _tenths(slots: list[float]) -> list[int]:
    """Slots as whole tenths of a second (they are exact multiples of 0.1 s after NOW)."""
    return sorted(round(slot * 10) for slot in slots)


def _assert_twenty_slots_a_tenth_apart(slots: list[float]) -> None:
    assert len(slots) == 20
    # The first caller takes NOW (1000.0), each following one 0.1 s later: 1000.0 … 1001.9.
    assert _tenths(slots) == list(range(10_000, 10_020))
    ordered = sorted(slots)
    gaps = [later - earlier for earlier, later in itertools.pairwise(ordered)]
    assert min(gaps) >= 0.1 - 1e-6


def test_two_threads_get_twenty_distinct_slots_a_tenth_apart(database_url: str) -> None:
    setup = Database(database_url)
    setup.migrate()
    system = _system(setup)
    setup.dispose()
    slots: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def reserve_ten() -> None:
        # A database of its own per thread: separate connection pools, as separate processes.
        own = Database(database_url)
        try:
            barrier.wait()
            for _ in range(10):
                slot = call_budgets.reserve(own, system, 0.1, now=NOW)
                with lock:
                    slots.append(slot)
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=reserve_ten) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    _assert_twenty_slots_a_tenth_apart(slots)
    check = Database(database_url)
    try:
        assert call_budgets.next_slot(check, system) == pytest.approx(NOW + 2.0)
    finally:
        check.dispose()


def _reserve_in_process(url: str, system: int, count: int, out: multiprocessing.Queue) -> None:
    db = Database(url)
    try:
        out.put([call_budgets.reserve(db, system, 0.1, now=NOW) for _ in range(count)])
    finally:
        db.dispose()


def test_two_processes_share_one_budget(database_url: str) -> None:
    setup = Database(database_url)
    setup.migrate()
    system = _system(setup)
    setup.dispose()
    context = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue = context.Queue()
    workers = [
        context.Process(target=_reserve_in_process, args=(database_url, system, 10, out))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    slots = out.get(timeout=60) + out.get(timeout=60)
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    _assert_twenty_slots_a_tenth_apart(slots)


def test_slots_follow_time_and_push_back(db: Database) -> None:
    ledger = _system(db)
    other = _system(db, "Other")
    assert call_budgets.next_slot(db, ledger) is None
    assert call_budgets.reserve(db, ledger, 0.5, now=NOW) == NOW
    assert call_budgets.reserve(db, ledger, 0.5, now=NOW) == NOW + 0.5
    # Another system has a budget of its own.
    assert call_budgets.reserve(db, other, 0.5, now=NOW) == NOW
    # A 429 with Retry-After: 5 at NOW + 0.2: nobody before NOW + 5.2.
    call_budgets.push_back(db, ledger, NOW + 5.2)
    assert call_budgets.reserve(db, ledger, 0.5, now=NOW + 0.3) == pytest.approx(NOW + 5.2)
    # Pushing back to an earlier moment than the next slot (NOW + 5.7) changes nothing.
    call_budgets.push_back(db, ledger, NOW + 1.0)
    assert call_budgets.reserve(db, ledger, 0.5, now=NOW + 0.4) == pytest.approx(NOW + 5.7)
    # After a quiet spell the next caller goes at once; unused time is not saved up as a burst.
    assert call_budgets.reserve(db, ledger, 0.5, now=NOW + 100) == NOW + 100
    assert call_budgets.reserve(db, ledger, 0.5, now=NOW + 100) == NOW + 100.5
    # push_back on a system that was never paced creates its budget.
    third = _system(db, "Third")
    call_budgets.push_back(db, third, NOW + 3)
    assert call_budgets.next_slot(db, third) == NOW + 3


def test_unknown_system_and_bad_interval_are_refused(db: Database) -> None:
    with pytest.raises(LookupError):
        call_budgets.reserve(db, 999, 0.1, now=NOW)
    ledger = _system(db)
    with pytest.raises(ValueError):
        call_budgets.reserve(db, ledger, 0.0, now=NOW)
