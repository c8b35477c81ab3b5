"""Opening the application database: SQLite by default, PostgreSQL when configured.

``KOBLING_DATABASE_URL`` (e.g. ``postgresql+psycopg://kobling@db/kobling``) selects PostgreSQL;
otherwise the data lives in ``<data dir>/kobling.sqlite``. The schema is created and upgraded
by Alembic migrations, never by ``create_all``, so a deployed database can follow the code.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from kobling.domain.serialize import to_jsonable

DATABASE_URL_ENV = "KOBLING_DATABASE_URL"
MIGRATIONS = Path(__file__).parent / "migrations"


def database_url(data_dir: Path) -> str:
    """The configured database URL, or the embedded SQLite file in ``data_dir``."""
    return os.environ.get(DATABASE_URL_ENV) or f"sqlite:///{data_dir / 'kobling.sqlite'}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the web server read while workers write; the busy timeout makes concurrent
    # writers wait for each other instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _json(value: Any) -> str:
    # Payloads keep their amounts as Decimal; they are stored as exact strings, never floats.
    return json.dumps(to_jsonable(value), separators=(",", ":"))


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=10,
            json_serializer=_json,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url, pool_size=10, max_overflow=20, pool_pre_ping=True, json_serializer=_json
    )


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class Database:
    """The engine and a session factory for one application database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    def migrate(self) -> None:
        migrate(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def is_outage(error: BaseException) -> bool:
    """Whether ``error`` means the database could not be reached or was busy, not a bug.

    A PostgreSQL restart refuses or drops connections (``OperationalError``,
    ``InterfaceError``, an invalidated connection); a busy SQLite file answers "database is
    locked" (``OperationalError``). The engine waits and runs the work again.
    """
    if isinstance(error, OperationalError | InterfaceError):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)
