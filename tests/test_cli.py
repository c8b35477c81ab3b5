"""The commands a newcomer runs first: `kobling demo` and `kobling run` (what `make run` does)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from kobling.web.server import free_port

pytestmark = pytest.mark.slow


def test_demo_transfers_every_eligible_order_exactly_once(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kobling",
            "demo",
            "--orders",
            "200",
            "--json",
            "--data-dir",
            str(tmp_path / "demo"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(summary) == {
        "orders",
        "transferred",
        "skipped",
        "held",
        "failed",
        "documents_in_target",
        "duplicates_in_target",
        "totals_mismatched",
    }
    assert summary["orders"] == 200
    assert summary["failed"] == 0 and summary["held"] == 0
    # Read back from the e-conomic simulator: one invoice per transferred order, none twice,
    # each equal to the shop's total to the cent.
    assert summary["documents_in_target"] == summary["transferred"] > 0
    assert summary["duplicates_in_target"] == 0
    assert summary["totals_mismatched"] == 0
    # Every other order is skipped with its reason.
    assert summary["transferred"] + sum(summary["skipped"].values()) == 200
    assert all(
        "not eligible" in reason or "start date" in reason or reason == "cancelled before transfer"
        for reason in summary["skipped"]
    )
    # The same data seen through `kobling transfers list|show`.
    data_dir = str(tmp_path / "demo")
    listed = json.loads(
        _kobling("transfers", "list", "--limit", "500", "--json", "--data-dir", data_dir)
    )
    assert len(listed) == 200
    assert sum(1 for t in listed if t["outcome"] == "done") == summary["transferred"]
    done = next(t for t in listed if t["outcome"] == "done")
    shown = json.loads(
        _kobling("transfers", "show", str(done["id"]), "--json", "--data-dir", data_dir)
    )
    stages = [s["stage"] for s in shown["stages"]]
    for stage in (
        "received",
        "canonical",
        "eligibility",
        "plan",
        "customer",
        "document",
        "booking",
        "done",
    ):
        assert stage in stages
    assert shown["document"] == done["document"]
    # Ending the booking trial stores the confirmation in the connection's settings.
    assert "booking is on" in _kobling(
        "connections", "confirm-booking", "sandbox-orders", "--data-dir", data_dir
    )
    from kobling.store import repository as repo
    from kobling.store.database import Database

    db = Database(f"sqlite:///{tmp_path / 'demo' / 'kobling.sqlite'}")
    connection_id = repo.find_connection_id(db, "sandbox-orders")
    with db.session() as session:
        from kobling.store.models import Connection

        assert session.get(Connection, connection_id).settings["booking_confirmed"] is True
    db.dispose()


def _kobling(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "kobling", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_run_serves_the_dashboard_and_transfers_sandbox_orders(tmp_path: Path) -> None:
    port = free_port()
    log = (tmp_path / "run.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kobling",
            "run",
            "--port",
            str(port),
            "--trickle",
            "1",
            "--data-dir",
            str(tmp_path / "var"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={k: v for k, v in os.environ.items() if k != "KOBLING_DATABASE_URL"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        browser = httpx.Client(base_url=base, timeout=5)
        deadline = time.monotonic() + 60
        form = None
        while time.monotonic() < deadline and form is None:
            try:
                form = browser.get("/")  # a fresh install sends the visitor to sign up
            except httpx.TransportError:
                time.sleep(0.3)
        assert form is not None and form.status_code == 303
        assert form.headers["location"] == "/signup"
        page = browser.get("/signup")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf, page.text
        created = browser.post(
            "/signup",
            data={"email": "owner@kobling.test", "password": "a long password", "csrf": csrf[1]},
        )
        assert created.status_code == 303 and "kobling_session" in browser.cookies
        token = _kobling(
            "users", "token", "owner@kobling.test", "--data-dir", str(tmp_path / "var")
        )
        auth = {"Authorization": f"Bearer {token.strip()}"}
        assert httpx.get(f"{base}/api/v1/transfers", timeout=2).status_code == 401
        done: list[dict] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not done:
            time.sleep(0.5)
            try:
                rows = httpx.get(f"{base}/api/v1/transfers", headers=auth, timeout=2).json()
            except (httpx.TransportError, ValueError):
                continue
            done = [r for r in rows if r["outcome"] == "done"]
        assert done, (tmp_path / "run.log").read_text()[-3000:]
        home = browser.get("/")
        assert home.status_code == 200
        assert "Sandbox WooCommerce → Sandbox e-conomic" in home.text
        connections = browser.get("/connections")
        assert "sandbox-orders" in connections.text
        # The sandbox shop's webhooks were registered by the first poll.
        assert "order.updated: registered" in connections.text
        detail = browser.get(f"/transfers/{done[0]['id']}")
        assert detail.status_code == 200 and "received" in detail.text
        assert httpx.get(base + "/healthz", timeout=5).json()["status"] == "ok"
        # A backfill's estimate and dry run, from another process, against the running sandbox.
        planned = json.loads(
            _kobling(
                "backfill",
                "--connection",
                "sandbox-orders",
                "--since",
                "2000-01-01",
                "--dry-run",
                "--limit",
                "2",
                "--json",
                "--data-dir",
                str(tmp_path / "var"),
            )
        )
        estimate = planned["estimate"]
        assert estimate["orders"] >= estimate["already"] >= len(done)
        assert estimate["duration"].startswith("about ") and estimate["warnings"] == []
        assert len(planned["dry_run"]) == 2 and planned["dry_run"][0]["number"]
        log_text = (tmp_path / "run.log").read_text()
        assert "Kobling is running" in log_text
        # No request URLs (customer e-mails, query-string keys) and no secret in the log.
        for never in ("HTTP Request:", "cs_sandbox", "sandbox-agreement-grant", "@example"):
            assert never not in log_text, never
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_backfill_refuses_a_bad_date_and_an_unknown_connection(tmp_path: Path) -> None:
    bad = subprocess.run(
        [sys.executable, "-m", "kobling", "backfill", "--connection", "x", "--since", "1/2/2026"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert bad.returncode == 2 and "write it as YYYY-MM-DD" in bad.stderr
    unknown = subprocess.run(
        [
            sys.executable,
            "-m",
            "kobling",
            "backfill",
            "--connection",
            "nope",
            "--since",
            "2026-01-01",
            "--data-dir",
            str(tmp_path / "var"),
        ],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "KOBLING_DATABASE_URL"},
    )
    assert unknown.returncode == 2 and "no connection 'nope'" in unknown.stderr
