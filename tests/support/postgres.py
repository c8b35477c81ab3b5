"""PostgreSQL for the tests: parametrisation over the database kinds (fresh databases come
from ``kobling.store.scratch_databases``).

`scripts/with-postgres.sh` (what `make test` runs) starts a private server and exports
``KOBLING_TEST_DATABASE_URL``; without it the PostgreSQL variants skip with a reason.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

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
