"""HTTP access to a shop's REST API v3 (fact sheet: shared/reference/apis/woocommerce.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import httpx

from kobling.connectors.http import HttpClient

PAGE_SIZE = 100  # the maximum WooCommerce accepts (§3); 101 is a 400


def explain(response: httpx.Response) -> tuple[str, str]:
    """WooCommerce errors are ``{"code", "message", "data": {"status"}}`` (§9)."""
    try:
        body = response.json()
        code, message = str(body.get("code", "")), str(body.get("message", ""))
    except (ValueError, AttributeError):
        code, message = "", response.text[:200]
    status = response.status_code
    if status in (401, 403):
        return (
            f"the shop refused the API keys ({code or status}: {message})",
            "create a REST API key with read/write permission in WooCommerce → Settings → "
            "Advanced → REST API and enter it in the system settings",
        )
    if status == 404:
        return (f"not found in the shop ({code}: {message})", "check that the order still exists")
    return (f"the shop answered {status} ({code}: {message})", "")


def read_json(response: httpx.Response) -> Any:
    """Parse JSON keeping every number exact: decimals as Decimal, ids as int."""
    return json.loads(response.content, parse_float=Decimal)


class WooCommerceClient:
    def __init__(
        self,
        base_url: str,
        consumer_key: str,
        consumer_secret: str,
        *,
        auth_in_query: bool = False,
    ) -> None:
        api = base_url.rstrip("/") + "/wp-json/wc/v3/"
        self._query_auth = (
            {"consumer_key": consumer_key, "consumer_secret": consumer_secret}
            if auth_in_query
            else {}
        )
        self.http = HttpClient(
            base_url=api,
            remote="WooCommerce",
            auth=None if auth_in_query else (consumer_key, consumer_secret),
            explain=explain,
        )

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> httpx.Response:
        return self.http.request("GET", path, params={**(params or {}), **self._query_auth})

    def send(self, method: str, path: str, body: Any) -> Any:
        response = self.http.request(method, path, params=self._query_auth, json_body=body)
        return read_json(response)

    def paginate(self, path: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Every item of a collection, following ``X-WP-TotalPages``."""
        page = 1
        while True:
            response = self.get(path, {**params, "page": page, "per_page": PAGE_SIZE})
            items = read_json(response)
            yield from items
            total_pages = int(response.headers.get("X-WP-TotalPages", "1") or 1)
            if page >= total_pages or not items:
                return
            page += 1

    def close(self) -> None:
        self.http.close()
