"""The web server: webhook intake under /hooks, a minimal home page, health, a small API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates

from kobling import __version__
from kobling.engine.runtime import runtime
from kobling.engine.webhook_intake import receive_delivery
from kobling.store import repository as repo

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _transfer_row(t: Any) -> dict[str, Any]:
    return {
        "id": t.id,
        "key": t.key,
        "source_id": t.source_id,
        "number": t.source_number,
        "state": t.state,
        "outcome": t.outcome,
        "stage": t.stage,
        "reason": t.reason,
        "fix": t.fix,
        "document": t.target_document_id,
        "attempts": t.attempts,
        "updated_at": t.updated_at.isoformat() if t.updated_at else None,
    }


def create_app(mounts: dict[str, Any] | None = None) -> FastAPI:
    app = FastAPI(title="Kobling", version=__version__)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        rt = runtime()
        return {"status": "ok", "version": __version__, "engine": rt.launched}

    @app.post("/hooks/{connection_name}")
    async def hook(connection_name: str, request: Request) -> JSONResponse:
        body = await request.body()
        answer = await run_in_threadpool(
            receive_delivery, connection_name, dict(request.headers), body
        )
        return JSONResponse({"message": answer.message}, status_code=answer.status_code)

    @app.get("/api/v1/transfers")
    def api_transfers(limit: int = 50, outcome: str | None = None) -> list[dict[str, Any]]:
        rows = repo.list_transfers(runtime().db, limit=min(limit, 500), outcome=outcome)
        return [_transfer_row(t) for t in rows]

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request) -> HTMLResponse:
        db = runtime().db
        context = {
            "integrations": repo.list_integrations(db),
            "transfers": [_transfer_row(t) for t in repo.list_transfers(db, limit=50)],
            "counts": repo.outcome_counts(db),
            "version": __version__,
        }
        return templates.TemplateResponse(request, "home.html", context)

    for prefix, sub in (mounts or {}).items():
        app.mount(prefix, sub)
    return app
