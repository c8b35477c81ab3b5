"""Importing previous orders: estimate, dry run, run, pause and resume, and a second run."""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from dbos import DBOS

from kobling.connectors import registry
from kobling.engine import backfill
from kobling.engine.connectors import connection
from kobling.store import backfills, usage
from kobling.store import repository as repo
from tests.accounting.test_scenarios import BY_ID
from tests.accounting.woo_payloads import redated
from tests.engine.conftest import Engine

TOLERANCE_ORDER = "dk-custom-tolerance-payload-with-default-tolerance"  # 0.08 off: held

pytestmark = pytest.mark.slow


def _plant(engine: Engine, good: int, bad: int) -> datetime:
    """``good`` orders and ``bad`` ones whose totals are off, all before the start date."""
    now = datetime.now(UTC)
    old = now - timedelta(days=60)  # the engine fixture's start date is 30 days ago
    woo = engine.sandboxes.woo
    woo.generate_orders(good, start=old, end=old + timedelta(days=5), statuses={"processing": 1.0})
    payload = {k: v for k, v in BY_ID[TOLERANCE_ORDER].payload.items() if k not in ("id", "number")}
    for day in range(bad):
        when = (old + timedelta(days=6, minutes=day)).strftime("%Y-%m-%dT%H:%M:%S")
        woo.add_order(redated(payload, when), deliver_webhooks=False)
    return old - timedelta(days=1)


def _wait_finished(engine: Engine, backfill_id: int) -> backfills.Progress:
    engine.wait(
        lambda: backfills.progress(engine.rt.db, backfill_id).state == "finished", timeout=600
    )
    return backfills.progress(engine.rt.db, backfill_id)


# The acceptance run, on SQLite only: 1,000 transfers through the engine take a while, and
# the PostgreSQL engine is covered by the other backfill tests.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.timeout(900)
def test_500_previous_orders_with_20_problems(engine: Engine) -> None:
    since = _plant(engine, 480, 20)
    cid = engine.connection_id
    found = backfill.scan(cid, since, keep=500)
    assert len(found.ids) == 500
    payloads, estimate = found.first, found.estimate
    assert (estimate.orders, estimate.eligible, estimate.already) == (500, 500, 0)
    assert (estimate.to_transfer, estimate.problems) == (500, 20)
    # e-conomic's transfer limit is 20 a second: 500 transfers take at least 25 s.
    assert estimate.seconds == 25.0
    # Unlimited plan: everything counts in the plan, nothing extra.
    assert (estimate.plan_left, estimate.in_plan, estimate.extra) == (None, 500, 0)
    # At least create + book per document (480 + 20 planned; the 20 fail in planning).
    assert estimate.target_calls >= 2 * 480
    shown = backfill.dry_run(cid, payloads)
    flagged = [s for s in shown if s["problems"]]
    assert len(flagged) == 20
    assert all("tolerance" in s["problems"][0] for s in flagged)
    ids = [str(p["id"]) for p in payloads]
    first = backfill.start(cid, since, "", ids, "owner@shop.test")
    done = _wait_finished(engine, first)
    assert (done.total, done.done, done.held, done.failed, done.pending) == (500, 480, 20, 0, 0)
    assert len(engine.sandboxes.economic.booked_invoices()) == 480
    account = repo.account_of_connection(engine.rt.db, cid)
    assert usage.this_month(engine.rt.db, account, datetime.now(UTC)).orders == 480
    # A second run creates nothing and counts nothing.
    again = backfill.scan(cid, since, keep=0).estimate
    assert (again.already, again.to_transfer) == (480, 20)
    second = backfill.start(cid, since, "", ids, "owner@shop.test")
    rerun = _wait_finished(engine, second)
    assert (rerun.done, rerun.held) == (480, 20)
    assert len(engine.sandboxes.economic.booked_invoices()) == 480
    assert usage.this_month(engine.rt.db, account, datetime.now(UTC)).orders == 480


