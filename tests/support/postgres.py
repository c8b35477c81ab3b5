"""PostgreSQL for the tests: parametrisation over the database kinds and fresh databases.

`scripts/with-postgres.sh` (what `make test` runs) starts a private server and exports
``KOBLING_TEST_DATABASE_URL``; without it the PostgreSQL variants skip with a reason.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import URL, make_url

if TYPE_CHECKING:
    from _pytest.mark.structures import ParameterSet

ENV_VAR = "KOBLING_TEST_DATABASE_URL"
SKIP_REASON = (
    "PostgreSQL not available: run through `make test` (scripts/with-postgres.sh starts one)"
)


def postgres_url() -> str | None:
    """The server URL that scripts/with-postgres.sh exported, if any."""
    return os.environ.get(ENV_VAR) or None


def database_urls() -> list[ParameterSet]:
    """Parameters for ``@pytest.mark.parametrize("database", database_urls())``.

    Always ``"sqlite"`` (the caller builds a file URL in ``tmp_path``); plus the PostgreSQL
    URL (id ``postgresql``) when ``KOBLING_TEST_DATABASE_URL`` is set, otherwise a
    ``postgresql`` parameter that is skipped with a reason saying how to get one.
    """
    params = [pytest.param("sqlite", id="sqlite")]
    url = postgres_url()
    if url:
        params.append(pytest.param(url, id="postgresql", marks=pytest.mark.postgres))
    else:
        params.append(
            pytest.param(
                "",
                id="postgresql",
                marks=[pytest.mark.postgres, pytest.mark.skip(reason=SKIP_REASON)],
            )
        )
    return params


def psycopg_conninfo(url: str | URL) -> str:
    """A libpq connection URI for a SQLAlchemy URL (``postgresql+psycopg://`` → ``postgresql://``)."""
    parsed = make_url(url) if isinstance(url, str) else url
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def fresh_postgres_database(base_url: str) -> Iterator[str]:
    """Create an empty database on the server of ``base_url`` and yield its SQLAlchemy URL.

    The database is dropped afterwards ``WITH (FORCE)``, so connections still open to it
    (a pool that was not disposed) do not keep it alive.
    """
    base = make_url(base_url)
    name = f"kobling_{secrets.token_hex(8)}"
    admin = psycopg_conninfo(base)
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
