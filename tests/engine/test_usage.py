"""Usage against the plan: each order counted once, extra orders past the plan, pausing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kobling.engine import actions
from kobling.engine.launch import poll_now
from kobling.store import repository as repo
from kobling.store import usage
from tests.engine.conftest import Engine
from tests.engine.test_actions import _held_by_a_barred_product
from tests.engine.test_transfers import _transfer


def _account(engine: Engine) -> int:
    return repo.account_of_connection(engine.rt.db, engine.connection_id)


def _month(engine: Engine) -> usage.MonthUsage:
    return usage.this_month(engine.rt.db, _account(engine), datetime.now(UTC))


def _new_orders(engine: Engine, n: int) -> list[dict]:
    now = datetime.now(UTC)
    return engine.sandboxes.woo.generate_orders(n, start=now, end=now, statuses={"processing": 1.0})


def test_each_order_counts_once_across_retries_re_runs_and_re_transfers(engine: Engine) -> None:
    account = _account(engine)
    usage.set_plan(engine.rt.db, account, 2, "continue")
    order, sku = _held_by_a_barred_product(engine)  # 1 order, held: not counted
    assert _month(engine).orders == 0
    engine.sandboxes.economic.set_product_barred(sku, barred=False)
    actions.retry(_transfer(engine, order), "owner@shop.test")
    engine.wait(lambda: _transfer(engine, order).outcome == "done")
    assert _month(engine).orders == 1
    _new_orders(engine, 2)
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(3))
    poll_now(engine.connection_id)  # a re-run reads the same orders again
    engine.wait(lambda: engine.settled(3))
    actions.retransfer(_transfer(engine, order), "owner@shop.test")
    engine.wait(lambda: _transfer(engine, order).attempts == 3 and engine.settled(3))
    # 3 orders done, plan of 2: 3 counted, 1 extra; retries and re-runs add nothing.
    month = _month(engine)
    assert (month.orders, month.included, month.extra, month.left) == (3, 2, 1, 0)
    [history] = usage.history(engine.rt.db, account)
    assert (history.orders, history.extra) == (3, 1)


def test_past_the_plan_a_pausing_account_holds_new_orders_until_the_plan_grows(
    engine: Engine,
) -> None:
    account = _account(engine)
    usage.set_plan(engine.rt.db, account, 2, "pause")
    orders = _new_orders(engine, 3)
    poll_now(engine.connection_id)
    engine.wait(lambda: engine.settled(3))
    outcomes = sorted(str(_transfer(engine, o).outcome) for o in orders)
    assert outcomes == ["done", "done", "held"]
    [held] = [_transfer(engine, o) for o in orders if _transfer(engine, o).outcome == "held"]
    assert "plan's 2 orders" in held.reason and "kobling plan set" in held.fix
    assert len(engine.sandboxes.economic.booked_invoices()) == 2
    usage.set_plan(engine.rt.db, account, 3, "pause")
    actions.retry(held, "owner@shop.test")
    engine.wait(lambda: repo.get_transfer(engine.rt.db, held.key).outcome == "done")  # type: ignore[union-attr]
    assert (_month(engine).orders, _month(engine).extra) == (3, 0)
    assert len(engine.sandboxes.economic.booked_invoices()) == 3


def test_a_plan_is_set_with_a_known_policy(engine: Engine) -> None:
    with pytest.raises(ValueError, match="continue or pause"):
        usage.set_plan(engine.rt.db, _account(engine), 10, "stop")
    with pytest.raises(ValueError, match="negative"):
        usage.set_plan(engine.rt.db, _account(engine), -1, "pause")
