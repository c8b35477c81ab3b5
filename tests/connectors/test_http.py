"""The shared HTTP layer: which failures it retries by itself, and which it must not."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from kobling.connectors.http import HttpClient, RetryPolicy, parse_retry_after
from kobling.connectors.jsonutil import dumps
from kobling.errors import PermanentError, TransientError


def client(handler, slept: list[float]) -> HttpClient:
    return HttpClient(
        base_url="http://remote.test/",
        remote="Remote",
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(attempts=3, base_delay=0.01),
        sleep=slept.append,
    )


def test_429_waits_as_long_as_asked_then_succeeds() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "2"})
        return httpx.Response(201, json={"ok": True})

    slept: list[float] = []
    response = client(handler, slept).request("POST", "things", json_body={"a": 1})
    assert response.status_code == 201
    assert calls == ["POST", "POST"] and slept == [2.0]


def test_post_with_5xx_is_not_retried_blindly() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        return httpx.Response(500, json={"message": "oops"})

    with pytest.raises(TransientError) as caught:
        client(handler, []).request("POST", "invoices", json_body={})
    assert caught.value.uncertain is True
    assert calls == ["POST"]


def test_get_with_5xx_is_retried_until_attempts_run_out() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        return httpx.Response(503)

    slept: list[float] = []
    with pytest.raises(TransientError):
        client(handler, slept).request("GET", "invoices")
    assert len(calls) == 3 and len(slept) == 2


def test_connect_error_is_retried_even_for_post() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if len(calls) < 2:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={})

    assert client(handler, []).request("POST", "x", json_body={}).status_code == 200
    assert calls == ["POST", "POST"]


def test_validation_error_is_permanent_and_explained() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"message": "Validation error."})

    http = client(handler, [])
    http.explain = lambda r: (f"remote said {r.json()['message']}", "fix the data")
    with pytest.raises(PermanentError) as caught:
        http.request("POST", "x", json_body={})
    assert caught.value.reason == "remote said Validation error."
    assert caught.value.fix == "fix the data"


def test_retry_after_as_http_date() -> None:
    now = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Sat, 21 Nov 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("soon") is None


def test_json_bodies_carry_exact_decimals() -> None:
    from decimal import Decimal

    assert dumps({"unitNetPrice": Decimal("33.30"), "q": Decimal("1E+1")}) == (
        b'{"unitNetPrice":33.30,"q":10}'
    )
    with pytest.raises(TypeError):
        dumps({"x": 0.1})
