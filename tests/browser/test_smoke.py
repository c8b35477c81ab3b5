"""Smoke test of the browser harness: a tiny FastAPI page (not Kobling's), clicked in chromium."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from tests.browser.conftest import PNG_SIGNATURE, BrowserPage, served_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CLICK_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Smoke</title><link rel="icon" href="data:,"></head>
<body>
<h1 id="heading">Not clicked yet</h1>
<button id="go" type="button">Click me</button>
<script>
const heading = document.getElementById("heading");
document.getElementById("go").addEventListener("click", () => {
  heading.textContent = "Clicked"; });
</script>
</body>
</html>
"""

ERROR_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Errors</title><link rel="icon" href="data:,"></head>
<body>
<h1>Errors</h1>
<script>console.error("boom from console");</script>
<script>throw new Error("boom uncaught");</script>
</body>
</html>
"""


def tiny_app() -> FastAPI:
    app = FastAPI()

    @app.get("/", response_class=HTMLResponse)
    def click_page() -> str:
        return CLICK_PAGE

    @app.get("/errors", response_class=HTMLResponse)
    def error_page() -> str:
        return ERROR_PAGE

    return app


def test_click_changes_heading(page: BrowserPage) -> None:
    from playwright.sync_api import expect

    with served_app(tiny_app()) as base_url:
        page.page.goto(f"{base_url}/")
        heading = page.page.locator("#heading")
        expect(heading).to_have_text("Not clicked yet")
        page.page.get_by_role("button", name="Click me").click()
        expect(heading).to_have_text("Clicked")
        shot = page.screenshot("clicked")

    assert page.console_errors == []
    assert shot.is_file()
    assert shot.read_bytes().startswith(PNG_SIGNATURE)


def test_console_errors_are_collected(page: BrowserPage) -> None:
    with served_app(tiny_app()) as base_url:
        page.page.goto(f"{base_url}/errors")
        page.page.wait_for_load_state("load")

    assert any("boom from console" in error for error in page.console_errors)
    assert any("boom uncaught" in error for error in page.console_errors)
