"""The dashboard's "why?" box gives the same answer as `kobling explain`."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from kobling.engine.explain import explain
from kobling.engine.launch import poll_now
from kobling.store import people
from kobling.store import repository as repo
from kobling.web.app import create_app
from tests.engine.conftest import Engine
from tests.engine.test_transfers import _transfer
from tests.web.conftest import PASSWORD
from tests.web.test_pages import sign_in


def test_why_box_explains_a_done_and_an_unknown_order(engine: Engine) -> None:
    now = datetime.now(UTC)
    [order] = engine.sandboxes.woo.generate_orders(
        1, start=now, end=now, statuses={"processing": 1.0}
    )
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(1))
    account = repo.account_of_connection(engine.rt.db, engine.connection_id)
    people.create_user(engine.rt.db, account, "owner@shop.test", PASSWORD, "owner")
    number = str(order["number"])
    expected = explain(engine.connection_id, number)
    assert expected.verdict == "done"
    with TestClient(create_app()) as client:
        assert sign_in(client, "owner@shop.test") == 303
        home = client.get("/").text
        assert 'action="/explain"' in home  # the box is on every page
        page = client.get("/explain", params={"number": f"#{number}"}).text
        answer = page[page.index('id="answer"') :]
        assert expected.title in answer
        assert f'href="/transfers/{_transfer(engine, order).id}"' in answer
        unknown = client.get("/explain", params={"number": "999999"}).text
        assert explain(engine.connection_id, "999999").title in unknown
