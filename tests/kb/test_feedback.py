"""Feedback from the agent-assist page: one verdict per agent and suggestion, the latest
wins (real migrated SQLite, the page's own ``record_feedback``)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from kb.articles import utcnow
from kb.db import Database
from kb.model import Audience
from kb.querylog import query_log_record
from kb.tables import Feedback, QueryLog
from kb.ui.feedback import record_feedback, requester


def test_a_second_verdict_from_the_app_replaces_the_first(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'kb.sqlite3'}")
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
