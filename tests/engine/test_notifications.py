"""Alerts and error mails, read back from a real SMTP server (aiosmtpd on loopback)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from kobling.engine import actions
from kobling.engine.launch import poll_now
from kobling.engine.notifications import notification_round
from kobling.store import notifications, people
from kobling.store import repository as repo
from kobling.web.app import create_app
from tests.engine.conftest import Engine
from tests.engine.test_transfers import _transfer
from tests.support.smtp import Inbox, smtp_inbox  # noqa: F401  (fixture)
from tests.web.conftest import PASSWORD
from tests.web.test_pages import sign_in

GOOD = {
    "app_secret_token": "sandbox-app-secret",
    "agreement_grant_token": "sandbox-agreement-grant",
}
WRONG = {"app_secret_token": "sandbox-app-secret", "agreement_grant_token": "revoked-grant"}


def _orders(engine: Engine, n: int) -> list[dict]:
    now = datetime.now(UTC)
    return engine.sandboxes.woo.generate_orders(n, start=now, end=now, statuses={"processing": 1.0})


def _alerts(inbox: Inbox, to: str) -> list:
    return [m for m in inbox.to(to) if m["Subject"].startswith("Kobling: Credentials refused")]


def test_rejected_credentials_give_one_alert_with_a_working_link(
    engine: Engine,
    smtp_inbox: Inbox,  # noqa: F811
) -> None:
    db = engine.rt.db
    engine.rt.smtp = smtp_inbox.settings
    account = repo.account_of_connection(db, engine.connection_id)
    owner = people.create_user(db, account, "owner@shop.test", PASSWORD, "owner")
    people.create_user(db, account, "books@shop.test", PASSWORD, "read_only")
    ledger = repo.load_connection(db, engine.rt.box, engine.connection_id).target.id
    repo.set_system_credentials(db, engine.rt.box, ledger, WRONG)
    orders = _orders(engine, 3)
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(3))
    assert {_transfer(engine, o).problem_code for o in orders} == {"401"}
    now = datetime.now(UTC)
    for minute in range(3):  # three rounds: still one alert
        notification_round(now + timedelta(minutes=minute))
    [alert] = _alerts(smtp_inbox, owner.email)
    assert _alerts(smtp_inbox, "books@shop.test") == []  # read-only people get no alerts
    body = alert.get_content()
    assert "e-conomic refused the tokens (401)" in body and "What to do:" in body
    assert "revoked-grant" not in body and "sandbox-app-secret" not in body
    link = re.search(r"http://127\.0\.0\.1:\d+(/transfers/\d+)", body)
    assert link, body
    with TestClient(create_app()) as browser:
        assert sign_in(browser, owner.email) == 303
        page = browser.get(link[1])
        assert page.status_code == 200 and "refused the tokens" in page.text
    # The error mail lists the three held orders once; later rounds add nothing.
    [errors] = [m for m in smtp_inbox.to(owner.email) if "held or failed" in m["Subject"]]
    assert all(str(o["number"]) in errors.get_content() for o in orders)
    # Fixed and retried: the alert resolves; a new failure later is a new alert.
    repo.set_system_credentials(db, engine.rt.box, ledger, GOOD)
    for order in orders:
        actions.retry(_transfer(engine, order), owner.email)
    engine.wait(lambda: all(_transfer(engine, o).outcome == "done" for o in orders))
    notification_round(now + timedelta(minutes=5))
    assert notifications.open_alerts(db, account) == []
    repo.set_system_credentials(db, engine.rt.box, ledger, WRONG)
    _orders(engine, 1)
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(4))
    notification_round(now + timedelta(minutes=6))
    assert len(_alerts(smtp_inbox, owner.email)) == 2


def test_daily_digest_and_weekly_report(engine: Engine, smtp_inbox: Inbox) -> None:  # noqa: F811
    db = engine.rt.db
    engine.rt.smtp = smtp_inbox.settings
    account = repo.account_of_connection(db, engine.connection_id)
    owner = people.create_user(db, account, "owner@shop.test", PASSWORD, "owner")
    notifications.set_prefs(db, owner.id, "daily", "weekly")
    _orders(engine, 2)
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(2))
    now = datetime.now(UTC)
    notification_round(now)
    [report] = smtp_inbox.to(owner.email)
    assert report["Subject"] == "Kobling: weekly report"
    assert "transferred: 2" in report.get_content() and "held:        0" in report.get_content()
    notification_round(now + timedelta(days=1))  # a day later: no second weekly report
    assert len(smtp_inbox.to(owner.email)) == 1
