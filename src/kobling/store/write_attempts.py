"""Which writes a transfer has already tried: look up before a retry, not before every write."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kobling.store.database import Database
from kobling.store.models import WriteAttempt


def first_attempt(db: Database, transfer_key: str, action: str) -> bool:
    """Record an attempt at ``action``; True when no earlier attempt was recorded.

    Committed before the caller sends its request, so a crash or a lost response after this
    point always leaves the record behind for the retry to find.
    """
    try:
        with db.session() as s:
            s.add(WriteAttempt(transfer_key=transfer_key, action=action))
    except IntegrityError:
        return False
    return True


def attempted(db: Database, transfer_key: str) -> bool:
    """Whether any write of this transfer was tried before."""
    with db.session() as s:
        found = s.scalar(
            select(WriteAttempt.action).where(WriteAttempt.transfer_key == transfer_key).limit(1)
        )
    return found is not None
