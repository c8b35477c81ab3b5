"""The dashboard's "why?" box: why an order was transferred, or why not, in plain words.

The same answer as ``kobling explain``: the checks run in order and the first that explains
the order is shown with its details, the fix, and links to the transfer and the document.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from kobling.engine.explain import explain
from kobling.web.pages import page, scope_of, signed_in_or_redirect

router = APIRouter(include_in_schema=False)


@router.get("/explain", response_class=HTMLResponse)
async def explain_page(request: Request, number: str = "", connection: str = "") -> Any:
    session = signed_in_or_redirect(request)
    if isinstance(session, Response):
        return session
    connections = scope_of(session).connections()
    chosen = next((c for c in connections if str(c.id) == connection), None)
    if chosen is None and len(connections) == 1:
        chosen = connections[0]
    answer = None
    number = number.strip().lstrip("#")[:100]
    if number and chosen is not None:
        answer = await run_in_threadpool(explain, chosen.id, number)
    return page(
        request,
        session,
        "explain.html",
        number=number,
        connections=connections,
        chosen=chosen,
        answer=answer,
    )
