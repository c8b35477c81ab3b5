"""Errors of the REST API as ``application/problem+json`` (RFC 9457)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

PROBLEM = "application/problem+json"
TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    422: "Invalid input",
    429: "Too many attempts",
}


class Problem(Exception):
    """Raise to answer with a problem document: what went wrong and what to do."""

    def __init__(self, status: int, detail: str, *, fix: str = "", **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.fix = fix
        self.extra = extra


def problem_response(status: int, detail: str, **extra: Any) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **{k: v for k, v in extra.items() if v not in (None, "")},
    }
    headers = {"WWW-Authenticate": 'Bearer realm="kobling"'} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def install(app: FastAPI) -> None:
    """Answer API errors (only under /api/) as problem documents."""

    @app.exception_handler(Problem)
    async def on_problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.detail, fix=exc.fix, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e.get("loc", ())[1:]), "problem": e.get("msg")}
            for e in exc.errors()
        ]
        return problem_response(422, "the request does not match the API's schema", errors=errors)

    @app.exception_handler(HTTPException)
    async def on_http(request: Request, exc: HTTPException) -> Any:
        if request.url.path.startswith("/api/"):
            return problem_response(exc.status_code, str(exc.detail))
        from fastapi.exception_handlers import http_exception_handler

        return await http_exception_handler(request, exc)
