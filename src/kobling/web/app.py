"""The web server: webhook intake under /hooks, the dashboard, the REST API, health."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from kobling import __version__
from kobling.engine.runtime import runtime
from kobling.engine.webhook_intake import receive_delivery
from kobling.web import (
    api,
    backfill_pages,
    connection_pages,
    explain_page,
    home_page,
    log_pages,
    pages,
    people_pages,
    problems,
    reconcile_pages,
    system_pages,
)

STATIC = Path(__file__).parent / "static"


def create_app(mounts: dict[str, Any] | None = None) -> FastAPI:
    app = FastAPI(
        title="Kobling",
        version=__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    problems.install(app)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, Any]:
        rt = runtime()
        return {"status": "ok", "version": __version__, "engine": rt.launched}

    @app.post("/hooks/{connection_name}", include_in_schema=False)
    async def hook(connection_name: str, request: Request) -> JSONResponse:
        body = await request.body()
        answer = await run_in_threadpool(
            receive_delivery, connection_name, dict(request.headers), body
        )
        return JSONResponse({"message": answer.message}, status_code=answer.status_code)

    app.include_router(api.router)
    dashboard_parts = (
        pages,
        home_page,
        log_pages,
        system_pages,
        connection_pages,
        backfill_pages,
        reconcile_pages,
        explain_page,
        people_pages,
    )
    for dashboard in dashboard_parts:
        app.include_router(dashboard.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for prefix, sub in (mounts or {}).items():
        app.mount(prefix, sub)
    return app
