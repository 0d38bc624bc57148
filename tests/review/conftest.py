"""Fixtures for the review tests: a real, migrated SQLite file per test, users, articles."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kb.store.db import Database
from tests.review.helpers import add_people, fresh_db


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty database file, copied for each test (migrating is slow-ish)."""
    path = tmp_path_factory.mktemp("template") / "kb.sqlite3"
    database = Database(f"sqlite:///{path}")
    database.migrate()
    database.dispose()
    return path


@pytest.fixture
def db(template_db: Path, tmp_path: Path) -> Iterator[Database]:
    """A fresh, migrated SQLite database file in tmp_path."""
    database = fresh_db(template_db, tmp_path)
    yield database
    database.dispose()


@pytest.fixture
def people(db: Database) -> Database:
    """The database with the PEOPLE users."""
    add_people(db)
    return db