def test_a_backfill_pauses_after_its_batch_and_resumes_where_it_stopped(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backfill, "BATCH", 10)  # three batches without 110 orders
    since = _plant(engine, 25, 0)
    cid = engine.connection_id
    ids = backfill.scan(cid, since, keep=0, estimating=False).ids
    backfill_id = backfill.start(cid, since, "", ids, "owner@shop.test")
    assert backfill.pause(backfill_id)
    # Quiet: the workflow stopped after its batch and every handed order settled.
    engine.wait(lambda: not DBOS.list_workflows(status=["PENDING", "ENQUEUED"], load_input=False))
    paused = backfills.progress(engine.rt.db, backfill_id)
    assert paused.state == "paused" and paused.handed < len(ids)
    assert backfill.resume(backfill_id) and not backfill.resume(backfill_id)
    finished = _wait_finished(engine, backfill_id)
    assert (finished.done, finished.handed) == (len(ids), len(ids))
    assert len(engine.sandboxes.economic.booked_invoices()) == len(ids)


def test_from_an_order_number_on(engine: Engine) -> None:
    since = _plant(engine, 10, 0)
    chosen = backfill.scan(engine.connection_id, since, from_number="1006", keep=10).first
    assert [p["number"] for p in chosen] == ["1006", "1007", "1008", "1009", "1010"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_one_pass_scan_keeps_ids_oldest_first_and_estimates(engine: Engine) -> None:
    since = _plant(engine, 12, 3)
    cid = engine.connection_id
    shop = sorted(
        engine.sandboxes.woo.orders(), key=lambda p: (p["date_created_gmt"], int(p["id"]))
    )
    found = backfill.scan(cid, since, keep=4)
    # Every planted order, oldest first, and the first four in full.
    assert found.ids == [str(p["id"]) for p in shop]
    assert [p["id"] for p in found.first] == [p["id"] for p in shop[:4]]
    # 15 eligible, none transferred yet; the 3 whose totals are off are problems.
    estimate = found.estimate
    assert (estimate.orders, estimate.eligible, estimate.already) == (15, 15, 0)
    assert (estimate.to_transfer, estimate.problems) == (15, 3)
    assert backfill.scan(cid, since, "1010", keep=0, estimating=False).ids == [
        str(p["id"]) for p in shop if int(p["number"]) >= 1010
    ]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_estimate_runs_at_the_targets_own_call_limit(engine: Engine) -> None:
    since = _plant(engine, 10, 0)
    cid = engine.connection_id
    unlimited = backfill.scan(cid, since, keep=0).estimate
    # e-conomic's transfer limit (20 a second) without a limit of calls: 10 take 0.5 s.
    assert unlimited.seconds == 0.5
    settings = copy.deepcopy(connection(cid).settings)
    settings["target"] = {**settings.get("target", {}), "calls_per_minute": 60}
    repo.update_connection_settings(engine.rt.db, cid, settings)
    limited = backfill.scan(cid, since, keep=0).estimate
    # 60 calls a minute, spaced 2 % wider: 1.02 s a call.
    assert limited.target_calls == unlimited.target_calls > 0
    assert limited.seconds == round(limited.target_calls * 1.02, 1)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_estimate_warns_of_an_import_beyond_the_targets_fair_use(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    since = _plant(engine, 10, 0)
    cid = engine.connection_id
    within = backfill.scan(cid, since, keep=0).estimate
    assert within.warnings == [] and within.target_calls > 20
    # The same import against an agreement allowed 20 calls a day.
    spec = registry.get("economic")
    monkeypatch.setitem(
        registry._REGISTRY, "economic", dataclasses.replace(spec, daily_call_budget=20)
    )
    (warning,) = backfill.scan(cid, since, keep=0).estimate.warnings
    assert f"about {within.target_calls:,} calls to e-conomic" in warning
    # 20 calls a day is less than one a minute: no pace fits, only parts.
    assert "import by date in parts" in warning and "calls per minute" not in warning


def test_progress_is_counted_less_often_when_counting_takes_long() -> None:
    # Counting within 40 ms: every 2 s. Counting 100,000 orders (~0.5 s): every 25 s.
    assert backfill.progress_interval(0.001) == 2.0
    assert backfill.progress_interval(0.04) == 2.0
    assert backfill.progress_interval(0.5) == 25.0
