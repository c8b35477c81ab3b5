"""Test a shop's connection: one authenticated read of its orders (fact sheet §2, §3).

The shop has no cheaper authenticated endpoint that every WooCommerce serves; one order
(``per_page=1``) is small, and ``X-WP-Total`` tells how many orders the keys can see.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter

from kobling.connectors.base import CHECK_TIMEOUT, ConnectionCheck, run_check, shown_url
from kobling.connectors.woocommerce.client import WooCommerceClient
from kobling.connectors.woocommerce.settings import WooCommerceCredentials

REMOTE = "WooCommerce"

# The client's own fixes speak of transfers ("check that the order still exists"); while
# setting up, a 404 or no answer means the address is wrong.
FIXES = {
    "not_found": "check the shop address in the system settings: it is the address of the "
    "WordPress site (e.g. https://shop.example/), WooCommerce must be active there, and "
    "WordPress → Settings → Permalinks must not be set to Plain",
    "unreachable": "check the shop address in the system settings (e.g. https://shop.example/) "
    "and that the shop is online",
}


def _auth_in_query(settings: Mapping[str, Any]) -> bool:
    # Only this setting matters for reaching the shop. The others are validated where they are
    # saved, so a connection can be tested before they are filled in.
    return TypeAdapter(bool).validate_python(settings.get("auth_in_query", False))


def check_connection(
    base_url: str, credentials: Mapping[str, Any], settings: Mapping[str, Any]
) -> ConnectionCheck:
    """Read one order with the keys; say whether the shop answered and how many it has."""

    def probe(creds: WooCommerceCredentials) -> ConnectionCheck:
        client = WooCommerceClient(
            base_url,
            creds.consumer_key.get_secret_value(),
            creds.consumer_secret.get_secret_value(),
            auth_in_query=_auth_in_query(settings),
        )
        client.http.timeout = CHECK_TIMEOUT
        try:
            response = client.get("orders", {"per_page": 1})
        finally:
            client.close()
        total = response.headers.get("X-WP-Total", "")
        plural = "" if total == "1" else "s"
        visible = f", {total} order{plural} visible" if total.isdigit() else ""
        return ConnectionCheck(
            ok=True,
            detail=f"Reached the shop at {shown_url(base_url)}: WooCommerce REST API v3 "
            f"answered{visible}.",
            code="ok",
        )

    return run_check(REMOTE, base_url, WooCommerceCredentials, credentials, probe, FIXES)
