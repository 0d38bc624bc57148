"""kb's Alembic migrations on both databases (a real SQLite file, a real PostgreSQL):
upgrading one step at a time from nothing to the newest revision gives exactly the
schema of ``kb.store.tables``, and downgrading to nothing removes it again."""

from __future__ import annotations

import sys

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from kb.errors import ConfigError
from kb.store.db import Database, alembic_config, make_engine
from kb.store.tables import Base

# SQLite's reflection cannot read the expression index uq_articles_id_lower (lower(id)),
# so the comparison leaves it out there (PostgreSQL compares it)
pytestmark = [
    pytest.mark.filterwarnings("ignore:Skipped unsupported reflection"),
    pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression"),
]


def _revisions(database: Database) -> list[str]:
    script = ScriptDirectory.from_config(alembic_config(database.engine))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def _kb_tables(obj: object, name: str | None, type_: str, reflected: bool, other: object) -> bool:
    """Leave out the postgres search store's tables (migration 0013, raw DDL, not in
    kb.store.tables: the search store owns their shape) and their indexes."""
    table = getattr(obj, "table", obj) if type_ != "table" else obj
    table_name = name if type_ == "table" else getattr(table, "name", "")
    return not str(table_name or "").startswith("search_")


def _differences(database: Database) -> list[object]:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": _kb_tables})
        return compare_metadata(context, Base.metadata)


@pytest.fixture
def database(database_url: str):
    """An empty database on each backend."""
    db = Database(database_url)
    yield db
    db.dispose()


def test_every_migration_upgrades_one_step_at_a_time_to_the_tables(database: Database) -> None:
    revisions = _revisions(database)
    assert revisions[0] == "0001"
    assert len(revisions) >= 9
    for revision in revisions:
        command.upgrade(alembic_config(database.engine), revision)
        with database.engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == revision
    assert database.is_initialised()
    assert _differences(database) == []
    database.migrate()  # at head: nothing to do, nothing fails
    assert _differences(database) == []


def test_downgrade_to_nothing_removes_every_table(database: Database) -> None:
    database.migrate()
    command.downgrade(alembic_config(database.engine), "base")
    assert inspect(database.engine).get_table_names() == ["alembic_version"]


def test_a_missing_driver_names_the_package_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if psycopg were not installed
    with pytest.raises(ConfigError, match=r"pip install 'psycopg\[binary\]'"):
        make_engine("postgresql+psycopg://kb@db.example/kb")


@pytest.mark.parametrize(
    ("url", "message"),
    [("mysql+nosuch://x/y", "unknown database or driver"), ("no url", "not a SQLAlchemy URL")],
)
def test_a_bad_database_url_is_one_clear_error(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_engine(url)
