"""What needs a person now, as causes: rejected credentials, an unreachable system, a webhook
the shop disabled. Read from the store (transfers' problem codes, connection tests, webhook
checks), never by calling a remote. Each cause is a stable string, so one cause raises one
alert until it is gone (resolved).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from kobling.store.models import Transfer
from kobling.store.scope import AccountScope

# What the connectors' errors call a refusal of the credentials (HTTP status, or Tryton's).
CREDENTIAL_CODES = frozenset(
    {"401", "403", "key_rejected", "login_rejected", "credentials_rejected"}
)
UNREACHABLE_CODES = frozenset({"connect", "unreachable", "429", "500", "502", "503", "504"})
WEBHOOK_NOTICE = timedelta(days=1)


@dataclass(frozen=True)
class Cause:
    key: str
    subject: str
    detail: str
    fix: str
    link: str


def current_causes(
    account: AccountScope, now: datetime, unreachable_after: timedelta
) -> list[Cause]:
    names = {c.id: c.name for c in account.connections()}
    problems = account.transfers(outcomes=("held", "failed"), limit=1000)
    return [
        *_credentials(account, problems, names),
        *_unreachable(problems, names, now, unreachable_after),
        *_webhooks(account, names, now),
    ]


def _credentials(
    account: AccountScope, problems: list[Transfer], names: dict[int, str]
) -> list[Cause]:
    found: dict[str, Cause] = {}
    for t in problems:  # newest first: the cause shows the latest transfer
        key = f"credentials:connection:{t.connection_id}"
        if t.problem_code in CREDENTIAL_CODES and key not in found:
            found[key] = Cause(
                key,
                f"Credentials refused on connection {names.get(t.connection_id, t.connection_id)}",
                t.reason,
                (t.fix or "enter working credentials on the Systems page")
                + "; then retry the held transfers",
                f"/transfers/{t.id}",
            )
    systems = {s.id: s.name for s in account.systems()}
    for system_id, check in account.system_checks().items():
        if not check.ok and check.code == "credentials_rejected":
            key = f"credentials:system:{system_id}"
            found[key] = Cause(
                key,
                f"Credentials refused by {systems.get(system_id, system_id)}",
                check.detail,
                check.fix,
                f"/systems/{system_id}",
            )
    return list(found.values())


def _unreachable(
    problems: list[Transfer], names: dict[int, str], now: datetime, after: timedelta
) -> list[Cause]:
    oldest: dict[int, Transfer] = {}
    for t in problems:
        if t.outcome == "failed" and t.problem_code in UNREACHABLE_CODES:
            oldest[t.connection_id] = t  # the list is newest first: the last one is the oldest
    return [
        Cause(
            f"unreachable:connection:{cid}",
            f"A system of connection {names.get(cid, cid)} has been unreachable since "
            f"{t.updated_at:%Y-%m-%d %H:%M} UTC",
            t.reason,
            "check that the system is up and its address is right; then retry the failed "
            "transfers (Log, outcome failed)",
            f"/log?outcome=failed&connection={cid}",
        )
        for cid, t in oldest.items()
        if now - t.updated_at >= after
    ]


def _webhooks(account: AccountScope, names: dict[int, str], now: datetime) -> list[Cause]:
    return [
        Cause(
            f"webhook:connection:{cid}:{check.disabled_at:%Y%m%dT%H%M%S}",
            f"The shop disabled a webhook of connection {names.get(cid, cid)}",
            f"{check.disabled_detail}. Kobling enabled it again; orders in between were "
            "picked up by polling.",
            "if this happens again, check that the shop can reach Kobling's address",
            f"/connections#c{cid}",
        )
        for cid, check in account.webhook_checks().items()
        if check.disabled_at is not None and now - check.disabled_at < WEBHOOK_NOTICE
    ]
