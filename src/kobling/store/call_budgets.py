"""Pacing calls to one target system across threads and worker processes.

DBOS's ``partition_limiter`` limits how many *transfers start* per period; a transfer makes a
varying number of calls (lookups, creates, booking, payment), so it cannot keep a remote's
limit of *calls*. This is the limiter for calls, kept in the application database so that every
thread of every ``kobling worker`` sharing the database (one PostgreSQL, or one SQLite file)
draws from the same budget.

It is a "next free slot" limiter (GCRA with no burst): each system has one row holding the
next moment a call may be sent. :func:`reserve` takes the slot ``max(now, next_slot)`` and moves
``next_slot`` one interval on, in a single ``UPDATE … RETURNING``: PostgreSQL re-evaluates the
``SET`` on the newest row version when two updates race (read committed), and SQLite runs one
writer at a time, so no two callers ever get the same slot. The caller then sleeps until its
slot. :func:`push_back` moves ``next_slot`` to a later moment after a 429 with
``Retry-After``, so that nobody calls before it.

Calls are spaced evenly at ``period / calls`` rather than let through in bursts: at 60 calls a
minute one call a second never has more than 60 calls in any 60-second window, whatever window
the remote counts in (sliding or fixed), at the price of never bursting. Slots are integers
(microseconds since the Unix epoch), so the spacing is exact and never drifts by rounding.
Processes compare slots with their own clocks: workers on several machines need synchronised
clocks (NTP), as a skew between them shortens the gap between their calls by that much.
"""

from __future__ import annotations

import time

from sqlalchemy import BigInteger, case, literal, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.dml import ReturningUpdate

from kobling.store.database import Database
from kobling.store.models import CallBudget

_US = 1_000_000


def _microseconds(seconds: float) -> int:
    return round(seconds * _US)


def reserve(
    db: Database, system_id: int, interval_seconds: float, now: float | None = None
) -> float:
    """Take the next free call slot of ``system_id``; the wall-clock time (``time.time()``
    scale) at which the caller may send. Consecutive slots are ``interval_seconds`` apart."""
    if not interval_seconds > 0:
        raise ValueError("interval_seconds must be more than 0")
    step = max(1, _microseconds(interval_seconds))
    start = _microseconds(time.time() if now is None else now)
    column = CallBudget.next_slot_us
    earliest = literal(start, BigInteger)
    taken = case((column > earliest, column), else_=earliest)
    statement = (
        update(CallBudget)
        .where(CallBudget.system_id == system_id)
        .values(next_slot_us=taken + step)
        .returning(column)
    )
    following = _update(db, system_id, statement)
    return (following - step) / _US


def push_back(db: Database, system_id: int, until: float) -> None:
    """Let nobody call ``system_id`` before ``until`` (``time.time()`` scale), e.g. after a 429
    with ``Retry-After``; a later next slot is kept."""
    column = CallBudget.next_slot_us
    moment = literal(_microseconds(until), BigInteger)
    statement = (
        update(CallBudget)
        .where(CallBudget.system_id == system_id)
        .values(next_slot_us=case((column > moment, column), else_=moment))
        .returning(column)
    )
    _update(db, system_id, statement)


def next_slot(db: Database, system_id: int) -> float | None:
    """When the next call of ``system_id`` may go out (None: it was never paced)."""
    with db.session() as s:
        found = s.get(CallBudget, system_id)
        return None if found is None else found.next_slot_us / _US


def _update(db: Database, system_id: int, statement: ReturningUpdate[int]) -> int:
    """Run a one-row ``UPDATE … RETURNING`` on the system's budget, creating the row first if
    it does not exist yet; the returned ``next_slot_us``."""
    for _ in range(2):
        with db.session() as s:
            found = s.execute(
                statement, execution_options={"synchronize_session": False}
            ).scalar_one_or_none()
        if found is not None:
            return int(found)
        _create(db, system_id)
    raise LookupError(f"system {system_id} does not exist")


def _create(db: Database, system_id: int) -> None:
    """The budget row of a system, if no racing process created it first (then the primary key
    refuses this one, which is fine), or if the system does not exist (the caller says so)."""
    try:
        with db.session() as s:
            s.add(CallBudget(system_id=system_id, next_slot_us=0))
    except IntegrityError:
        pass
