"""Tryton's JSON-RPC, for what its REST API cannot do: running wizards (the invoice's *pay*).

REST (``client.py``) needs only the application key and does everything else. Paying an
invoice, though, must reconcile the payment with the invoice's receivable line, and the
reconciliation field is read-only to every remote caller; only the pay wizard does it (with
``account.move.line.reconcile`` inside the server). Wizards are reachable over JSON-RPC only, and
JSON-RPC needs a user's login and password (``common.db.login`` gives a session). So a
connection that registers payments needs a login beside the key.

Requests go to ``/<db>/rpc/`` (fact sheet, pitfall 9). Errors come back with HTTP 200 as
``{"error": ["UserError", [message, description, domain]]}`` or
``{"error": ["UserWarning", [name, message, description]]}``; unlike REST, a warning carries its
name, which is what ``res.user.warning.skip`` needs.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Mapping
from typing import Any

import httpx

from kobling.connectors.http import HttpClient
from kobling.connectors.tryton.client import (
    REJECTED_FIX,
    decode,
    encode,
    user_error_problem,
)
from kobling.errors import PermanentError, TransientError


class TrytonWarning(PermanentError):
    """A warning Tryton asks a user to confirm; ``name`` is what skipping it takes."""

    def __init__(self, reason: str, fix: str = "", *, code: str = "", name: str = "") -> None:
        super().__init__(reason, fix, code=code)
        self.name = name

    def _extra(self) -> dict[str, object]:
        return {"name": self.name}


def _login_problem(login: str) -> PermanentError:
    return PermanentError(
        f"Tryton refused the login {login!r} for JSON-RPC (wrong password, or the user is "
        "inactive)",
        "enter the login and password of a Tryton user with the Account group in the system "
        "settings (only needed for registering payments)",
        code="login_rejected",
    )


class TrytonRpc:
    """One JSON-RPC session with a Tryton database, opened on first use."""

    def __init__(
        self,
        url: str,
        login: str,
        password: str,
        *,
        context: Mapping[str, Any] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/") + "/"
        self.login = login
        self._password = password
        self.context: dict[str, Any] = dict(context or {})
        self._http = HttpClient(base_url=self.url, remote="Tryton", transport=transport)
        self._session: tuple[int, str] | None = None
        self._ids = itertools.count(1)

    def _post(self, method: str, params: list[Any], headers: Mapping[str, str]) -> Any:
        body = {"id": next(self._ids), "method": method, "params": encode(params)}
        self._http.client.headers.update(headers)
        try:
            response = self._http.request("POST", "rpc/", json_body=body)
        except TransientError as exc:
            if exc.code == "connect":
                raise TransientError(
                    f"Tryton at {self.url} could not be reached",
                    "start the Tryton server and check the URL in the system settings; Kobling "
                    "retries by itself",
                    code="connect",
                ) from exc
            raise
        except PermanentError as exc:
            if exc.code == "401" or "401" in exc.reason:
                raise _login_problem(self.login) from exc
            raise
        answer = decode(response.content)
        if isinstance(answer, dict) and answer.get("error"):
            raise self._error(answer["error"])
        return answer.get("result") if isinstance(answer, dict) else None

    def _error(self, error: Any) -> PermanentError:
        kind, args = (
            (error[0], error[1]) if isinstance(error, list) and len(error) > 1 else ("", [])
        )
        if kind == "UserWarning":
            name, message = str(args[0]), str(args[1])
            description = str(args[2]) if len(args) > 2 else ""
            problem = user_error_problem(message, description)
            return TrytonWarning(
                problem.reason if problem else f"Tryton warns: {message}",
                problem.fix if problem else "accept the warning in Tryton",
                code=problem.code if problem else "warning",
                name=name,
            )
        if kind == "UserError":
            message = str(args[0])
            description = str(args[1]) if len(args) > 1 else ""
            problem = user_error_problem(message, description)
            if problem is not None:
                return PermanentError(problem.reason, problem.fix, code=problem.code)
            said = message + (f" ({description})" if description else "")
            return PermanentError(f"Tryton refused: {said}", REJECTED_FIX, code="rejected")
        return PermanentError(
            f"Tryton answered with an error: {str(error)[:300]}",
            "see the Tryton server log",
            code="server_error",
        )

    def _ensure_session(self) -> tuple[int, str]:
        if self._session is None:
            result = self._post(
                "common.db.login", [self.login, {"password": self._password}, "en"], {}
            )
            # [user id, session key] (8.2 adds a third item, the session's expiry hint).
            if not isinstance(result, list) or len(result) < 2:
                raise _login_problem(self.login)
            self._session = (int(result[0]), str(result[1]))
        return self._session

    def call(self, method: str, *params: Any, context: Mapping[str, Any] | None = None) -> Any:
        """``model.account.invoice.read`` and friends; the context goes last, as Tryton wants."""
        user, session = self._ensure_session()
        token = base64.b64encode(f"{self.login}:{user}:{session}".encode()).decode()
        headers = {"Authorization": f"Session {token}"}
        return self._post(method, [*params, {**self.context, **(context or {})}], headers)

    def run_wizard(
        self,
        wizard: str,
        model: str,
        record_id: int,
        state: str,
        data: Mapping[str, Any],
    ) -> Any:
        """Create wizard ``wizard`` on one record, execute ``state`` with ``data``, clean up."""
        context = {"active_model": model, "active_id": record_id, "active_ids": [record_id]}
        session_id, _, _ = self.call(f"wizard.{wizard}.create")
        try:
            return self.call(
                f"wizard.{wizard}.execute", session_id, dict(data), state, context=context
            )
        finally:
            self.call(f"wizard.{wizard}.delete", session_id, context=context)

    def close(self) -> None:
        self._http.close()
