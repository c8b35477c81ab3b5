"""Test a Tryton connection: the REST key reads the company; a configured login opens a session.

Invoices need only the key (REST), but registering payments runs the pay wizard over JSON-RPC
with a user's login (see ``rpc.py``), so the detail says whether payments can be registered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from kobling.connectors.base import (
    CHECK_TIMEOUT,
    ConnectionCheck,
    failed_check,
    run_check,
    sentence,
    shown_url,
)
from kobling.connectors.tryton.client import TrytonClient
from kobling.connectors.tryton.rpc import TrytonRpc
from kobling.connectors.tryton.settings import TrytonCredentials
from kobling.errors import TransferProblem

REMOTE = "Tryton"

URL_FIX = "enter the address as http://host:port/<database>/ in the system settings"
# The client's fix for no answer ends "Kobling retries by itself", true of transfers only.
FIXES = {
    "not_found": URL_FIX,
    "unreachable": "start the Tryton server (`kobling tryton serve DIR` for a local sandbox) "
    "and check the address in the system settings (http://host:port/<database>/)",
}


def _company_id(settings: Mapping[str, Any]) -> int | None:
    # Only the company matters here; the other settings are validated where they are saved,
    # so the connection can be tested before they are filled in.
    company = settings.get("company")
    return company if isinstance(company, int) and not isinstance(company, bool) else None


def _read_company(client: TrytonClient, company: int | None) -> dict[str, Any] | None:
    """The configured company, or any company when none is configured yet (one small search)."""
    domain = [("id", "=", company)] if company is not None else []
    found = client.search("company.company", domain, fields=["rec_name"], limit=1)
    return found[0] if found else None


def _log_in(base_url: str, creds: TrytonCredentials) -> None:
    """Open a JSON-RPC session with the login and make one call in it, as payments do."""
    password = creds.password.get_secret_value() if creds.password else ""
    rpc = TrytonRpc(base_url, creds.login, password)
    try:
        rpc.call("model.res.user.get_preferences", True)
    finally:
        rpc.close()


def _with_payments(base_url: str, creds: TrytonCredentials, answered: str) -> ConnectionCheck:
    """Whether payments can be registered, after the key has worked (``answered``)."""
    if not creds.login:
        return ConnectionCheck(
            ok=True,
            detail=f"{answered}; no login is set, so payments cannot be registered (invoices can).",
            code="ok",
        )
    try:
        _log_in(base_url, creds)
    except TransferProblem as error:
        failed = failed_check(REMOTE, base_url, error, FIXES)
        detail = f"{answered}, so invoices can be made, but payments cannot: {error.reason}"
        return replace(failed, detail=sentence(detail))
    return ConnectionCheck(
        ok=True,
        detail=f"{answered}; the login {creds.login!r} works, so payments can be registered.",
        code="ok",
    )


def _login_incomplete(creds: TrytonCredentials) -> ConnectionCheck | None:
    # The target ignores half a login (no payments); whoever entered it meant payments.
    has_password = bool(creds.password and creds.password.get_secret_value())
    if bool(creds.login) == has_password:
        return None
    missing = "password" if creds.login else "login"
    return ConnectionCheck(
        ok=False,
        detail=f"The Tryton credentials are incomplete: {missing} missing (registering "
        "payments needs both the login and the password of a Tryton user).",
        fix=f"Enter the {missing} in the system settings, or clear the other one if payments "
        "are registered by hand.",
        code="credentials_incomplete",
    )


def check_connection(
    base_url: str, credentials: Mapping[str, Any], settings: Mapping[str, Any]
) -> ConnectionCheck:
    """Read the company with the key; then, if a login is set, log in as payments would."""
    company = _company_id(settings)

    def probe(creds: TrytonCredentials) -> ConnectionCheck:
        if (half := _login_incomplete(creds)) is not None:
            return half
        try:
            client = TrytonClient(
                base_url, creds.application_key.get_secret_value(), timeout=CHECK_TIMEOUT
            )
        except ValueError:  # not http(s)://host/<database>/
            return ConnectionCheck(
                ok=False,
                detail=f"{shown_url(base_url)!r} is not the address of a Tryton database.",
                fix=sentence(URL_FIX),
                code="not_found",
            )
        with client:
            found = _read_company(client, company)
        where = f"Tryton at {shown_url(base_url)}"
        if found is None:
            return _no_company(where, company)
        answered = f"Reached {where}: the key reads company {found.get('rec_name', '')!r}"
        return _with_payments(base_url, creds, answered)

    return run_check(REMOTE, base_url, TrytonCredentials, credentials, probe, FIXES)


def _no_company(where: str, company: int | None) -> ConnectionCheck:
    if company is None:
        return ConnectionCheck(
            ok=False,
            detail=f"Reached {where}, but the database has no company yet.",
            fix="Create the company in Tryton (Company > Companies), then test again.",
            code="not_found",
        )
    return ConnectionCheck(
        ok=False,
        detail=f"Reached {where}, but it has no company with id {company}.",
        fix="Choose the id of an existing company in the connection settings (Tryton: "
        "Company > Companies).",
        code="not_found",
    )
