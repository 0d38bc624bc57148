"""Database engine, sessions and migrations.

SQLite is the default (WAL journal, foreign keys on, a busy timeout so that
concurrent writers wait instead of failing). PostgreSQL is the database for
several machines (``postgresql+psycopg://…``; psycopg 3 is a dependency, and
the test suite runs the storage tests on both). The schema is created and upgraded by Alembic
migrations in ``kb/store/migrations``; ``Database.migrate`` brings an existing
knowledge base up to date in place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import URL, Engine, create_engine, event, inspect, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from kb.errors import ConfigError

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


BUSY_TIMEOUT_S = 15.0
#: The Python package to install for each database driver kb documents.
DRIVER_PACKAGES = {"psycopg": "psycopg[binary]", "psycopg2": "psycopg2-binary"}


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
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"database_url is not a SQLAlchemy URL: {exc}") from None
    database = parsed.database or ""
    if parsed.get_backend_name() == "sqlite" and database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = _create(parsed)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas(busy_timeout_s))
    return engine


def _create(url: URL) -> Engine:
    """``create_engine``, with a missing driver reported as what to install."""
    try:
        return create_engine(url, future=True)
    except NoSuchModuleError:
        raise ConfigError(
            f"database_url names an unknown database or driver '{url.drivername}' "
            "(kb runs on sqlite and postgresql+psycopg)"
        ) from None
    except ModuleNotFoundError as exc:
        driver = url.get_driver_name()
        package = DRIVER_PACKAGES.get(driver, driver)
        raise ConfigError(
            f"database_url needs the {url.get_backend_name()} driver '{driver}', which is "
            f"not installed: pip install '{package}' (or scripts/setup.sh) ({exc})"
        ) from None


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
