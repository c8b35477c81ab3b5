"""Importing previous orders from the dashboard, with the engine and the simulators running."""

from __future__ import annotations

import dataclasses
import re

import pytest
from fastapi.testclient import TestClient

from kobling.connectors import registry
from kobling.store import backfills, people
from kobling.store import repository as repo
from kobling.web.app import create_app
from tests.engine.conftest import Engine
from tests.engine.test_backfill import _plant
from tests.web.conftest import PASSWORD
from tests.web.test_pages import csrf_of, sign_in


def test_estimate_dry_run_import_and_progress(engine: Engine) -> None:
    since = _plant(engine, 12, 2)
    account = repo.account_of_connection(engine.rt.db, engine.connection_id)
    people.create_user(engine.rt.db, account, "owner@shop.test", PASSWORD, "owner")
    cid = engine.connection_id
    with TestClient(create_app()) as client:
        assert sign_in(client, "owner@shop.test") == 303
        day = since.date().isoformat()
        page = client.get(f"/connections/{cid}/backfill", params={"since": day}).text
        estimate = page[page.index('id="estimate"') :]
        assert re.search(r"Orders found</th><td>14<", estimate)
        assert re.search(r"To transfer</th><td>14 \(2 with problems", estimate)
        # 14 transfers at e-conomic's 20 a second: 0.7 s, in words.
        assert re.search(r"Time at its rate limit</th><td>about 1 s<", estimate)
        assert 'id="fair-use"' not in page
        dry = page[page.index('id="dry-run"') :]
        # The first 10 by creation: the 12 good orders come before the 2 with problems.
        assert dry.count(">ok<") == 10 and "tolerance" not in dry
        started = client.post(
            f"/connections/{cid}/backfill",
            data={"since": day, "from_number": "", "csrf": csrf_of(page)},
            follow_redirects=False,
        )
        assert started.status_code == 303
        [row] = backfills.for_connection(engine.rt.db, cid)
        engine.wait(lambda: backfills.progress(engine.rt.db, row.id).state == "finished")
        shown = client.get(f"/connections/{cid}/backfill").text
        assert "14 of 14" in shown and "12 done" in shown and "2 held" in shown
        bad = client.get(f"/connections/{cid}/backfill", params={"since": "yesterday"}).text
        assert "is not a date: write it as YYYY-MM-DD" in bad


def test_an_import_beyond_fair_use_is_warned_of(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    since = _plant(engine, 3, 0)
    account = repo.account_of_connection(engine.rt.db, engine.connection_id)
    people.create_user(engine.rt.db, account, "owner@shop.test", PASSWORD, "owner")
    spec = registry.get("economic")
    # An agreement allowed 2 calls a day; the 3 orders need more.
    monkeypatch.setitem(
        registry._REGISTRY, "economic", dataclasses.replace(spec, daily_call_budget=2)
    )
    with TestClient(create_app()) as client:
        assert sign_in(client, "owner@shop.test") == 303
        params = {"since": since.date().isoformat()}
        page = client.get(f"/connections/{engine.connection_id}/backfill", params=params).text
        warning = page[page.index('id="fair-use"') :]
        assert "more than its fair use of 2 calls a day" in warning
        assert "import by date in parts" in warning


def test_another_account_cannot_see_or_pause_an_import(engine: Engine) -> None:
    since = _plant(engine, 3, 0)
    stranger = repo.create_account(engine.rt.db, "Other")
    people.create_user(engine.rt.db, stranger, "other@shop.test", PASSWORD, "owner")
    from kobling.engine import backfill

    backfill_id = backfill.start(engine.connection_id, since, "", ["1"], "x")
    with TestClient(create_app()) as client:
        assert sign_in(client, "other@shop.test") == 303
        csrf = csrf_of(client.get("/users").text)
        page = client.get(f"/connections/{engine.connection_id}/backfill")
        assert page.status_code == 404
        paused = client.post(f"/backfills/{backfill_id}/pause", data={"csrf": csrf})
        assert paused.status_code == 404
    assert backfills.get(engine.rt.db, backfill_id).state != "paused"  # type: ignore[union-attr]
