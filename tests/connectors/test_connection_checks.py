""" "Test connection" of WooCommerce and e-conomic against their simulators on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import astuple
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kobling.connectors import registry
from kobling.connectors.base import ConnectionCheck, run_check, shown_url, without_secrets
from kobling.connectors.economic.check import check_connection as check_economic
from kobling.connectors.economic.sandbox import EconomicSandbox
from kobling.connectors.woocommerce.check import check_connection as check_woocommerce
from kobling.connectors.woocommerce.sandbox import WooCommerceSandbox
from kobling.connectors.woocommerce.settings import WooCommerceCredentials
from kobling.web.server import free_port, serve_in_thread

WOO = {
    "consumer_key": "ck_7f3a9c1e5b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a",
    "consumer_secret": "cs_1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d",
}
ECONOMIC = {
    "app_secret_token": "AppSecret-5e1c0b7d9a3f4e2b8c6d0a1f",
    "agreement_grant_token": "Grant-2b9e4d7c1a6f3e8b5d0c9a2f",
}
WRONG_SECRET = "cs_0000wrongwrongwrongwrongwrongwrongwrong"
WRONG_TOKEN = "Grant-wrongwrongwrongwrongwrong"


def closed_port_url() -> str:
    """A loopback address nothing listens on: the port was free a moment ago."""
    return f"http://127.0.0.1:{free_port()}/"


def assert_no_secret(check: ConnectionCheck, *secrets: str) -> None:
    shown = " ".join(str(part) for part in astuple(check))
    for secret in secrets:
        assert secret not in shown


@pytest.fixture
def shop() -> Iterator[tuple[WooCommerceSandbox, str]]:
    sandbox = WooCommerceSandbox(
        consumer_key=WOO["consumer_key"], consumer_secret=WOO["consumer_secret"]
    )
    server = serve_in_thread(sandbox.app)
    try:
        yield sandbox, server.url
    finally:
        server.stop()
        sandbox.close()


@pytest.fixture
def ledger() -> Iterator[str]:
    sandbox = EconomicSandbox(**ECONOMIC)
    server = serve_in_thread(sandbox.app)
    try:
        yield server.url
    finally:
        server.stop()


# --- WooCommerce --------------------------------------------------------------------------------


def test_woocommerce_good_keys_reach_the_shop_and_count_its_orders(shop: Any) -> None:
    sandbox, url = shop
    now = datetime.now(UTC)
    sandbox.generate_orders(3, start=now - timedelta(hours=1), end=now)
    check = check_woocommerce(url, WOO, {})
    assert (check.ok, check.code, check.fix) == (True, "ok", "")
    assert check.detail.startswith(f"Reached the shop at {url}")
    assert "3 orders visible" in check.detail
    assert_no_secret(check, *WOO.values())


def test_woocommerce_keys_in_the_query_work_too(shop: Any) -> None:
    _, url = shop
    check = check_woocommerce(url, WOO, {"auth_in_query": True})
    assert check.ok and "0 orders visible" in check.detail


def test_woocommerce_wrong_secret_is_rejected_with_the_fix(shop: Any) -> None:
    _, url = shop
    check = check_woocommerce(url, {**WOO, "consumer_secret": WRONG_SECRET}, {})
    assert (check.ok, check.code) == (False, "credentials_rejected")
    assert "refused the API keys" in check.detail
    assert "REST API" in check.fix
    assert_no_secret(check, WRONG_SECRET, WOO["consumer_key"], WOO["consumer_secret"])


def test_woocommerce_wrong_address_is_not_found(shop: Any) -> None:
    _, url = shop
    check = check_woocommerce(url + "/not-the-shop/", WOO, {})
    assert (check.ok, check.code) == (False, "not_found")
    assert "Permalinks" in check.fix


def test_woocommerce_unreachable_shop(shop: Any) -> None:
    check = check_woocommerce(closed_port_url(), WOO, {})
    assert (check.ok, check.code) == (False, "unreachable")
    assert "WooCommerce could not be reached" in check.detail
    assert "shop address" in check.fix
    assert_no_secret(check, *WOO.values())


def test_woocommerce_incomplete_keys_name_the_missing_field() -> None:
    check = check_woocommerce(closed_port_url(), {"consumer_key": WOO["consumer_key"]}, {})
    assert (check.ok, check.code) == (False, "credentials_incomplete")
    assert "consumer_secret" in check.detail and "consumer_secret" in check.fix
    assert_no_secret(check, WOO["consumer_key"])


def test_woocommerce_an_empty_key_counts_as_missing() -> None:
    check = check_woocommerce(closed_port_url(), {**WOO, "consumer_key": " "}, {})
    assert check.code == "credentials_incomplete" and "consumer_key" in check.detail


# --- e-conomic ----------------------------------------------------------------------------------


def test_economic_good_tokens_name_the_agreement(ledger: str) -> None:
    check = check_economic(ledger, ECONOMIC, {})
    assert (check.ok, check.code, check.fix) == (True, "ok", "")
    assert "agreement 1234567 (Kobling Sandbox ApS)" in check.detail
    assert_no_secret(check, *ECONOMIC.values())


def test_economic_wrong_grant_token_is_rejected_with_the_fix(ledger: str) -> None:
    check = check_economic(ledger, {**ECONOMIC, "agreement_grant_token": WRONG_TOKEN}, {})
    assert (check.ok, check.code) == (False, "credentials_rejected")
    assert "refused the tokens" in check.detail
    assert "agreement grant token" in check.fix
    assert_no_secret(check, WRONG_TOKEN, *ECONOMIC.values())


def test_economic_unreachable(ledger: str) -> None:
    check = check_economic(closed_port_url(), ECONOMIC, {})
    assert (check.ok, check.code) == (False, "unreachable")
    assert "restapi.e-conomic.com" in check.fix
    assert_no_secret(check, *ECONOMIC.values())


def test_economic_incomplete_tokens_name_the_missing_field() -> None:
    check = check_economic(closed_port_url(), {"app_secret_token": "x" * 20}, {})
    assert (check.ok, check.code) == (False, "credentials_incomplete")
    assert "agreement_grant_token" in check.detail
    assert "X-AgreementGrantToken" in check.fix  # the field's description says where it is


def test_an_unknown_credentials_field_is_named_not_echoed() -> None:
    check = check_economic(closed_port_url(), {**ECONOMIC, "tokne": "S3cretValue99"}, {})
    assert check.code == "credentials_incomplete" and "tokne" in check.detail
    assert_no_secret(check, "S3cretValue99", *ECONOMIC.values())


# --- the shared rules ---------------------------------------------------------------------------


def test_an_unexpected_error_shows_its_class_name_only() -> None:
    def probe(_: WooCommerceCredentials) -> ConnectionCheck:
        raise RuntimeError(f"boom with {WOO['consumer_secret']}")

    check = run_check("WooCommerce", "http://shop.test/", WooCommerceCredentials, WOO, probe)
    assert (check.ok, check.code) == (False, "unexpected")
    assert "RuntimeError" in check.detail and "boom" not in check.detail
    assert_no_secret(check, *WOO.values())


def test_a_secret_echoed_by_the_remote_is_masked() -> None:
    def probe(_: WooCommerceCredentials) -> ConnectionCheck:
        return ConnectionCheck(
            False, f"proxy said: /orders?consumer_secret={WOO['consumer_secret']}"
        )

    check = run_check("WooCommerce", "http://shop.test/", WooCommerceCredentials, WOO, probe)
    assert "consumer_secret=•••" in check.detail
    # A secret this short is left alone: masking it would garble ordinary words.
    short = ConnectionCheck(False, "the cabinet", "open the cabinet")
    assert without_secrets(short, ["cab"]) == short


def test_the_shown_address_drops_user_password_and_query() -> None:
    url = "https://owner:hunter22@shop.example:8443/store/?consumer_secret=cs_x#top"
    assert shown_url(url) == "https://shop.example:8443/store/"


def test_the_registry_offers_these_checks() -> None:
    assert registry.get("woocommerce").check_connection is check_woocommerce
    assert registry.get("economic").check_connection is check_economic
