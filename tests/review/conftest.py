"""Fixtures for the review tests: a real, migrated database per test (a SQLite file and a
PostgreSQL database: each test runs on both unless its module is marked ``sqlite_only``),
users, articles."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kb.store.db import Database
from tests.pg import PgServer
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
def db(
    backend: str, template_db: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Database]:
    """A fresh, migrated database: a SQLite file in tmp_path or a PostgreSQL database."""
    if backend == "sqlite":
        database = fresh_db(template_db, tmp_path)
        yield database
        database.dispose()
        return
    server: PgServer = request.getfixturevalue("pg_server")
    url = server.migrated_database()
    database = Database(url)
    yield database
    database.dispose()
    server.drop(url)


@pytest.fixture
def people(db: Database) -> Database:
    """The database with the PEOPLE users."""
    add_people(db)
    return db
