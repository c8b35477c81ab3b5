"""A shop owner in a real browser: sign up, watch sandbox transfers arrive, open a held one,
read why, fix the setting it names, retry, and see it done.

Kobling runs in-process with the engine and both simulators on a loopback port; the browser is
Debian's chromium (tests/browser/conftest.py). Screenshots of each step are saved under
test-artifacts/screenshots/.
"""

from __future__ import annotations

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


def wait_for_text(browser_page: BrowserPage, text: str, timeout: float = 60.0) -> None:
    """Wait, without reloading, until the page shows ``text``: the page updates itself."""
    browser_page.page.wait_for_function(
        "text => document.documentElement.innerHTML.includes(text)",
        arg=text,
        timeout=timeout * 1000,
    )


def test_sign_up_watch_fix_retry(kobling: str, page: BrowserPage) -> None:
    from playwright.sync_api import expect  # here: without playwright the fixtures skip

    browser = page.page
    browser.goto(kobling + "/")
    assert browser.url.endswith("/signup")
    browser.fill("#email", "owner@shop.test")
    browser.fill("#password", "a long enough password")
    browser.click("button[type=submit]")
    assert browser.url == kobling + "/"
    # The home page updates itself (htmx) as the transfers settle.
    wait_for_text(page, 'class="held">held</span><b>1</b>')
    wait_for_text(page, 'class="done">done</span><b>3</b>')
    assert browser.locator("#attention").get_by_text("1020").is_visible()
    assert browser.locator("svg.chart").count() == 2
    page.screenshot("1-transfers-arrived")

    browser.get_by_role("link", name="Log", exact=True).click()
    browser.fill("#log-number", "1020")
    browser.get_by_role("button", name="Search").click()
    # Waits: count() reads the page as it is, and the search's page may still be loading.
    expect(browser.locator("#live tbody tr")).to_have_count(1)
    page.screenshot("2-log-search")
    browser.get_by_role("link", name="1020", exact=True).click()
    reason = browser.locator("#reason").inner_text()
    fix = browser.locator("#fix").inner_text()
    assert "125.08" in reason and "0.05" in reason, reason
    assert "raise the rounding tolerance in the connection settings" in fix, fix
    assert "125.08" in browser.locator("#decisions").inner_text()  # the plan's decision
    browser.locator("summary", has_text="eligibility").click()  # a stage's data, readable JSON
    assert '"eligible": true' in browser.content()
    page.screenshot("3-held-transfer")
    held_url = browser.url

    browser.get_by_role("link", name="Systems", exact=True).click()
    browser.locator("#systems tr", has_text="Sandbox e-conomic").get_by_role(
        "button", name="Test connection"
    ).click()
    assert "Connection works" in browser.locator("#message").inner_text()
    page.screenshot("4-system-tested")

    browser.get_by_role("link", name="Connections", exact=True).click()
    row = browser.locator("tr", has_text="sandbox-orders")
    assert "a poll every" in row.inner_text()
    row.get_by_role("link", name="settings").click()
    browser.fill("#engine\\.rounding_tolerance", "0.10")
    browser.get_by_role("button", name="Save settings").click()
    assert browser.locator("#saved").is_visible()
    assert browser.input_value("#engine\\.rounding_tolerance") == "0.10"
    page.screenshot("5-setting-fixed")

    browser.goto(held_url)
    browser.get_by_role("button", name="Retry").click()
    wait_for_text(page, 'id="outcome">done<')
    assert "booked as invoice" in browser.content()
    page.screenshot("6-done")
    # The target's own rendering of the invoice, fetched with the system's key.
    link = browser.get_by_role("link", name="open the document").get_attribute("href")
    document = browser.context.request.get(kobling + str(link))
    assert document.status == 200 and document.headers["content-type"] == "application/pdf"
    assert document.body().startswith(b"%PDF")
    assert page.console_errors == []
