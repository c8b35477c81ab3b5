"""The REST API: tokens, problem documents, write-only credentials, and no cross-account access."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kobling.store import people
from tests.web.conftest import Tenant, Web

PROBLEM = "application/problem+json"


def endpoints(t: Tenant) -> list[tuple[str, str, Any]]:
    """Every endpoint that names a record, aimed at tenant ``t``'s records."""
    return [
        ("GET", f"/api/v1/integrations/{t.integration_id}", None),
        ("POST", f"/api/v1/integrations/{t.integration_id}/activate", None),
        ("POST", f"/api/v1/integrations/{t.integration_id}/deactivate", None),
        ("GET", f"/api/v1/systems/{t.shop_id}", None),
        ("GET", f"/api/v1/systems/{t.ledger_id}", None),
        (
            "PUT",
            f"/api/v1/systems/{t.shop_id}/credentials",
            {"credentials": {"consumer_key": "ck_evil", "consumer_secret": "cs_evil"}},
        ),
        ("PATCH", f"/api/v1/systems/{t.ledger_id}", {"name": "evil"}),
        ("POST", f"/api/v1/systems/{t.ledger_id}/test", None),
        (
            "POST",
            "/api/v1/systems",
            {
                "integration_id": t.integration_id,
                "kind": "economic",
                "name": "evil",
                "base_url": "http://127.0.0.1:9/",
                "credentials": {"app_secret_token": "a", "agreement_grant_token": "b"},
            },
        ),
        ("GET", f"/api/v1/connections/{t.connection_id}", None),
        ("POST", f"/api/v1/connections/{t.connection_id}/activate", None),
        ("POST", f"/api/v1/connections/{t.connection_id}/deactivate", None),
        ("PUT", f"/api/v1/connections/{t.connection_id}/settings", {}),
        ("GET", f"/api/v1/transfers/{t.held_id}", None),
        ("POST", f"/api/v1/transfers/{t.held_id}/retry", None),
        ("POST", f"/api/v1/transfers/{t.held_id}/skip", None),
        ("POST", f"/api/v1/transfers/{t.done_id}/retransfer", None),
    ]


def test_without_a_token_every_endpoint_answers_401_as_a_problem(web: Web) -> None:
    calls = [*endpoints(web.a), ("GET", "/api/v1/transfers", None), ("GET", "/api/v1/me", None)]
    for method, path, body in calls:
        response = web.client.request(method, path, json=body)
        assert response.status_code == 401, (method, path)
        assert response.headers["content-type"] == PROBLEM
        problem = response.json()
        assert problem["status"] == 401 and problem["title"] == "Not signed in"
        assert "Bearer" in problem["fix"]
    wrong = web.client.get("/api/v1/transfers", headers={"Authorization": "Bearer kob_nope"})
    assert wrong.status_code == 401 and "unknown or was revoked" in wrong.json()["detail"]


def test_another_accounts_records_are_not_found_and_not_changed(web: Web) -> None:
    for method, path, body in endpoints(web.a):
        response = web.client.request(method, path, json=body, headers=web.b.auth)
        assert response.status_code in (403, 404), (method, path, response.status_code)
        assert "Alpha" not in response.text and "alpha" not in response.text, (method, path)
    # Nothing of Alpha's changed: still active, still held, credentials untouched.
    own = web.a.auth
    assert web.client.get(f"/api/v1/integrations/{web.a.integration_id}", headers=own).json()[
        "active"
    ]
    held = web.client.get(f"/api/v1/transfers/{web.a.held_id}", headers=own).json()
    assert held["outcome"] == "held"
    config = web.rt.box.open(_credentials_blob(web, web.a.shop_id))
    assert config["consumer_key"] == "ck_x"


def _credentials_blob(web: Web, system_id: int) -> bytes:
    from kobling.store.models import System

    with web.rt.db.session() as s:
        system = s.get(System, system_id)
        assert system is not None
        return system.credentials


def test_filters_and_lists_never_reach_into_another_account(web: Web) -> None:
    b = web.b.auth
    assert (
        web.client.get(f"/api/v1/transfers?connection={web.a.connection_id}", headers=b).json()
        == []
    )
    assert (
        web.client.get(f"/api/v1/receipts?connection={web.a.connection_id}", headers=b).json() == []
    )
    assert web.client.get("/api/v1/transfers?number=101", headers=b).json()[0]["connection_id"] == (
        web.b.connection_id
    )
    for path in (
        "/api/v1/integrations",
        "/api/v1/systems",
        "/api/v1/connections",
        "/api/v1/transfers",
    ):
        rows = web.client.get(path, headers=b).json()
        assert rows and "Alpha" not in str(rows) and "alpha" not in str(rows), path
    assert {t["id"] for t in web.client.get("/api/v1/transfers", headers=b).json()} == {
        web.b.held_id,
        web.b.done_id,
    }
    usage = web.client.get("/api/v1/usage", headers=b).json()
    assert usage["outcomes"] == {"held": 1, "done": 1}
    # Beta's one done order, counted once; no plan, so nothing extra.
    assert [(m["orders"], m["included"], m["extra"]) for m in usage["months"]] == [(1, None, 0)]


