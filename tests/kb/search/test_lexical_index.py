"""Migration 0014 on a real PostgreSQL (pgserver): the covering index that lets lexical search
join its postings to the chunks' filter columns and lengths without reading the wide rows
(measured in docs/benchmarks.md, "pgtx"), created on upgrade and dropped on downgrade."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from kb.store.db import Database, alembic_config


def _definition(db: Database) -> str | None:
    with db.engine.connect() as connection:
        return connection.execute(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_search_chunks_filter'")
        ).scalar()


def test_0014_adds_the_covering_index_and_its_downgrade_drops_it(postgres_url: str) -> None:
    db = Database(postgres_url)
    try:
        db.migrate()
        definition = _definition(db)
        assert definition is not None and "search_chunks" in definition
        assert "INCLUDE (seq, length, audience, type, lang, tags, effective_from" in definition
        command.downgrade(alembic_config(db.engine), "0013")
        assert _definition(db) is None
        command.upgrade(alembic_config(db.engine), "head")
        assert _definition(db) is not None
    finally:
        db.dispose()
