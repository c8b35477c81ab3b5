"""The plan's limit in the transfer: past this month's orders, go on (extra) or hold.

Checked just before a new invoice would be created. An order already counted (a retry or a
re-transfer of a done order) is never held for the limit, and a document already in the target
is found by reference before this check. Several transfers finishing at the same moment can
pass the limit by a few orders; they are counted, as extra orders.
"""

from __future__ import annotations

from datetime import UTC, datetime

from dbos import DBOS

from kobling.engine.runtime import runtime
from kobling.errors import PermanentError
from kobling.store import repository as repo
from kobling.store import usage


@DBOS.step()
def plan_limit_step(key: str, connection_id: int) -> None:
    db = runtime().db
    account_id = repo.account_of_connection(db, connection_id)
    plan = usage.plan(db, account_id)
    if plan.orders_per_month is None or plan.over_limit != "pause" or usage.is_counted(db, key):
        return
    month = usage.month_of(datetime.now(UTC))
    used = usage.orders_in_month(db, account_id, month)
    if used >= plan.orders_per_month:
        raise PermanentError(
            f"the plan's {plan.orders_per_month} orders for {month} are used up ({used} "
            "transferred), and the account pauses transfers past the plan",
            "raise the plan or let transfers continue as extra orders (`kobling plan set`), "
            "or wait until next month; then retry the held transfers",
            code="plan_limit",
        )
