"""The log: every transfer, searchable by order number and filtered by outcome, state and date;
and one transfer's page with every stage's data, its decisions, changes, and the actions.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from kobling.engine import actions
from kobling.engine.documents import target_document
from kobling.errors import TransferProblem
from kobling.store.models import Transfer
from kobling.web.api import RecordId, transfer_row
from kobling.web.pages import (
    not_found,
    page,
    scope_of,
    see_other,
    signed_in_or_redirect,
    writer,
)
from kobling.web.transfer_view import comparisons, decisions, stages

router = APIRouter(include_in_schema=False)
ACTIONS = {"retry": "Retry", "retransfer": "Transfer again", "skip": "Skip"}
OFFERED = {"held": ("retry", "skip"), "failed": ("retry", "skip"), "done": ("retransfer",)}
OUTCOMES = ("done", "skipped", "held", "failed")
STATES = ("new", "queued", "running", "settled")
PAGE_SIZE = 50


def _day(text: str, name: str, problems: list[str]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.append(f"{name} {text!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-11-01")
        return None


@router.get("/log", response_class=HTMLResponse)
def log_page(
    request: Request,
    number: str = "",
    outcome: str = "",
    state: str = "",
    connection: str = "",
    since: str = "",
    until: str = "",
    page_number: int = 1,
) -> Any:
    session = signed_in_or_redirect(request)
    if isinstance(session, Response):
        return session
    account = scope_of(session)
    problems: list[str] = []
    first, last = _day(since, "From", problems), _day(until, "To", problems)
    connections = account.connections()
    chosen = next((c for c in connections if str(c.id) == connection), None)
    page_number = max(1, min(page_number, 10_000))
    rows = account.transfers(
        limit=PAGE_SIZE + 1,
        offset=(page_number - 1) * PAGE_SIZE,
        outcome=outcome if outcome in OUTCOMES else None,
        state=state if state in STATES else None,
        number=number[:100] or None,
        connection_id=chosen.id if chosen else None,
        since=datetime.combine(first, time(), tzinfo=UTC) if first else None,
        # "To" is inclusive: everything before the next day's midnight.
        until=datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC) if last else None,
    )
    filters = {
        "number": number,
        "outcome": outcome,
        "state": state,
        "connection": connection,
        "since": since,
        "until": until,
    }
    query = {k: v for k, v in filters.items() if v}
    return page(
        request,
        session,
        "log.html",
        transfers=[transfer_row(t) for t in rows[:PAGE_SIZE]],
        filters=filters,
        problems=problems,
        outcomes=OUTCOMES,
        states=STATES,
        connections=connections,
        page_number=page_number,
        previous=urlencode({**query, "page_number": page_number - 1}) if page_number > 1 else "",
        next=urlencode({**query, "page_number": page_number + 1}) if len(rows) > PAGE_SIZE else "",
    )


@router.get("/transfers/{transfer_id}", response_class=HTMLResponse)
def transfer_page(request: Request, transfer_id: RecordId, message: str = "") -> Any:
    session = signed_in_or_redirect(request)
    if isinstance(session, Response):
        return session
    account = scope_of(session)
    found = account.transfer(transfer_id)
    snapshots = account.snapshots(transfer_id)
    if found is None or snapshots is None:
        return not_found(f"Transfer {transfer_id}")
    return page(
        request,
        session,
        "transfer.html",
        t=found,
        connection=account.connection(found.connection_id),
        stages=stages(snapshots),
        decisions=decisions(snapshots),
        comparisons=comparisons(snapshots),
        actions=[(a, ACTIONS[a]) for a in OFFERED.get(found.outcome or "", ())],
        message=message[:200],
        version=_version(found),
    )


def _version(t: Transfer) -> str:
    return f"{t.state}.{t.outcome}.{t.stage}.{t.attempts}.{t.updated_at.timestamp()}"


@router.get("/transfers/{transfer_id}/changed")
def transfer_changed(request: Request, transfer_id: RecordId, seen: str = "") -> Response:
    """204 while the transfer is as the page shows it; else tell htmx to reload the page."""
    session = signed_in_or_redirect(request)
    if isinstance(session, Response):
        return Response(status_code=401)
    found = scope_of(session).transfer(transfer_id)
    if found is None:
        return Response(status_code=404)
    if _version(found) == seen:
        return Response(status_code=204)
    return Response(status_code=200, headers={"HX-Refresh": "true"})


@router.post("/transfers/{transfer_id}/{action}")
async def transfer_action(
    request: Request, transfer_id: RecordId, action: str, csrf: str = Form("")
) -> Any:
    session = writer(request, csrf, "change transfers")
    if isinstance(session, Response):
        return session
    if action not in ACTIONS:
        return not_found(f"The action {action!r}")
    found = scope_of(session).transfer(transfer_id)
    if found is None:
        return not_found(f"Transfer {transfer_id}")
    do = {"retry": actions.retry, "retransfer": actions.retransfer, "skip": actions.skip}[action]
    try:
        await run_in_threadpool(do, found, session.person.email)
        message = f"{ACTIONS[action]}: accepted"
    except actions.ActionRefused as refusal:
        message = f"{refusal.reason}; {refusal.fix}"
    return see_other(f"/transfers/{transfer_id}?{urlencode({'message': message})}")


@router.get("/transfers/{transfer_id}/document")
async def transfer_document(request: Request, transfer_id: RecordId) -> Any:
    """The target's own rendering of the document (its PDF), fetched with the system's key."""
    session = signed_in_or_redirect(request)
    if isinstance(session, Response):
        return session
    found = scope_of(session).transfer(transfer_id)
    if found is None:
        return not_found(f"Transfer {transfer_id}")
    if not found.target_document_id:
        return HTMLResponse(
            "This transfer has no document in the accounting system yet: its page says why.",
            status_code=404,
        )
    try:
        name, content = await run_in_threadpool(
            target_document, found.connection_id, found.target_document_id
        )
    except TransferProblem as problem:
        return HTMLResponse(
            f"The accounting system did not hand out document {found.target_document_id}: "
            f"{problem.reason}. {problem.fix}",
            status_code=502,
        )
    media = "application/pdf" if name.endswith(".pdf") else "application/octet-stream"
    disposition = f'inline; filename="{re.sub(r"[^A-Za-z0-9._-]", "_", name)}"'
    return Response(content, media_type=media, headers={"Content-Disposition": disposition})
