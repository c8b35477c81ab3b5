"""The texts of Kobling's e-mails: an alert, errors (one or a digest), a status report.

Each mail names what happened in plain words and links to the dashboard page that shows the
reason and the fix. Plain text: it reads the same in every mail program.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from email.message import EmailMessage

from kobling.notify.mailer import SmtpSettings, compose
from kobling.store.notifications import ErrorEvent

SIGNATURE = "\n--\nKobling. Change which e-mails you get on the Users page: {base}/users\n"


def alert_mail(
    smtp: SmtpSettings, to: str, base: str, *, subject: str, detail: str, fix: str, link: str
) -> EmailMessage:
    text = (
        f"{subject}.\n\n{detail}\n\nWhat to do: {fix}\n\nSee it here: {base}{link}\n\n"
        "You get this once; Kobling writes again only if it happens anew after it was resolved.\n"
    )
    return compose(smtp, to, f"Kobling: {subject}", text + SIGNATURE.format(base=base))


def errors_mail(
    smtp: SmtpSettings, to: str, base: str, events: Sequence[ErrorEvent], digest: str
) -> EmailMessage:
    count = len(events)
    lines = [
        f"- {e.object_type} {e.number} {e.outcome}: {e.reason}\n  What to do: {e.fix or '—'}\n"
        f"  {base}/transfers/{e.transfer_id}"
        for e in events[:50]
    ]
    more = f"\n… and {count - 50} more: {base}/log?outcome=held\n" if count > 50 else ""
    head = {"immediate": "", "hourly": "In the last hour: ", "daily": "Today: "}.get(digest, "")
    text = f"{head}{count} transfer(s) need your attention.\n\n" + "\n".join(lines) + more
    subject = f"Kobling: {count} transfer(s) held or failed"
    return compose(smtp, to, subject, text + SIGNATURE.format(base=base))


def report_mail(
    smtp: SmtpSettings,
    to: str,
    base: str,
    *,
    period: str,
    outcomes: Counter[str],
    missing: int | None,
) -> EmailMessage:
    rows = [
        f"transferred: {outcomes.get('done', 0)}",
        f"skipped:     {outcomes.get('skipped', 0)}",
        f"held:        {outcomes.get('held', 0)}",
        f"failed:      {outcomes.get('failed', 0)}",
        "missing:     " + ("not checked" if missing is None else str(missing)),
    ]
    text = f"Kobling's {period} report.\n\n" + "\n".join(rows) + f"\n\nThe dashboard: {base}/\n"
    return compose(smtp, to, f"Kobling: {period} report", text + SIGNATURE.format(base=base))
