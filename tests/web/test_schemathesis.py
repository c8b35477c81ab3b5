"""Schemathesis against the OpenAPI document: generated requests never make a server error.

Each generated request is sent twice: with account Beta's token (so every id that exists
belongs to another account or to nobody) and without a token. Neither may ever answer 5xx, and
an answer must match the documented schema. Generated data is random; hypothesis keeps the
run short (``max_examples``) so the suite stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from kobling.engine import runtime as runtime_module
from kobling.engine.runtime import configure
from kobling.web.app import create_app
from tests.support.databases import sqlite_url
from tests.web.conftest import Tenant, make_tenant


def test_no_generated_request_makes_a_server_error(tmp_path: Path) -> None:
    rt = configure(tmp_path / "data", database=sqlite_url(tmp_path / "data"))
    try:
        alpha, beta = make_tenant(rt, "Alpha"), make_tenant(rt, "Beta")
        schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", create_app())
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 12
        for operation in operations:
            _fuzz(operation, alpha, beta)
    finally:
        runtime_module.clear()


def _fuzz(operation: Any, alpha: Tenant, beta: Tenant) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        response = case.call(headers=beta.auth)
        assert response.status_code < 500, (case.method, case.path, response.text[:300])
        case.validate_response(response, checks=(not_a_server_error,))
        # Beta never sees Alpha's records, whatever the generated request was.
        assert alpha.owner.email not in response.text
        assert "Alpha shop" not in response.text
        anonymous = case.call()
        assert anonymous.status_code in (401, 404, 405, 422), anonymous.status_code

    check()
