"""The scheduled poll: webhooks are hints, polling is the safety net (ARCHITECTURE §Guarantees).

Each poll reads every order modified after ``last window start − lookback`` and hands each one
to intake. The window overlaps the previous one on purpose: an order modified while the last
poll was paging, or stamped with a slightly wrong clock, is seen again; intake deduplicates by
``(order, date_modified)``. The cursor only moves to the start of a poll that completed.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from dbos import DBOS

from kobling.domain.serialize import to_jsonable
from kobling.engine.connectors import connection, registrar_for, source_for
from kobling.engine.intake import start_intake
from kobling.engine.queues import WORK_QUEUE, queue
from kobling.engine.retry import with_retries
from kobling.engine.runtime import runtime
from kobling.errors import PermanentError, TransientError
from kobling.store import health, poll_leases
from kobling.store import repository as repo

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _window_from(connection_id: int) -> datetime:
    rt = runtime()
    cursor = repo.get_poll_cursor(rt.db, connection_id)
    if cursor is None:
        # First poll: some way before the start date, so that older orders are recorded as
        # skipped with their reason (a backfill imports them deliberately).
        start = connection(connection_id).start_date or EPOCH
        return max(EPOCH, start - timedelta(seconds=rt.tuning.first_poll_lookback_seconds))
    return cursor - timedelta(seconds=rt.tuning.poll_lookback_seconds)


@DBOS.step()
def list_changes_step(connection_id: int) -> dict[str, Any]:
    window_start = datetime.now(UTC)
    modified_after = _window_from(connection_id)
    source = source_for(connection(connection_id))
    changed = [
        {"id": str(o["id"]), "modified": str(o.get("date_modified_gmt") or ""), "payload": o}
        for o in source.changed_orders(modified_after)
    ]
    return {"window_start": window_start, "modified_after": modified_after, "changed": changed}


OPEN_STATES = ("pending", "processing", "on-hold")


def payload_digest(payload: dict[str, Any]) -> str:
    """What a re-read order looks like, minus what changes on every read (links)."""
    kept = {k: v for k, v in payload.items() if k != "_links"}
    return hashlib.sha256(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()


@DBOS.step()
def reread_step(connection_id: int) -> list[dict[str, Any]]:
    """The open orders of the last weeks, if this poll is one that re-reads them."""
    rt = runtime()
    polls = repo.poll_count(rt.db, connection_id)
    every = rt.tuning.reread_every_polls
    # Not on the first poll, which reads the whole lookback anyway.
    if every <= 0 or polls == 0 or polls % every:
        return []
    since = datetime.now(UTC) - timedelta(seconds=rt.tuning.reread_seconds)
    source = source_for(connection(connection_id))
    return [
        {"id": str(o["id"]), "digest": payload_digest(o), "payload": o}
        for o in source.changed_orders(since, OPEN_STATES)
    ]


@DBOS.step()
def advance_cursor_step(connection_id: int, window_start: datetime) -> None:
    repo.set_poll_cursor(runtime().db, connection_id, window_start)


@DBOS.step()
def ensure_webhooks_step(connection_id: int) -> list[dict[str, Any]]:
    return ensure_webhooks(connection_id)


def ensure_webhooks(connection_id: int) -> list[dict[str, Any]]:
    """Register our webhooks in the source and re-enable any the source has disabled.

    Run by every poll and by the dashboard's "re-register webhooks"; what it found is recorded
    for the connections page.
    """
    cfg = connection(connection_id)
    if not cfg.settings.get("use_webhooks", True):
        return []
    registrar = registrar_for(cfg)
    if registrar is None:
        return []
    url = f"{runtime().public_url.rstrip('/')}/hooks/{cfg.name}"
    try:
        hooks = [to_jsonable(s) for s in registrar.ensure_webhooks(url)]
    except (PermanentError, TransientError) as problem:
        health.record_webhook_check(runtime().db, connection_id, [], problem.reason)
        raise
    else:
        health.record_webhook_check(runtime().db, connection_id, hooks)
        return hooks
    finally:
        close = getattr(registrar, "close", None)
        if close is not None:
            close()


@DBOS.step()
def switched_on_step(connection_id: int) -> bool:
    cfg = connection(connection_id)
    return cfg.active and cfg.integration_active


def poll_once(connection_id: int) -> dict[str, Any]:
    """One poll, as a workflow body (also used by ``kobling demo`` and tests).

    Every connection has a schedule; one that is switched off (or whose integration is) does
    nothing, and its cursor stays, so switching it on later catches up on what it missed.
    """
    if not switched_on_step(connection_id):
        return {"orders": 0, "reread": 0, "webhooks": [], "off": True}
    if not lease_step(connection_id):
        return {"orders": 0, "reread": 0, "webhooks": [], "busy": True}
    try:
        return _poll(connection_id)
    finally:
        release_step(connection_id)


# Longer than any poll should take; a poll whose worker died and is never recovered stops
# holding up the next ones after this.
LEASE_SECONDS = 900.0


@DBOS.step()
def lease_step(connection_id: int) -> bool:
    """Whether this poll may run: no other poll of the connection is running."""
    holder = DBOS.workflow_id or "?"
    return poll_leases.take(runtime().db, connection_id, holder, LEASE_SECONDS)


@DBOS.step()
def release_step(connection_id: int) -> None:
    poll_leases.release(runtime().db, connection_id, DBOS.workflow_id or "?")


def _poll(connection_id: int) -> dict[str, Any]:
    try:
        webhooks = with_retries(ensure_webhooks_step, connection_id)
    except (PermanentError, TransientError) as problem:
        webhooks = [{"error": problem.reason}]
    listing = with_retries(list_changes_step, connection_id)
    for item in listing["changed"]:
        start_intake(
            connection_id,
            item["id"],
            "poll",
            f"intake:{connection_id}:{item['id']}:{item['modified']}",
            item["payload"],
        )
    reread = with_retries(reread_step, connection_id)
    for item in reread:
        # Keyed by the payload's content: an order changed without a new date_modified gets
        # a new intake; one that did not change is deduplicated by DBOS.
        start_intake(
            connection_id,
            item["id"],
            "re-read",
            f"intake:{connection_id}:{item['id']}:reread:{item['digest'][:24]}",
            item["payload"],
        )
    advance_cursor_step(connection_id, listing["window_start"])
    return {"orders": len(listing["changed"]), "reread": len(reread), "webhooks": webhooks}


@DBOS.workflow()
def poll_connection(scheduled_time: datetime, context: Any) -> dict[str, Any]:
    """The scheduled poll of one connection (``context`` = ``{"connection_id": n}``)."""
    return poll_once(int(context["connection_id"]))


@DBOS.workflow()
def poll_now(connection_id: int) -> dict[str, Any]:
    """An immediate poll, outside the schedule."""
    return poll_once(connection_id)


def request_poll(connection_id: int) -> str:
    """Queue a poll of a connection for any worker; returns its workflow id."""
    handle = queue(WORK_QUEUE).enqueue(poll_now, connection_id)
    return handle.get_workflow_id()
