"""A shop owner in a real browser: sign up, watch sandbox transfers arrive, open a held one,
read why, fix the setting it names, retry, and see it done.

Kobling runs in-process with the engine and both simulators on a loopback port; the browser is
Debian's chromium (tests/browser/conftest.py). Screenshots of each step are saved under
test-artifacts/screenshots/.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from kobling.engine import runtime as runtime_module
from kobling.engine.launch import poll_now, start_engine, stop_engine
from kobling.engine.runtime import configure
from kobling.sandbox import create_sandbox_integration, make_sandboxes
from kobling.web.app import create_app
from kobling.web.server import free_port, serve_in_thread
from tests.accounting.test_scenarios import BY_ID
from tests.accounting.woo_payloads import redated
from tests.browser.conftest import BrowserPage
from tests.engine.conftest import FAST
from tests.support.databases import sqlite_url

pytestmark = [pytest.mark.browser, pytest.mark.slow]

T = TypeVar("T")
TOLERANCE_ORDER = "dk-custom-tolerance-payload-with-default-tolerance"  # 0.08 off: held


def _outside_playwright(work: Callable[[], T]) -> T:
    """Run ``work`` in another thread: Playwright's sync API keeps an event loop running in
    this one, and DBOS refuses its synchronous launch and shutdown there."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(work).result()


@pytest.fixture
def kobling(tmp_path: Path) -> Iterator[str]:
    yield from _kobling(tmp_path)


def _kobling(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    rt = configure(
        tmp_path / "data",
        public_url=url,
        tuning=FAST,
        executor_id="browser",
        database=sqlite_url(tmp_path / "data"),
    )
    sandboxes = make_sandboxes(url)
    server = serve_in_thread(create_app(sandboxes.mounts()), port=port)
    now = datetime.now(UTC)
    connection_id = create_sandbox_integration(
        rt, sandboxes, start_date=now - timedelta(days=30), use_webhooks=False
    )
    sandboxes.woo.generate_orders(3, start=now, end=now, statuses={"processing": 1.0})
    yesterday = (now - timedelta(days=1)).strftime("%Y-%m-%dT10:00:00")
    sandboxes.woo.add_order(
        redated(BY_ID[TOLERANCE_ORDER].payload, yesterday), deliver_webhooks=False
    )
    _outside_playwright(lambda: start_engine(rt, schedules=False))
    _outside_playwright(lambda: poll_now(connection_id))
    try:
        yield url
    finally:
        _outside_playwright(lambda: stop_engine(rt))
        server.stop()
        sandboxes.close()
        runtime_module.clear()


def reload_until(browser_page: BrowserPage, text: str, timeout: float = 60.0) -> None:
    page = browser_page.page
    deadline = time.monotonic() + timeout
    while text not in page.content():
        assert time.monotonic() < deadline, f"{text!r} did not appear on {page.url}"
        time.sleep(0.5)
        page.reload()


def test_sign_up_watch_fix_retry(kobling: str, page: BrowserPage) -> None:
    browser = page.page
    browser.goto(kobling + "/")
    assert browser.url.endswith("/signup")
    browser.fill("#email", "owner@shop.test")
    browser.fill("#password", "a long enough password")
    browser.click("button[type=submit]")
    assert browser.url == kobling + "/"
    reload_until(page, ">held<")
    reload_until(page, ">done<")
    page.screenshot("1-transfers-arrived")

    browser.get_by_role("link", name="1020", exact=True).click()
    reason = browser.locator("#reason").inner_text()
    fix = browser.locator("#fix").inner_text()
    assert "125.08" in reason and "0.05" in reason, reason
    assert "raise the rounding tolerance in the connection settings" in fix, fix
    browser.get_by_text("eligibility").click()  # a stage's data, readable JSON
    assert '"eligible": true' in browser.content()
    page.screenshot("2-held-transfer")
    held_url = browser.url

    browser.goto(kobling + "/")
    browser.get_by_role("link", name="settings").click()
    browser.fill("#engine\\.rounding_tolerance", "0.10")
    browser.get_by_role("button", name="Save settings").click()
    assert browser.locator("#saved").is_visible()
    assert browser.input_value("#engine\\.rounding_tolerance") == "0.10"
    page.screenshot("3-setting-fixed")

    browser.goto(held_url)
    browser.get_by_role("button", name="Retry").click()
    reload_until(page, 'id="outcome">done<')
    assert "booked as invoice" in browser.content()
    page.screenshot("4-done")
    assert page.console_errors == []
