"""`kobling plan`: the account's plan (orders per month, what happens past it) and its usage."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from kobling.cli_options import DataDir

plan_app = typer.Typer(help="The plan: orders per month, and usage.", no_args_is_help=True)
Account = Annotated[int | None, typer.Option(help="Account id (default: the first account)")]


def _account(account: int | None, data_dir: Path) -> tuple[Any, int]:
    from kobling.engine.runtime import configure
    from kobling.store import people

    rt = configure(data_dir)
    account_id = account or people.first_account_id(rt.db)
    if account_id is None:
        typer.echo("there is no account yet: start Kobling once (`kobling run`)", err=True)
        raise typer.Exit(2)
    return rt, account_id


@plan_app.command("show")
def plan_show(
    account: Account = None,
    as_json: bool = typer.Option(False, "--json"),
    data_dir: DataDir = Path("var"),
) -> None:
    """The plan and the orders counted per month (each order once; extra = past the plan)."""
    from kobling.store import usage

    rt, account_id = _account(account, data_dir)
    plan = usage.plan(rt.db, account_id)
    now = usage.this_month(rt.db, account_id, datetime.now(UTC))
    months = [m.__dict__ for m in usage.history(rt.db, account_id)]
    if as_json:
        shown = {"orders_per_month": plan.orders_per_month, "over_limit": plan.over_limit}
        typer.echo(json.dumps({"plan": shown, "this_month": now.__dict__, "months": months}))
        return
    included = "unlimited" if plan.orders_per_month is None else str(plan.orders_per_month)
    typer.echo(f"plan: {included} orders a month; past it: {plan.over_limit}")
    for m in months:
        typer.echo(f"{m['month']}: {m['orders']} orders, {m['extra']} extra")


@plan_app.command("set")
def plan_set(
    orders: Annotated[
        int | None, typer.Option(help="Orders included per month (leave out: unlimited)")
    ] = None,
    over_limit: Annotated[
        str, typer.Option(help="Past the plan: continue (extra orders) or pause (held)")
    ] = "continue",
    account: Account = None,
    data_dir: DataDir = Path("var"),
) -> None:
    """Set the plan of an account."""
    from kobling.store import usage

    rt, account_id = _account(account, data_dir)
    try:
        usage.set_plan(rt.db, account_id, orders, over_limit)
    except ValueError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    shown = "unlimited" if orders is None else str(orders)
    typer.echo(f"account {account_id}: {shown} orders a month; past it: {over_limit}")
