"""The dashboard's sign-up, sign-in, CSRF, rate limit and the transfer page, per account."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from kobling.store import people
from kobling.web.app import create_app
from tests.web.conftest import PASSWORD, Web


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found[1]


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> int:
    form = client.get("/login")
    answer = client.post(
        "/login",
        data={"email": email, "password": password, "csrf": csrf_of(form.text)},
        follow_redirects=False,
    )
    return answer.status_code


def test_the_first_visitor_creates_the_owner_then_sign_up_closes(tmp_path: Path) -> None:
    from kobling.engine import runtime as runtime_module
    from kobling.engine.runtime import configure
    from kobling.store import repository as repo
    from tests.support.databases import sqlite_url

    rt = configure(tmp_path / "data", database=sqlite_url(tmp_path / "data"))
    sandbox_account = repo.create_account(rt.db, "Sandbox")
    try:
        with TestClient(create_app()) as client:
            first = client.get("/", follow_redirects=False)
            assert (first.status_code, first.headers["location"]) == (303, "/signup")
            form = client.get("/signup")
            # Without the form's CSRF token nothing is created.
            forged = client.post(
                "/signup", data={"email": "a@shop.test", "password": PASSWORD, "csrf": "x"}
            )
            assert forged.status_code == 400 and people.count_users(rt.db) == 0
            short = client.post(
                "/signup",
                data={"email": "a@shop.test", "password": "short", "csrf": csrf_of(form.text)},
            )
            assert short.status_code == 400 and "at least 10 characters" in short.text
            made = client.post(
                "/signup",
                data={"email": "A@Shop.test", "password": PASSWORD, "csrf": csrf_of(form.text)},
                follow_redirects=False,
            )
            assert made.status_code == 303
            cookie = made.headers["set-cookie"].lower()
            assert "httponly" in cookie and "samesite=lax" in cookie
            [owner] = people.list_users(rt.db, sandbox_account)
            assert (owner.email, owner.role) == ("a@shop.test", "owner")
            assert client.get("/").status_code == 200
            with TestClient(create_app()) as stranger:
                closed = stranger.get("/signup", follow_redirects=False)
                assert (closed.status_code, closed.headers["location"]) == (303, "/login")
    finally:
        runtime_module.clear()


def test_sign_in_is_limited_after_five_failures_even_with_the_right_password(web: Web) -> None:
    email = web.a.owner.email
    for _ in range(5):
        assert sign_in(web.client, email, "wrong password") == 401
    assert sign_in(web.client, email) == 429
    # Another account's user, from the same client address, is limited too (per address).
    assert sign_in(web.client, web.b.owner.email) == 429


def test_signed_in_pages_show_only_the_own_account(web: Web) -> None:
    assert sign_in(web.client, web.a.owner.email) == 303
    home = web.client.get("/")
    assert "Alpha shop → books" in home.text and "Beta" not in home.text
    own = web.client.get(f"/transfers/{web.a.held_id}")
    assert own.status_code == 200
    assert "held reason" in own.text and "the fix" in own.text and "Retry" in own.text
    assert web.client.get(f"/transfers/{web.b.held_id}").status_code == 404
    # A form post without the session's CSRF token changes nothing.
    forged = web.client.post(f"/transfers/{web.a.held_id}/skip", data={"csrf": "nope"})
    assert forged.status_code == 400
    page = web.client.get(f"/transfers/{web.a.held_id}")
    skipped = web.client.post(f"/transfers/{web.a.held_id}/skip", data={"csrf": csrf_of(page.text)})
    assert skipped.status_code == 200 and "skipped" in skipped.text
    # Another account's transfer cannot be acted on either.
    other = web.client.post(f"/transfers/{web.b.held_id}/skip", data={"csrf": csrf_of(page.text)})
    assert other.status_code == 404


def test_sign_out_ends_the_session(web: Web) -> None:
    assert sign_in(web.client, web.a.owner.email) == 303
    page = web.client.get("/")
    out = web.client.post("/logout", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert out.status_code == 303
    again = web.client.get("/", follow_redirects=False)
    assert (again.status_code, again.headers["location"]) == (303, "/login")


def test_settings_form_is_generated_validated_and_scoped(web: Web) -> None:
    assert sign_in(web.client, web.a.owner.email) == 303
    path = f"/connections/{web.a.connection_id}/settings"
    form = web.client.get(path)
    assert form.status_code == 200
    # One input per field of the three schemas, with the current values.
    assert 'name="engine.rounding_tolerance" value="0.05"' in form.text
    assert (
        'name="target.invoice_mode"' in form.text and 'name="source.eligible_states"' in form.text
    )
    data = {"csrf": csrf_of(form.text), "engine.rounding_tolerance": "lots"}
    refused = web.client.post(path, data=data)
    assert refused.status_code == 422 and "rounding_tolerance" in refused.text
    data["engine.rounding_tolerance"] = "0.10"
    data["target.invoice_mode"] = "draft"
    saved = web.client.post(path, data=data)
    assert saved.status_code == 200 and 'id="saved"' in saved.text
    stored = web.client.get(f"/api/v1/connections/{web.a.connection_id}", headers=web.a.auth)
    settings = stored.json()["settings"]
    assert settings["rounding_tolerance"] == "0.10"
    assert settings["target"]["invoice_mode"] == "draft"
    # An unticked checkbox means off; another account's connection is not found.
    assert settings["use_webhooks"] is False
    assert web.client.get(f"/connections/{web.b.connection_id}/settings").status_code == 404


def test_an_id_beyond_the_database_integer_is_refused_not_a_server_error(web: Web) -> None:
    assert sign_in(web.client, web.a.owner.email) == 303
    huge = 2**63
    assert web.client.get(f"/transfers/{huge}").status_code == 422
    assert web.client.get(f"/connections/{huge}/settings").status_code == 422
