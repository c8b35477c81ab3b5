"""Browser tests: Debian's chromium driven by Playwright (sync API), headless, loopback only.

Fixtures:
- `browser` (session): one headless chromium at /usr/bin/chromium for the whole run. Skips with
  the fix when chromium (`scripts/ensure-chromium.sh`) or playwright (`make install`) is missing.
- `page` (function): a fresh context and page as a `BrowserPage`, with the console errors and
  uncaught page errors collected; a full-page screenshot is always saved after the test to
  test-artifacts/screenshots/<test>.png.

Helper:
- `served_app(app)`: serves an ASGI app on a free 127.0.0.1 port and yields its base URL.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from kobling.web.server import free_port, serve_in_thread

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Error, Page, ViewportSize

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = REPO / "test-artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")

# This machine refuses every connection that is not on loopback: without the flags that turn
# off chromium's background services it keeps trying (and failing) to reach Google's. Even with
# them it still looks up accounts.google.com and update.googleapis.com, so the last flag sends
# every host name but 127.0.0.1 and localhost (IP literals too) to a closed loopback port: no
# DNS look-up at all. (Mapping to ~NOTFOUND instead would make chromium's error page probe DNS
# itself, at the system resolver and 8.8.8.8, past these rules.)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--host-resolver-rules=MAP * 127.0.0.1:9, EXCLUDE 127.0.0.1, EXCLUDE localhost",
]
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}
DEFAULT_TIMEOUT_MS = 10_000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def sanitise(name: str) -> str:
    """A file-name-safe form of a test node name or label."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "unnamed"


@dataclass
class BrowserPage:
    """A Playwright page with what a test asserts on besides the page itself."""

    page: Page
    screenshot_path: Path
    console_errors: list[str] = field(default_factory=list)

    def screenshot(self, name: str) -> Path:
        """Save a full-page screenshot now, next to the final one, and return its path."""
        stem = self.screenshot_path.stem
        path = self.screenshot_path.with_name(f"{stem}--{sanitise(name)}.png")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=True)
        return path


@contextmanager
def served_app(app: Any) -> Iterator[str]:
    """Serve an ASGI app on a free 127.0.0.1 port; yield its base URL, stop it afterwards."""
    server = serve_in_thread(app, port=free_port())
    try:
        yield server.url
    finally:
        server.stop()


# Module scope, not session: while Playwright's sync API is started it keeps an event loop
# running in the main thread, and DBOS then refuses its synchronous launch in every later test.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed: run `make install`")
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing: run scripts/ensure-chromium.sh")
    playwright = sync_playwright().start()
    try:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()
    finally:
        playwright.stop()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[BrowserPage]:
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    result = BrowserPage(
        page=context.new_page(),
        screenshot_path=SCREENSHOT_DIR / f"{sanitise(request.node.name)}.png",
    )

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location
            result.console_errors.append(
                f"console.error: {message.text} ({where['url']}:{where['lineNumber']})"
            )

    def on_page_error(error: Error) -> None:
        result.console_errors.append(f"uncaught: {error.message}")

    result.page.on("console", on_console)
    result.page.on("pageerror", on_page_error)
    try:
        yield result
    finally:
        try:
            result.screenshot_path.parent.mkdir(parents=True, exist_ok=True)
            result.page.screenshot(path=str(result.screenshot_path), full_page=True)
        except Exception as error:  # a crashed page must not hide the test's own outcome
            warnings.warn(f"no screenshot for {request.node.nodeid}: {error}", stacklevel=1)
        finally:
            context.close()
