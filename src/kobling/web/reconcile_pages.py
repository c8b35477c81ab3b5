"""Reconciliation in the dashboard: compare a period of the shop with the accounting system,
read from the accounting system itself, and transfer what is missing in one action.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from kobling.engine.reconcile import reconcile, repair_missing
from kobling.engine.reconcile_schedule import period, reconcile_and_record
from kobling.engine.runtime import runtime
from kobling.errors import TransferProblem
from kobling.store import reconciliations
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


def _dates(start: str, end: str) -> tuple[date, date] | str:
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        return "Write both dates as YYYY-MM-DD, e.g. 2026-11-01."
    if last < first:
        return f"The period ends ({last}) before it starts ({first}): swap the dates."
    return first, last


@router.get("/connections/{connection_id}/reconcile", response_class=HTMLResponse)
async def reconcile_page(
    request: Request, connection_id: RecordId, start: str = "", end: str = "", message: str = ""
) -> Any:
    session = signed_in_or_redirect(request)
    if isinstance(session, Response):
        return session
    found = scope_of(session).connection(connection_id)
    if found is None:
        return not_found(f"Connection {connection_id}")
    default_start, default_end = period(datetime.now(UTC).date(), runtime().tuning.reconcile_days)
    context: dict[str, Any] = {
        "connection": found,
        "start": start or default_start.isoformat(),
        "end": end or default_end.isoformat(),
        "message": message[:300],
    }
    if start and end:
        chosen = _dates(start, end)
        if isinstance(chosen, str):
            context["problem"] = chosen
        else:
            await run_in_threadpool(reconcile_and_record, found.id, *chosen)
    context["run"] = reconciliations.latest(runtime().db, found.id)
    return page(request, session, "reconcile.html", **context)


@router.post("/connections/{connection_id}/reconcile/repair")
async def repair(
    request: Request,
    connection_id: RecordId,
    start: str = Form(""),
    end: str = Form(""),
    csrf: str = Form(""),
) -> Any:
    session = writer(request, csrf, "transfer missing orders")
    if isinstance(session, Response):
        return session
    found = scope_of(session).connection(connection_id)
    chosen = _dates(start, end)
    if found is None or isinstance(chosen, str):
        return not_found(f"Connection {connection_id} with the period {start} to {end}")
    stopped = engine_stopped("kobling reconcile --repair")
    if stopped is not None:
        return stopped
    try:
        result = await run_in_threadpool(reconcile, found.id, *chosen)
        started = await run_in_threadpool(repair_missing, found.id, result)
    except TransferProblem as problem:
        message = f"Nothing was transferred: {problem.reason}. {problem.fix}"
    else:
        message = f"Transferring {len(started)} missing document(s): follow them in the log."
    query = urlencode({"message": message})
    return see_other(f"/connections/{connection_id}/reconcile?{query}")
