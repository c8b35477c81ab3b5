"""The PostgreSQL test helpers themselves."""

from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from kobling.store.scratch_databases import fresh_postgres_database, psycopg_conninfo
from tests.support.postgres import ENV_VAR, SKIP_REASON, database_urls, postgres_url


def _database_exists(base_url: str, name: str) -> bool:
    with psycopg.connect(psycopg_conninfo(base_url)) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return row is not None


@pytest.mark.postgres
def test_fresh_database_holds_a_table_and_is_dropped_afterwards() -> None:
    base_url = postgres_url()
    if base_url is None:
        pytest.skip(SKIP_REASON)

    with fresh_postgres_database(base_url) as url:
        name = make_url(url).database
        assert name is not None
        assert name != make_url(base_url).database
        assert make_url(url).drivername == make_url(base_url).drivername
        assert _database_exists(base_url, name)

        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (id integer PRIMARY KEY, name text NOT NULL)"))
            conn.execute(sa.text("INSERT INTO t VALUES (1, 'æøå')"))
        # Keep a connection open across the drop: WITH (FORCE) must still remove it.
        held = engine.connect()
        assert held.execute(sa.text("SELECT name FROM t")).scalar_one() == "æøå"

    held.invalidate()
    engine.dispose()
    assert not _database_exists(base_url, name)


def test_database_urls_without_postgres(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    sqlite, postgres = database_urls()
    assert (sqlite.id, sqlite.values, sqlite.marks) == ("sqlite", ("sqlite",), ())
    assert postgres.id == "postgresql"
    skips = [m for m in postgres.marks if m.name == "skip"]
    assert [m.kwargs["reason"] for m in skips] == [SKIP_REASON]


def test_database_urls_with_postgres(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:5999/kobling_test"
    monkeypatch.setenv(ENV_VAR, url)
    ids = [(p.id, p.values) for p in database_urls()]
    assert ids == [("sqlite", ("sqlite",)), ("postgresql", (url,))]
    assert not [m for m in database_urls()[1].marks if m.name == "skip"]
