"""Importing previous orders from the dashboard: choose, see the estimate and a dry run, start,
and follow the progress bar (it updates itself); pause and resume.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from datetime import UTC, date, datetime, time
from functools import partial
from time import monotonic
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from kobling.engine import backfill
from kobling.engine.runtime import runtime
from kobling.errors import TransferProblem
from kobling.store import backfills
from kobling.web.api import RecordId
from kobling.web.pages import (
    engine_stopped,
    not_found,
    page,
    scope_of,
    see_other,
    signed_in_or_redirect,
    writer,
)

router = APIRouter(include_in_schema=False)
DRY_RUN = 10


def _since(text: str) -> datetime | None:
    try:
        return datetime.combine(date.fromisoformat(text), time(0), tzinfo=UTC)
    except ValueError:
        return None


@router.get("/connections/{connection_id}/backfill", response_class=HTMLResponse)
async def backfill_page(
    request: Request, connection_id: RecordId, since: str = "", from_number: str = ""
) -> Any:
    session = signed_in_or_redirect(request)
    if isinstance(session, Response):
        return session
    account = scope_of(session)
    found = account.connection(connection_id)
    if found is None:
        return not_found(f"Connection {connection_id}")
    # In a worker thread: counting a large import takes a noticeable part of a second.
    shown, counting = await run_in_threadpool(_imports, found.id)
    context: dict[str, Any] = {
        "connection": found,
        "since": since,
        "from_number": from_number[:100],
        "backfills": shown,
        # htmx's "every Ns" takes whole seconds here.
        "refresh_seconds": math.ceil(backfill.progress_interval(counting)),
    }
    if since:
        start = _since(since)
        if start is None:
            context["problem"] = f"{since!r} is not a date: write it as YYYY-MM-DD"
        else:
            context.update(await run_in_threadpool(_plan, found.id, start, from_number[:100]))
    return page(request, session, "backfill.html", **context)


def _plan(connection_id: int, start: datetime, from_number: str) -> dict[str, Any]:
    try:
        found = backfill.scan(connection_id, start, from_number, keep=DRY_RUN)
        estimate = found.estimate
        shown = backfill.dry_run(connection_id, found.first)
    except TransferProblem as problem:
        return {"problem": f"The shop could not be read: {problem.reason}. {problem.fix}"}
    return {"estimate": asdict(estimate), "dry_run": shown, "dry_run_size": DRY_RUN}


@router.post("/connections/{connection_id}/backfill")
async def start_backfill(
    request: Request,
    connection_id: RecordId,
    since: str = Form(""),
    from_number: str = Form(""),
    csrf: str = Form(""),
) -> Any:
    session = writer(request, csrf, "import previous orders")
    if isinstance(session, Response):
        return session
    found = scope_of(session).connection(connection_id)
    start = _since(since)
    if found is None or start is None:
        return not_found(f"Connection {connection_id} with the date {since!r}")
    stopped = engine_stopped("kobling backfill --yes")
    if stopped is not None:
        return stopped
    chosen = await run_in_threadpool(
        partial(backfill.scan, found.id, start, from_number, 0, estimating=False)
    )
    ids = chosen.ids
    backfill_id = await run_in_threadpool(
        backfill.start, found.id, start, from_number[:100], ids, session.person.email
    )
    return see_other(f"/connections/{connection_id}/backfill#b{backfill_id}")


@router.post("/backfills/{backfill_id}/{action}")
async def backfill_action(
    request: Request, backfill_id: RecordId, action: str, csrf: str = Form("")
) -> Any:
    session = writer(request, csrf, "pause or resume imports")
    if isinstance(session, Response):
        return session
    row = backfills.get(runtime().db, backfill_id)
    if row is None or scope_of(session).connection(row.connection_id) is None:
        return not_found(f"Import {backfill_id}")
    if action not in ("pause", "resume"):
        return not_found(f"The action {action!r}")
    do = backfill.pause if action == "pause" else backfill.resume
    await run_in_threadpool(do, backfill_id)
    return see_other(f"/connections/{row.connection_id}/backfill#b{backfill_id}")


def _imports(connection_id: int) -> tuple[list[tuple[Any, backfills.Progress]], float]:
    """The connection's imports with their progress, and how long counting them took."""
    began = monotonic()
    db = runtime().db
    shown = [(b, backfills.progress(db, b.id)) for b in backfills.for_connection(db, connection_id)]
    return shown, monotonic() - began
