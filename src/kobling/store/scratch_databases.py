"""Throw-away PostgreSQL databases on a given server, for the tests, the benchmarks and the
chaos run: each run gets an empty database of its own, dropped afterwards."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url


def psycopg_conninfo(url: str | URL) -> str:
    """A libpq connection URI for a SQLAlchemy URL (``postgresql+psycopg://`` → ``postgresql://``)."""
    parsed = make_url(url) if isinstance(url, str) else url
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def fresh_postgres_database(base_url: str, prefix: str = "kobling") -> Iterator[str]:
    """Create an empty database on the server of ``base_url`` and yield its SQLAlchemy URL.

    The database is dropped afterwards ``WITH (FORCE)``, so connections still open to it
    (a pool that was not disposed) do not keep it alive.
    """
    base = make_url(base_url)
    name = f"{prefix}_{secrets.token_hex(8)}"
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