def test_credentials_are_write_only(web: Web) -> None:
    a = web.a.auth
    shown = web.client.get(f"/api/v1/systems/{web.a.shop_id}", headers=a)
    assert shown.json()["credentials"] == "set"
    assert "cs_secret_Alpha" not in shown.text
    bad = web.client.put(
        f"/api/v1/systems/{web.a.shop_id}/credentials", json={"credentials": {"x": 1}}, headers=a
    )
    assert bad.status_code == 422 and bad.headers["content-type"] == PROBLEM
    assert "consumer_key" in bad.json()["fix"]
    new = {"consumer_key": "ck_new", "consumer_secret": "cs_brand_new"}
    good = web.client.put(
        f"/api/v1/systems/{web.a.shop_id}/credentials", json={"credentials": new}, headers=a
    )
    assert good.status_code == 200 and "cs_brand_new" not in good.text
    assert web.rt.box.open(_credentials_blob(web, web.a.shop_id))["consumer_secret"] == (
        "cs_brand_new"
    )


def test_transfer_detail_actions_and_roles(web: Web) -> None:
    a = web.a.auth
    detail = web.client.get(f"/api/v1/transfers/{web.a.held_id}", headers=a).json()
    assert (detail["outcome"], detail["fix"]) == ("held", "the fix")
    assert detail["snapshots"][0]["stage"] == "received"
    assert detail["snapshots"][0]["data"] == {"payload": {"id": "101"}}
    # A done transfer cannot be retried: 409 with the reason.
    refused = web.client.post(f"/api/v1/transfers/{web.a.done_id}/retry", headers=a)
    assert refused.status_code == 409 and "held or failed" in refused.json()["detail"]
    # A read-only user may look but not act.
    viewer = people.create_user(
        web.rt.db, web.a.account_id, "viewer@alpha.test", "x" * 12, "read_only"
    )
    viewer_auth = {"Authorization": f"Bearer {people.create_api_token(web.rt.db, viewer, 'v')}"}
    assert (
        web.client.get(f"/api/v1/transfers/{web.a.held_id}", headers=viewer_auth).status_code == 200
    )
    forbidden = web.client.post(f"/api/v1/transfers/{web.a.held_id}/skip", headers=viewer_auth)
    assert forbidden.status_code == 403
    # The owner skips it.
    skipped = web.client.post(f"/api/v1/transfers/{web.a.held_id}/skip", headers=a)
    assert skipped.status_code == 202
    after = web.client.get(f"/api/v1/transfers/{web.a.held_id}", headers=a).json()
    assert after["outcome"] == "skipped" and after["reason"].startswith(
        "skipped by owner@alpha.test"
    )


def test_settings_are_validated_by_the_connectors_schemas(web: Web) -> None:
    a = web.a.auth
    path = f"/api/v1/connections/{web.a.connection_id}/settings"
    bad = web.client.put(path, json={"target": {"invoice_mode": "sometimes"}}, headers=a)
    assert bad.status_code == 422 and bad.headers["content-type"] == PROBLEM
    assert "invoice_mode" in bad.json()["detail"]
    good = web.client.put(path, json={"target": {"invoice_mode": "draft"}}, headers=a)
    assert good.status_code == 200
    assert good.json()["settings"]["target"]["invoice_mode"] == "draft"


@pytest.mark.parametrize("switch", ["deactivate", "activate"])
def test_connections_switch_on_and_off(web: Web, switch: str) -> None:
    path = f"/api/v1/connections/{web.a.connection_id}/{switch}"
    response = web.client.post(path, headers=web.a.auth)
    assert response.status_code == 200 and response.json()["active"] is (switch == "activate")


def test_the_openapi_document_describes_the_api(web: Web) -> None:
    document = web.client.get("/api/v1/openapi.json").json()
    paths = set(document["paths"])
    assert {"/api/v1/transfers", "/api/v1/transfers/{transfer_id}", "/api/v1/usage"} <= paths
    assert not any(p.startswith(("/hooks", "/signup", "/login")) for p in paths)


def test_every_endpoint_that_names_a_record_is_tried_across_accounts(web: Web) -> None:
    """A new endpoint cannot skip the cross-account test: it must be listed in endpoints()."""
    document = web.client.get("/api/v1/openapi.json").json()
    named = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if "{" in path or method != "get"
    }
    tried = set()
    for method, path, _ in endpoints(web.a):
        for template_method, template in named:
            pattern = "^" + re.sub(r"\\{[^/]+\\}", "[^/]+", re.escape(template)) + "$"
            if method == template_method and re.match(pattern, path):
                tried.add((template_method, template))
    assert named - tried == set()


def test_systems_are_added_changed_and_tested_through_the_api(web: Web) -> None:
    own = web.a.auth
    new = {
        "integration_id": web.a.integration_id,
        "kind": "economic",
        "name": "Second books",
        "base_url": "ftp://books",
        "credentials": {"app_secret_token": "app-1"},
    }
    bad_url = web.client.post("/api/v1/systems", json=new, headers=own)
    assert bad_url.status_code == 422 and "http://" in bad_url.json()["fix"]
    new["base_url"] = "http://127.0.0.1:9/"
    missing = web.client.post("/api/v1/systems", json=new, headers=own)
    assert missing.status_code == 422 and "agreement_grant_token" in missing.json()["detail"]
    assert "app-1" not in missing.text
    new["credentials"] = {"app_secret_token": "app-1", "agreement_grant_token": "grant-1"}
    made = web.client.post("/api/v1/systems", json=new, headers=own)
    assert made.status_code == 201 and made.json()["credentials"] == "set"
    assert "grant-1" not in made.text
    system_id = made.json()["id"]
    renamed = web.client.patch(
        f"/api/v1/systems/{system_id}", json={"name": "Books 2"}, headers=own
    ).json()
    assert (renamed["name"], renamed["base_url"]) == ("Books 2", "http://127.0.0.1:9/")
    tested = web.client.post(f"/api/v1/systems/{system_id}/test", headers=own).json()
    assert tested["ok"] is False and tested["code"] == "unreachable" and tested["fix"]
