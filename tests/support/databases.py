"""Database URLs for tests that are about something else than the database."""

from __future__ import annotations

from pathlib import Path


def sqlite_url(data_dir: Path) -> str:
    """An embedded SQLite file, whatever KOBLING_DATABASE_URL says (the web and browser tests
    need their own database; the store and engine tests run on PostgreSQL as well)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data_dir / 'kobling.sqlite'}"
