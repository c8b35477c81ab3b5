"""The dashboard's "test connection": one cheap authenticated read, recorded for the page.

The connector does the read (``ConnectorSpec.check_connection``) and never raises for remote
trouble; the result is stored so that the systems page and the home page's "needs attention"
list show it until the next test.
"""

from __future__ import annotations

from kobling.connectors import registry
from kobling.connectors.base import ConnectionCheck
from kobling.engine.runtime import runtime
from kobling.engine.settings import SettingsError, validate_credentials
from kobling.store import health
from kobling.store import repository as repo


def credentials_problem(system_id: int) -> str:
    """'' when the stored credentials have every field the connector needs, else the problem."""
    rt = runtime()
    system = repo.load_system(rt.db, rt.box, system_id)
    try:
        validate_credentials(system.kind, system.credentials)
    except SettingsError as error:
        return str(error)
    return ""


def check_system(system_id: int) -> ConnectionCheck:
    rt = runtime()
    system = repo.load_system(rt.db, rt.box, system_id)
    spec = registry.get(system.kind)
    if spec.check_connection is None:
        result = ConnectionCheck(
            ok=False,
            detail=f"{spec.title} has no connection test yet",
            fix="transfer one order and read its log instead",
            code="unsupported",
        )
    else:
        result = spec.check_connection(system.base_url, system.credentials, system.settings)
    health.record_system_check(
        rt.db, system_id, ok=result.ok, code=result.code, detail=result.detail, fix=result.fix
    )
    return result
