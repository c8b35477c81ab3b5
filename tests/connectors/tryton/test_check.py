""" "Test connection" of Tryton: the key against a real Tryton 8.2, the login over JSON-RPC."""

from __future__ import annotations

from dataclasses import astuple
from typing import Any

import pytest

from kobling.connectors.base import ConnectionCheck
from kobling.connectors.tryton.check import check_connection
from kobling.sandbox import tryton_ledger
from kobling.web.server import free_port
from tests.connectors.tryton.conftest import TrytonDatabase

KEY = "f" * 64


def ledger(db: TrytonDatabase) -> tuple[dict[str, Any], dict[str, Any]]:
    connection = tryton_ledger(db.directory, url=db.url)
    return dict(connection.credentials), dict(connection.target_settings)


def shown(check: ConnectionCheck) -> str:
    return " ".join(str(part) for part in astuple(check))


@pytest.mark.tryton
@pytest.mark.slow
def test_the_key_and_the_login_work(tryton: TrytonDatabase) -> None:
    credentials, settings = ledger(tryton)
    check = check_connection(tryton.url, credentials, settings)
    assert (check.ok, check.code, check.fix) == (True, "ok", ""), check
    assert check.detail.startswith(f"Reached Tryton at {tryton.url}: the key reads company")
    assert "payments can be registered" in check.detail
    assert credentials["application_key"] not in shown(check)
    assert credentials["password"] not in shown(check)


@pytest.mark.tryton
@pytest.mark.slow
def test_without_a_login_invoices_work_but_payments_are_named_as_missing(
    tryton: TrytonDatabase,
) -> None:
    credentials, _ = ledger(tryton)
    check = check_connection(
        tryton.url, {**credentials, "login": "", "password": None}, {"company": None}
    )
    assert check.ok and check.code == "ok"
    assert "no login is set, so payments cannot be registered" in check.detail


@pytest.mark.tryton
@pytest.mark.slow
def test_a_wrong_key_is_rejected_with_the_fix(tryton: TrytonDatabase) -> None:
    credentials, settings = ledger(tryton)
    check = check_connection(tryton.url, {**credentials, "application_key": KEY}, settings)
    assert (check.ok, check.code) == (False, "credentials_rejected")
    assert "rejected the application key" in check.detail
    assert "Applications" in check.fix
    assert KEY not in shown(check)
    assert credentials["password"] not in shown(check)


@pytest.mark.tryton
@pytest.mark.slow
def test_a_wrong_password_says_payments_cannot_be_registered(tryton: TrytonDatabase) -> None:
    credentials, settings = ledger(tryton)
    wrong = "not-the-admin-password"
    check = check_connection(tryton.url, {**credentials, "password": wrong}, settings)
    assert (check.ok, check.code) == (False, "credentials_rejected")
    assert "invoices can be made, but payments cannot" in check.detail
    assert "refused the login 'admin'" in check.detail
    assert "password" in check.fix
    assert wrong not in shown(check) and credentials["application_key"] not in shown(check)


@pytest.mark.tryton
@pytest.mark.slow
def test_a_company_that_does_not_exist_is_named(tryton: TrytonDatabase) -> None:
    credentials, settings = ledger(tryton)
    check = check_connection(tryton.url, credentials, {**settings, "company": 9999})
    assert (check.ok, check.code) == (False, "not_found")
    assert "no company with id 9999" in check.detail


def test_an_unreachable_server_says_to_start_it() -> None:
    url = f"http://127.0.0.1:{free_port()}/kobling/"
    check = check_connection(url, {"application_key": KEY}, {"company": 1})
    assert (check.ok, check.code) == (False, "unreachable")
    assert "Start the Tryton server" in check.fix
    assert KEY not in shown(check)


def test_an_address_without_a_database_is_named() -> None:
    check = check_connection("http://127.0.0.1:8000/", {"application_key": KEY}, {})
    assert (check.ok, check.code) == (False, "not_found")
    assert "http://host:port/<database>/" in check.fix


@pytest.mark.parametrize(
    ("credentials", "missing"),
    [
        ({}, "application_key"),
        ({"application_key": KEY, "login": "admin"}, "password"),
        ({"application_key": KEY, "password": "s3cret-password"}, "login"),
    ],
)
def test_incomplete_credentials_name_the_missing_field(
    credentials: dict[str, Any], missing: str
) -> None:
    check = check_connection("http://127.0.0.1:9/kobling/", credentials, {})
    assert (check.ok, check.code) == (False, "credentials_incomplete")
    assert missing in check.detail and missing in check.fix
    assert "s3cret-password" not in shown(check)
