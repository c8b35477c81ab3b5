"""HTTP access to e-conomic's REST API (fact sheet: shared/reference/apis/e-conomic.md)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

from kobling.connectors.economic.escaping import escape_filter_value
from kobling.connectors.http import HttpClient
from kobling.connectors.jsonutil import loads

PAGE_SIZE = 1000  # the maximum page size (§3)


def _validation_messages(errors: Any, prefix: str = "") -> list[str]:
    """Flatten e-conomic's annotated errors (§11) into readable lines."""
    found: list[str] = []
    if isinstance(errors, dict):
        for prop, value in errors.items():
            if prop == "errors" and isinstance(value, list):
                for item in value:
                    code = item.get("errorCode", "")
                    found.append(f"{prefix or 'request'}: {item.get('message', '')} ({code})")
            else:
                found += _validation_messages(value, f"{prefix}.{prop}" if prefix else prop)
    elif isinstance(errors, list):
        for item in errors:
            index = item.get("arrayIndex", "?") if isinstance(item, dict) else "?"
            found += _validation_messages(item, f"{prefix}[{index}]")
    return found


def explain(response: httpx.Response) -> tuple[str, str]:
    try:
        body = loads(response.content)
    except ValueError:
        body = {}
    status = response.status_code
    if status == 401:
        return (
            "e-conomic refused the tokens (401)",
            "the agreement may have removed the app: add it again in e-conomic and enter the "
            "new agreement grant token in the system settings",
        )
    if status == 403:
        return ("e-conomic denied access (403)", "give the app's role access to invoicing")
    message = str(body.get("message", "")) if isinstance(body, dict) else ""
    details = _validation_messages(body.get("errors")) if isinstance(body, dict) else []
    reason = f"e-conomic answered {status}: {message}"
    if details:
        reason += " " + "; ".join(details)
    return (reason, "")


class EconomicClient:
    def __init__(self, base_url: str, app_secret_token: str, agreement_grant_token: str) -> None:
        self.http = HttpClient(
            base_url=base_url.rstrip("/") + "/",
            remote="e-conomic",
            headers={
                "X-AppSecretToken": app_secret_token,
                "X-AgreementGrantToken": agreement_grant_token,
            },
            explain=explain,
        )

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return loads(self.http.request("GET", path, params=params).content)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return loads(self.http.request("POST", path, json_body=body).content)

    def put(self, path: str, body: dict[str, Any]) -> Any:
        return loads(self.http.request("PUT", path, json_body=body).content)

    def find(self, path: str, prop: str, value: str) -> list[dict[str, Any]]:
        """Every item of a collection whose ``prop`` equals ``value`` (escaped per §3)."""
        return list(self.collection(path, f"{prop}$eq:{escape_filter_value(value)}"))

    def collection(self, path: str, filter_expr: str | None = None) -> Iterator[dict[str, Any]]:
        page = 0
        while True:
            params: dict[str, Any] = {"skippages": page, "pagesize": PAGE_SIZE}
            if filter_expr:
                params["filter"] = filter_expr
            body = self.get(path, params)
            yield from body.get("collection", [])
            if not body.get("pagination", {}).get("nextPage"):
                return
            page += 1

    def close(self) -> None:
        self.http.close()
