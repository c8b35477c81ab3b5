"""Test an agreement's connection: ``GET /self``, which needs both tokens and changes nothing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kobling.connectors.base import CHECK_TIMEOUT, ConnectionCheck, run_check, shown_url
from kobling.connectors.economic.client import EconomicClient
from kobling.connectors.economic.settings import EconomicCredentials

REMOTE = "e-conomic"

# The client's fixes speak of transfers (a running agreement that removed the app); while
# setting up, a refusal is as likely a mistyped token, and a 404 or no answer a wrong address.
FIXES = {
    "credentials_rejected": "check both tokens in the system settings: the app secret token of "
    "the Kobling app, and the agreement grant token e-conomic showed when the agreement added "
    "the app (if the agreement removed the app, add it again and enter the new agreement "
    "grant token)",
    "not_found": "check the e-conomic API address in the system settings: normally "
    "https://restapi.e-conomic.com/",
    "unreachable": "check the e-conomic API address in the system settings (normally "
    "https://restapi.e-conomic.com/) and this server's internet connection",
}


def _agreement(answer: Any) -> str:
    """'agreement 1234567 (Shop ApS)', from whatever of the two ``/self`` gave."""
    if not isinstance(answer, dict):
        return "the agreement"
    number = answer.get("agreementNumber")
    company = answer.get("company")
    name = company.get("name") if isinstance(company, dict) else None
    text = f"agreement {number}" if number is not None else "the agreement"
    return f"{text} ({name})" if name else text


def check_connection(
    base_url: str, credentials: Mapping[str, Any], settings: Mapping[str, Any]
) -> ConnectionCheck:
    """Read the agreement the tokens grant; say which agreement and company answered."""

    def probe(creds: EconomicCredentials) -> ConnectionCheck:
        client = EconomicClient(
            base_url,
            creds.app_secret_token.get_secret_value(),
            creds.agreement_grant_token.get_secret_value(),
        )
        client.http.timeout = CHECK_TIMEOUT
        try:
            answer = client.get("self")
        finally:
            client.close()
        return ConnectionCheck(
            ok=True,
            detail=f"Reached e-conomic at {shown_url(base_url)}: {_agreement(answer)} answered "
            "with these tokens.",
            code="ok",
        )

    return run_check(REMOTE, base_url, EconomicCredentials, credentials, probe, FIXES)
