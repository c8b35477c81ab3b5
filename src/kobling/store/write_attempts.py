"""Which writes a transfer has already tried: look up before a retry, not before every write.

The records are only as complete as the database. A new store knows nothing of what another
installation (or this one, before its data was lost) transferred, and after a restore from a
backup the writes made since the backup have no record: so every order created before the
store's ``created`` mark, or before the ``restored`` mark that ``kobling db restored`` sets,
is looked up again before anything is created for it.
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


CREATED = "created"  # set by migration 0014 when the store is made


def records_begin(db: Database) -> tuple[str, datetime] | None:
    """Since when this store knows every write it made: its creation or its last restore.

    Orders created before then may be in the target already without a record here."""
    with db.session() as s:
        marks = list(s.scalars(select(Mark).where(Mark.name.in_((CREATED, RESTORED)))))
    if not marks:
        return None
    latest = max(marks, key=lambda m: m.at)
    return latest.name, latest.at
