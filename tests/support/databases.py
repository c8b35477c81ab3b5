"""Database URLs for tests that are about something else than the database."""

from __future__ import annotations

from pathlib import Path


def sqlite_url(data_dir: Path) -> str:
    """An embedded SQLite file, even when the environment sets KOBLING_DATABASE_URL (a
    developer's shell pointing Kobling at a real database must not receive test data; the store
    and engine tests choose their databases through the ``database_url`` fixture)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data_dir / 'kobling.sqlite'}"
