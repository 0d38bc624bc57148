"""Migration 0003 upgrades a populated 0002 database: duplicate feedback, case-twin
article ids and laundered four-eyes authors already in it (real SQLite and real
PostgreSQL, real Alembic)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from kb.errors import Forbidden
from kb.store.db import Database, alembic_config
from review import editing, workflow
from review.versions import versions_of
from tests.review.helpers import add_people, content, run

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _at_0002(url: str) -> Database:
    db = Database(url)
    command.upgrade(alembic_config(db.engine), "0002")
    return db


def _query_log_row(db: Database, request_id: str) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO query_log (request_id, ts, channel, requester, audience, question, "
                "answered, handoff, confidence, reason, cited_article_ids, latency_ms) VALUES "
                "(:rid, :ts, 'api', 'key:bot', 'public', 'q', TRUE, FALSE, 0.9, '', '[]', 1.0)"
            ),
            {"rid": request_id, "ts": T0},
        )


def _feedback(db: Database, request_id: str, given_by: str, minutes: int, helpful: bool) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO feedback (request_id, ts, helpful, comment, given_by) "
                "VALUES (:rid, :ts, :helpful, :comment, :by)"
            ),
            {
                "rid": request_id,
                "ts": T0 + timedelta(minutes=minutes),
                "helpful": helpful,
                "comment": f"at {minutes}",
                "by": given_by,
            },
        )


def _article_row(db: Database, article_id: str) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO articles (id, type, created_at, created_by, latest_version) "
                "VALUES (:id, 'policy', :ts, 'root', 0)"
            ),
            {"id": article_id, "ts": T0},
        )


@pytest.fixture
def old_db(database_url: str):
    """A 0002 database with the rows 0003 has to deal with."""
    db = _at_0002(database_url)
    add_people(db)
    _query_log_row(db, "r1")
    _query_log_row(db, "r2")
    for minutes, helpful in ((5, True), (1, False), (9, False)):  # not in time order
        _feedback(db, "r1", "key:bot", minutes, helpful)
    _feedback(db, "r1", "user:ann", 3, True)
    _feedback(db, "r2", "key:bot", 2, True)
    for article_id in ("Dup-1", "dup-1", "Solo"):
        _article_row(db, article_id)
    # today's code writes the versions below; it stores translation_of (migration 0012),
    # which a 0002 database lacks: the column is there for those writes only
    with db.engine.begin() as conn:
        conn.execute(text("ALTER TABLE article_versions ADD COLUMN translation_of VARCHAR(128)"))
    # The laundering, as the old code stored it: ann re-saved eve's rejected text.
    run(db, editing.create_draft, "eve", content())
    run(db, workflow.submit, "eve", "refund")
    run(db, workflow.reject, "rex", "refund", "请补充")
    run(db, editing.new_draft, "ann", "refund")
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE article_versions SET editors = '[\"ann\"]' WHERE version = 2"))
    run(db, workflow.submit, "ann", "refund")
    with db.engine.begin() as conn:
        conn.execute(text("ALTER TABLE article_versions DROP COLUMN translation_of"))
    yield db
    db.dispose()


def test_upgrade_keeps_the_latest_feedback_of_each_requester_and_request(old_db) -> None:
    old_db.migrate()
    with old_db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT request_id, given_by, comment, helpful FROM feedback ORDER BY 1, 2")
        ).all()
    assert [tuple(r) for r in rows] == [
        ("r1", "key:bot", "at 9", 0),
        ("r1", "user:ann", "at 3", 1),
        ("r2", "key:bot", "at 2", 1),
    ]
    with pytest.raises(IntegrityError):
        _feedback(old_db, "r2", "key:bot", 20, False)


def test_upgrade_keeps_existing_case_twins_and_refuses_new_ones(old_db) -> None:
    old_db.migrate()
    with old_db.engine.connect() as conn:
        ids = sorted(r[0] for r in conn.execute(text("SELECT id FROM articles")))
    assert ids == ["Dup-1", "Solo", "dup-1", "refund"]
    for twin in ("solo", "REFUND"):
        with pytest.raises(IntegrityError):
            _article_row(old_db, twin)
    _article_row(old_db, "other")


def test_upgrade_gives_versions_in_review_the_authors_of_their_unreviewed_base(old_db) -> None:
    old_db.migrate()
    with old_db.session() as session:
        rows = versions_of(session, "refund")
        assert [(r.state, r.editors) for r in rows] == [
            ("rejected", ["eve"]),
            ("in_review", ["ann", "eve"]),
        ]
    with pytest.raises(Forbidden, match="four-eyes"):
        run(old_db, workflow.approve, "eve", "refund")


def test_upgrade_adds_the_session_column_and_downgrade_removes_it(old_db) -> None:
    old_db.migrate()
    assert "session_id" in {c["name"] for c in inspect(old_db.engine).get_columns("query_log")}
    command.downgrade(alembic_config(old_db.engine), "0002")
    assert "session_id" not in {c["name"] for c in inspect(old_db.engine).get_columns("query_log")}
    old_db.migrate()


@pytest.mark.filterwarnings("ignore:.*expression-based index")
def test_the_migrations_build_what_tables_py_declares(tmp_path: Path) -> None:
    """No drift; the lower(id) index, which autogenerate cannot compare, is checked by hand."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from kb.store.tables import Base

    db = Database(f"sqlite:///{tmp_path / 'kb.sqlite3'}")
    db.migrate()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        index_sql = conn.scalar(
            text("SELECT sql FROM sqlite_master WHERE name = 'uq_articles_id_lower'")
        )
    db.dispose()
    assert diff == []
    assert "UNIQUE INDEX" in index_sql and "lower(id)" in index_sql and "WHERE" not in index_sql


def test_upgrade_adds_the_trace_column_and_downgrade_removes_it(old_db) -> None:
    old_db.migrate()
    assert "trace" in {c["name"] for c in inspect(old_db.engine).get_columns("query_log")}
    command.downgrade(alembic_config(old_db.engine), "0004")
    assert "trace" not in {c["name"] for c in inspect(old_db.engine).get_columns("query_log")}
    old_db.migrate()


def test_upgrade_adds_the_feed_and_practice_tables_and_downgrade_removes_them(old_db) -> None:
    new = {"feed_entries", "feed_acks", "practice_rounds", "practice_items"}
    old_db.migrate()
    assert new <= set(inspect(old_db.engine).get_table_names())
    command.downgrade(alembic_config(old_db.engine), "0006")
    assert not new & set(inspect(old_db.engine).get_table_names())
    old_db.migrate()
    assert new <= set(inspect(old_db.engine).get_table_names())
