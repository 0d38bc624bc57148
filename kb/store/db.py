"""Database engine, sessions and migrations.

SQLite is the default (WAL journal, foreign keys on, a busy timeout so that
concurrent writers wait instead of failing); any SQLAlchemy URL works, so a
team can move to PostgreSQL. The schema is created and upgraded by Alembic
migrations in ``kb/store/migrations``; ``Database.migrate`` brings an existing
knowledge base up to date in place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import URL, Engine, create_engine, event, inspect, make_url
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


BUSY_TIMEOUT_S = 15.0


def _sqlite_pragmas(busy_timeout_s: float) -> Callable[..., None]:
    def on_connect(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return on_connect


def make_engine(url: str, busy_timeout_s: float = BUSY_TIMEOUT_S) -> Engine:
    """Create an engine; for SQLite, create the parent directory and set the pragmas
    (a writer waits up to ``busy_timeout_s`` for another's lock before "database is locked").

    The URL is parsed by SQLAlchemy, so a file path in it is %-decoded (a path holding
    ``%``, ``?`` or ``#`` must be written encoded, as ``kb.config.sqlite_url`` does).
    """
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() == "sqlite" and database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas(busy_timeout_s))
    return engine


def alembic_option(url: URL) -> str:
    """``url`` as an Alembic option value, with every password and path character intact.

    Alembic's options go through configparser, whose interpolation reads ``%`` as the
    start of a reference; the %-encoded URL of a path with non-ASCII characters, ``%``,
    ``(`` or ``#``, or of a password holding ``%``, is therefore written with ``%%``.
    """
    return url.render_as_string(hide_password=False).replace("%", "%%")


def alembic_config(engine: Engine) -> AlembicConfig:
    """An Alembic configuration pointing at kb's migrations and this engine."""
    from alembic.config import Config as AlembicConfig  # imported on use: ~0.4 s at start-up

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", alembic_option(engine.url))
    cfg.attributes["engine"] = engine
    return cfg


class Database:
    """The engine and session factory of one knowledge base."""

    def __init__(self, url: str, busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.url = url
        self.engine = make_engine(url, busy_timeout_s)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def migrate(self) -> None:
        """Create or upgrade the schema to the newest migration (no-op when current)."""
        from alembic import command

        command.upgrade(alembic_config(self.engine), "head")

    def is_initialised(self) -> bool:
        """True when the schema exists (the knowledge base was created)."""
        return inspect(self.engine).has_table("alembic_version")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
