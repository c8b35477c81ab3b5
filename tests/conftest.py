"""Shared fixtures: the shared reference folder, databases on SQLite and PostgreSQL; under
pytest-xdist (`make test`), the longest tests first (tests/support/slow_first.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kobling.store.scratch_databases import fresh_postgres_database
from tests.support import slow_first
from tests.support.postgres import database_urls

REPO = Path(__file__).resolve().parent.parent


def find_shared() -> Path:
    explicit = os.environ.get("KOBLING_SHARED_DIR")
    if explicit:
        return Path(explicit)
    for parent in [REPO, *REPO.parents]:
        candidate = parent / "shared" if parent != REPO else parent.parent / "shared"
        if (candidate / "reference").is_dir():
            return candidate
    pytest.skip("../shared/reference not found beside the checkout (set KOBLING_SHARED_DIR)")


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(slow_first.SlowFirst(config), "kobling-slow-first")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return find_shared()


@pytest.fixture(params=database_urls())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, and (under `make test`) a PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'kobling.sqlite'}"
        return
    with fresh_postgres_database(request.param) as url:
        yield url


@pytest.fixture(autouse=True)
def _http_timeout_restored() -> Iterator[None]:
    """The engine sets the process-wide HTTP timeout (1.5 s in the fast tuning); later tests
    against a slow real server (Tryton) must not inherit it."""
    from kobling.connectors.http import default_timeout, set_default_timeout

    before = default_timeout()
    yield
    set_default_timeout(before)


@pytest.fixture(autouse=True)
def _no_logging_to_closed_streams() -> Iterator[None]:
    """A command run in-process (typer's CliRunner) that launches DBOS leaves DBOS's log
    handler on the runner's captured stdout, closed afterwards; later engines would log there."""
    import logging

    yield
    for name in ("dbos", ""):
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            stream = getattr(handler, "stream", None)
            if stream is not None and getattr(stream, "closed", False):
                logger.removeHandler(handler)
