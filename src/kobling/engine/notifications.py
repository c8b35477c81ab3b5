"""The notification round, run every minute by the engine: alerts, errors, status reports.

1. Alerts: the current causes (engine/alerts.py) open alerts (one per cause while it lasts)
   and resolve those that are gone; each new alert is mailed once to the account's owners and
   members who get error mails.
2. Errors: transfers held or failed since a person's last error mail, immediately (every
   round), or as an hourly or daily digest.
3. Status reports, daily or weekly: how transfers settled in the period, and what the last
   reconciliation found missing.

Without a mail server nothing is mailed; alerts are still opened and resolved (the dashboard
shows them), and mailed once a server is set. A failed delivery is tried again next round.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from dbos import DBOS

from kobling.engine.alerts import current_causes
from kobling.engine.runtime import runtime
from kobling.errors import TransferProblem
from kobling.notify import mailer
from kobling.notify.messages import alert_mail, errors_mail, report_mail
from kobling.store import notifications as store
from kobling.store import reconciliations
from kobling.store import repository as repo
from kobling.store.scope import AccountScope

log = logging.getLogger("kobling.notify")
DIGEST = {"immediate": timedelta(0), "hourly": timedelta(hours=1), "daily": timedelta(days=1)}
REPORT = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
NOTIFICATIONS_CRON = "0 * * * * *"  # every minute (seconds first, as DBOS reads it)


@DBOS.workflow()
def notifications_workflow(scheduled_time: datetime, context: Any) -> dict[str, int]:
    return notification_round_step()


@DBOS.step()
def notification_round_step() -> dict[str, int]:
    return notification_round(datetime.now(UTC))


def notification_round(now: datetime) -> dict[str, int]:
    rt = runtime()
    sent = {"alerts": 0, "errors": 0, "reports": 0}
    for account_id in repo.account_ids(rt.db):
        for kind, n in _account_round(AccountScope(rt.db, account_id), now).items():
            sent[kind] += n
    return sent


def _account_round(account: AccountScope, now: datetime) -> dict[str, int]:
    rt = runtime()
    after = timedelta(minutes=rt.tuning.unreachable_alert_minutes)
    causes = current_causes(account, now, after)
    store.resolve_alerts(rt.db, account.account_id, [c.key for c in causes])
    for c in causes:
        store.raise_alert(rt.db, account.account_id, c.key, c.subject, c.detail, c.fix, c.link)
    people = [p for p in store.recipients(rt.db, account.account_id) if p.role != "read_only"]
    return {
        "alerts": _mail_alerts(account, [p for p in people if p.errors != "off"]),
        "errors": sum(_mail_errors(account, p, now) for p in people),
        "reports": sum(_mail_report(account, p, now) for p in people),
    }


def _send(message: Any) -> bool:
    smtp = runtime().smtp
    if smtp is None:
        return False
    try:
        mailer.send(smtp, message)
    except TransferProblem as problem:
        log.warning("a notification could not be mailed: %s", problem.reason)
        return False
    return True


def _mail_alerts(account: AccountScope, people: list[store.Recipient]) -> int:
    rt = runtime()
    if rt.smtp is None or not people:
        return 0
    sent = 0
    for alert in store.open_alerts(rt.db, account.account_id):
        if alert.mailed_at is not None:
            continue
        mailed = [
            _send(
                alert_mail(
                    rt.smtp,
                    p.email,
                    rt.public_url,
                    subject=alert.subject,
                    detail=alert.detail,
                    fix=alert.fix,
                    link=alert.link,
                )
            )
            for p in people
        ]
        if any(mailed):
            store.mark_alert_mailed(rt.db, alert.id)
            sent += 1
    return sent


def _mail_errors(account: AccountScope, person: store.Recipient, now: datetime) -> int:
    rt = runtime()
    if rt.smtp is None or person.errors == "off":
        return 0
    since = person.errors_sent_at
    if since is not None and now - since < DIGEST[person.errors]:
        return 0
    events = store.errors_since(rt.db, account.account_id, since or now - timedelta(days=1))
    if not events:
        if since is None:
            store.mark_sent(rt.db, person.user_id, errors=now, report=None)
        return 0
    message = errors_mail(rt.smtp, person.email, rt.public_url, events, person.errors)
    if not _send(message):
        return 0
    store.mark_sent(rt.db, person.user_id, errors=max(e.at for e in events), report=None)
    return 1


def _mail_report(account: AccountScope, person: store.Recipient, now: datetime) -> int:
    rt = runtime()
    if rt.smtp is None or person.reports == "off":
        return 0
    period = REPORT[person.reports]
    if person.report_sent_at is not None and now - person.report_sent_at < period:
        return 0
    since = person.report_sent_at or now - period
    outcomes = store.outcomes_since(rt.db, account.account_id, since)
    message = report_mail(
        rt.smtp,
        person.email,
        rt.public_url,
        period=person.reports,
        outcomes=outcomes,
        missing=reconciliations.missing_in_account(rt.db, account.account_id),
    )
    if not _send(message):
        return 0
    store.mark_sent(rt.db, person.user_id, errors=None, report=now)
    return 1
