"""Feedback from the agent-assist page: one verdict per agent and suggestion, the latest
wins (real migrated SQLite and PostgreSQL, the page's own ``record_feedback``)."""

from __future__ import annotations

from sqlalchemy import select

from kb.model import Audience
from kb.store.articles import utcnow
from kb.store.db import Database
from kb.store.querylog import query_log_record
from kb.store.tables import Feedback, QueryLog
from kb.ui.feedback import record_feedback, requester


def test_a_second_verdict_from_the_app_replaces_the_first(database_url: str) -> None:
    db = Database(database_url)
    db.migrate()
    try:
        record = query_log_record(
            {"request_id": "r1", "answer": "a"},
            "怎么退货",
            audience=Audience.INTERNAL,
            requester=requester("ann"),
            channel="app",
            latency_ms=1.0,
        )
        with db.session() as session:
            session.add(QueryLog(ts=utcnow(), **record))
        with db.session() as session:
            first = record_feedback(session, "ann", "r1", True).id
        with db.session() as session:
            second = record_feedback(session, "ann", "r1", False, " 没解决 ").id
        with db.session() as session:
            rows = session.scalars(select(Feedback)).all()
            assert [(r.id, r.helpful, r.comment) for r in rows] == [(first, False, "没解决")]
        assert first == second
    finally:
        db.dispose()


def test_the_app_and_the_api_share_the_stricter_rules(database_url: str) -> None:
    """A "right article" must be published, in force and visible; long comments are refused;
    nothing is stored either way (kb.store.feedback.record_feedback, used by the app and the
    API)."""
    import pytest

    from kb.errors import InvalidInput
    from kb.model import ArticleContent, ArticleType
    from kb.store import feedback
    from review import editing, users

    db = Database(database_url)
    db.migrate()
    try:
        with db.session() as session:
            users.add_user(session, None, "root", ["admin"])
            record = query_log_record(
                {"request_id": "r1", "answer": "a"},
                "怎么退货",
                audience=Audience.PUBLIC,
                requester="key:bot",
                channel="api",
                latency_ms=1.0,
            )
            session.add(QueryLog(ts=utcnow(), **record))
        with db.session() as session:  # an article that exists only as a draft
            draft = ArticleContent(id="draft-only", type=ArticleType.POLICY, title="t", body="b")
            editing.create_draft(session, "root", draft)
        for bad in (
            {"correct_article_id": "draft-only"},  # the app used to accept any existing id
            {"correct_article_id": "no-such"},
            {"comment": "长" * 2001},
        ):
            with pytest.raises(InvalidInput), db.session() as session:
                feedback.record_feedback(
                    session, "key:bot", "r1", helpful=False, audience=Audience.PUBLIC, **bad
                )
        with db.session() as session:
            assert session.scalars(select(Feedback)).all() == []
    finally:
        db.dispose()
