"""Recording how systems and connections are doing: connection tests and webhook checks.

Written by the engine (each poll looks at the shop's webhooks) and by the dashboard's "test
connection" and "re-register webhooks" buttons; read through ``AccountScope``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from kobling.store.database import Database
from kobling.store.models import SystemCheck, WebhookCheck, utcnow


def record_system_check(
    db: Database, system_id: int, *, ok: bool, code: str, detail: str, fix: str
) -> None:
    with db.session() as s:
        row = s.get(SystemCheck, system_id)
        if row is None:
            row = SystemCheck(system_id=system_id)
            s.add(row)
        row.ok, row.code, row.detail, row.fix = ok, code, detail, fix
        row.checked_at = utcnow()


def record_webhook_check(
    db: Database,
    connection_id: int,
    hooks: Sequence[dict[str, Any]],
    error: str = "",
    *,
    at: datetime | None = None,
) -> None:
    """Store what a webhook check found; remember a webhook the shop had disabled."""
    now = at or utcnow()
    reactivated = [h for h in hooks if h.get("action") == "reactivated"]
    with db.session() as s:
        row = s.get(WebhookCheck, connection_id)
        if row is None:
            row = WebhookCheck(connection_id=connection_id, disabled_detail="")
            s.add(row)
        row.checked_at = now
        row.error = error
        if not error:
            # A failed check says nothing about the hooks: keep the last known list.
            row.hooks = [dict(h) for h in hooks]
        if reactivated:
            row.disabled_at = now
            row.disabled_detail = "; ".join(
                f"{h.get('topic')}: {h.get('detail') or 'disabled by the shop'}"
                for h in reactivated
            )
