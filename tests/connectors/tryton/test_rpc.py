"""Tryton's JSON-RPC without a server: login, the session header, errors and warnings."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from kobling.connectors.tryton.rpc import TrytonRpc, TrytonWarning
from kobling.errors import PermanentError

URL = "http://tryton.invalid:8000/shop/"


def rpc_answering(answers: dict[str, Any]) -> tuple[TrytonRpc, list[dict[str, Any]]]:
    """A client whose server answers each method from ``answers`` (a result or an error)."""
    seen: list[dict[str, Any]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        body["authorization"] = request.headers.get("Authorization", "")
        body["path"] = request.url.path
        seen.append(body)
        answer = answers[body["method"]]
        if isinstance(answer, httpx.Response):
            return answer
        return httpx.Response(200, json={"id": body["id"], **answer})

    rpc = TrytonRpc(URL, "admin", "s3cret", transport=httpx.MockTransport(handle))
    return rpc, seen


LOGIN = {"common.db.login": {"result": [7, "sess10n", None]}}


def test_login_once_then_session_header_and_context_last() -> None:
    rpc, seen = rpc_answering({**LOGIN, "model.party.party.read": {"result": [{"id": 1}]}})
    rpc.context = {"company": 1}
    assert rpc.call("model.party.party.read", [1], ["name"]) == [{"id": 1}]
    assert rpc.call("model.party.party.read", [1], ["name"]) == [{"id": 1}]
    login, first, second = seen
    assert login["params"] == ["admin", {"password": "s3cret"}, "en"]
    assert login["path"] == "/shop/rpc/"
    token = base64.b64encode(b"admin:7:sess10n").decode()
    assert first["authorization"] == second["authorization"] == f"Session {token}"
    assert first["params"] == [[1], ["name"], {"company": 1}]


def test_a_warning_carries_its_name_for_skipping() -> None:
    warning = [
        "UserWarning",
        ["4f2c.invoice_taxes", 'The invoice "[W-1]" does not have the default taxes for x.', ""],
    ]
    rpc, _ = rpc_answering({**LOGIN, "model.account.invoice.post": {"error": warning}})
    with pytest.raises(TrytonWarning) as raised:
        rpc.call("model.account.invoice.post", [3])
    assert raised.value.name == "4f2c.invoice_taxes"
    assert raised.value.code == "tax_warning"


def test_a_user_error_is_explained_like_over_rest() -> None:
    closed = (
        'To continue, you must reopen the period "2025-12" of company "Shop ApS" for the date '
        '"12/15/2025".'
    )
    error = {"error": ["UserError", [closed, "", None]]}
    rpc, _ = rpc_answering({**LOGIN, "wizard.account.invoice.pay.execute": error})
    with pytest.raises(PermanentError) as raised:
        rpc.call("wizard.account.invoice.pay.execute", 1, {}, "choice")
    assert raised.value.code == "closed_period"
    assert 'period "2025-12"' in raised.value.reason


def test_a_refused_login_says_which_login_and_what_to_do() -> None:
    rpc, _ = rpc_answering({"common.db.login": httpx.Response(401, text="Unauthorized")})
    with pytest.raises(PermanentError) as raised:
        rpc.call("model.party.party.read", [1])
    assert raised.value.code == "login_rejected"
    assert "'admin'" in raised.value.reason and "s3cret" not in raised.value.reason
    assert "password" in raised.value.fix


def test_a_wizard_is_created_executed_and_deleted() -> None:
    rpc, seen = rpc_answering(
        {
            **LOGIN,
            "wizard.account.invoice.pay.create": {"result": [42, "start", "end"]},
            "wizard.account.invoice.pay.execute": {"result": {"actions": []}},
            "wizard.account.invoice.pay.delete": {"result": None},
        }
    )
    rpc.run_wizard("account.invoice.pay", "account.invoice", 5, "choice", {"start": {"x": 1}})
    methods = [call["method"] for call in seen]
    assert methods[1:] == [
        "wizard.account.invoice.pay.create",
        "wizard.account.invoice.pay.execute",
        "wizard.account.invoice.pay.delete",
    ]
    execute = seen[2]["params"]
    assert execute[:3] == [42, {"start": {"x": 1}}, "choice"]
    assert execute[3]["active_id"] == 5 and execute[3]["active_model"] == "account.invoice"


def test_a_warning_survives_pickling_with_its_name() -> None:
    import pickle

    warning = TrytonWarning("reason", "fix", code="tax_warning", name="abc.invoice_taxes")
    copy = pickle.loads(pickle.dumps(warning))
    assert (copy.reason, copy.fix, copy.code, copy.name) == (
        "reason",
        "fix",
        "tax_warning",
        "abc.invoice_taxes",
    )
