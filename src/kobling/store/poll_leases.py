"""One poll per connection at a time: a lease held by the poll's workflow id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from kobling.store.database import Database
from kobling.store.models import PollLease


def take(db: Database, connection_id: int, holder: str, seconds: float) -> bool:
    """Hold the connection's poll lease for ``seconds``; False while another poll holds it.

    The same holder may take it again (a poll recovered after its worker died continues).
    """
    now = datetime.now(UTC)
    until = now + timedelta(seconds=seconds)
    try:
        with db.session() as s:
            lease = s.get(PollLease, connection_id, with_for_update=True)
            if lease is None:
                s.add(PollLease(connection_id=connection_id, holder=holder, until=until))
                return True
            if lease.holder != holder and lease.until > now:
                return False
            lease.holder, lease.until = holder, until
            return True
    except IntegrityError:  # another poll took it at the same moment
        return False


def release(db: Database, connection_id: int, holder: str) -> None:
    with db.session() as s:
        s.execute(
            delete(PollLease).where(
                PollLease.connection_id == connection_id, PollLease.holder == holder
            )
        )
