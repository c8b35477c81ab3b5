"""Which writes a transfer has already tried: look up before a retry, not before every write.

The records are only as complete as the database. After a restore from a backup, writes made
since the backup have no record, so ``kobling db restored`` sets the ``restored`` mark: every
order created before it is looked up again before anything is created for it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kobling.store.database import Database
from kobling.store.models import Mark, WriteAttempt


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


RESTORED = "restored"


def mark_restored(db: Database, at: datetime) -> None:
    """Remember that the database was restored at ``at`` (the latest mark wins)."""
    with db.session() as s:
        found = s.get(Mark, RESTORED)
        if found is None:
            s.add(Mark(name=RESTORED, at=at))
        else:
            found.at = at


def restored_at(db: Database) -> datetime | None:
    with db.session() as s:
        found = s.get(Mark, RESTORED)
        return found.at if found is not None else None
