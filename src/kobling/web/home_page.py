"""Home: did everything arrive, and if not, why? Counts, charts per day, usage, and what
needs a person, newest first. The page updates itself (htmx) while it is open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from kobling import __version__
from kobling.store import notifications, usage
from kobling.store.activity import daily_activity
from kobling.store.scope import AccountScope
from kobling.web.api import transfer_row
from kobling.web.charts import Series, stacked_bars
from kobling.web.pages import page, scope_of, signed_in_or_redirect

router = APIRouter(include_in_schema=False)
CHART_DAYS = 14
# Recent enough to still need a look: a webhook the shop disabled within this time.
RECENT = timedelta(days=7)
TYPE_COLORS = ("#1f77b4", "#9467bd", "#17becf", "#8c564b")


@dataclass(frozen=True)
class Attention:
    """One thing that needs a person: what, why, what to do, and where."""

    what: str
    why: str
    fix: str
    link: str


def needs_attention(account: AccountScope, now: datetime) -> list[Attention]:
    found = [
        Attention(a.subject, a.detail, a.fix, a.link)
        for a in notifications.open_alerts(account.db, account.account_id)
    ]
    systems = {s.id: s for s in account.systems()}
    for system_id, check in account.system_checks().items():
        if not check.ok and system_id in systems:
            found.append(
                Attention(
                    f"System {systems[system_id].name}",
                    f"the last connection test failed: {check.detail}",
                    check.fix,
                    f"/systems/{system_id}",
                )
            )
    names = {c.id: c.name for c in account.connections()}
    for connection_id, hooks in account.webhook_checks().items():
        if hooks.error:
            why = f"its webhooks could not be checked: {hooks.error}"
        elif hooks.disabled_at and now - hooks.disabled_at < RECENT:
            why = f"the shop had disabled a webhook ({hooks.disabled_detail}); it is on again"
        else:
            continue
        found.append(
            Attention(
                f"Connection {names.get(connection_id, connection_id)}",
                why,
                "polling picks up every order meanwhile; if it keeps happening, check that the "
                "shop can reach Kobling's address",
                f"/connections#c{connection_id}",
            )
        )
    for t in account.transfers(outcomes=("held", "failed"), limit=20):
        found.append(
            Attention(
                f"{t.object_type.capitalize()} {t.source_number or t.source_id} ({t.outcome})",
                t.reason,
                t.fix,
                f"/transfers/{t.id}",
            )
        )
    return found


def charts(account: AccountScope, now: datetime) -> list[Any]:
    days = daily_activity(account, CHART_DAYS, now.date())
    labels = [d.day.isoformat() for d in days]
    kinds = sorted({kind for d in days for kind in d.handled}) or ["order"]
    handled = [
        Series(f"{kind}s", TYPE_COLORS[i % len(TYPE_COLORS)], [d.handled[kind] for d in days])
        for i, kind in enumerate(kinds)
    ]
    outcomes = [
        Series("created", "#2ca02c", [d.created for d in days]),
        Series("updated", "#ff7f0e", [d.updated for d in days]),
        Series("errors", "#d62728", [d.errors for d in days]),
    ]
    return [
        stacked_bars("Documents handled per day", labels, handled),
        stacked_bars("Created, updated and errors per day", labels, outcomes),
    ]


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Any:
    session = signed_in_or_redirect(request)
    if isinstance(session, Response):
        return session
    account = scope_of(session)
    now = datetime.now(UTC)
    month = usage.this_month(account.db, account.account_id, now)
    return page(
        request,
        session,
        "home.html",
        version=__version__,
        integrations=account.integrations(),
        counts=account.outcome_counts(),
        charts=charts(account, now),
        month=month,
        over_limit=usage.plan(account.db, account.account_id).over_limit,
        attention=needs_attention(account, now),
        transfers=[transfer_row(t) for t in account.transfers(limit=20)],
    )
