"""The read-only queries the Streamlit pages call (issue 14: pages only show), on a real
migrated database with articles moved through the real workflow: ``kb.store.articles``'s
``published_version``, ``find_version`` and ``published_tags`` and ``kb.store.querylog``'s
``recent_questions``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kb.model import Audience
from kb.store.articles import find_version, published_tags, published_version
from kb.store.querylog import query_log_record, recent_questions
from kb.store.tables import QueryLog
from review import editing
from tests.review.helpers import content, publish_article


@pytest.fixture
def kb(people):
    publish_article(people, "refund", tags=["退款", "售后"])
    publish_article(people, "ship", "三天内发货。\n", title="发货", tags=["物流", "售后"])
    with people.session() as session:  # a draft (never published) with a tag of its own
        editing.create_draft(session, "ann", content("draft-only", title="草稿", tags=["秘密"]))
    with people.session() as session:  # a second version of refund, still a draft
        editing.new_draft(session, "ann", "refund")
    return people


def test_published_version_is_the_published_one_not_the_newer_draft(kb) -> None:
    with kb.session() as session:
        row = published_version(session, "refund")
        assert row is not None and (row.version, row.state) == (1, "published")
        assert published_version(session, "draft-only") is None
        assert published_version(session, "no-such") is None


def test_find_version_returns_the_stored_version_or_none(kb) -> None:
    with kb.session() as session:
        second = find_version(session, "refund", 2)
        assert second is not None and second.state == "draft"
        assert find_version(session, "refund", 3) is None
        assert find_version(session, "no-such", 1) is None


def test_published_tags_are_sorted_unique_and_leave_out_drafts(kb) -> None:
    with kb.session() as session:
        assert published_tags(session) == sorted({"退款", "售后", "物流"})


def _log(db, request_id: str, requester: str, channel: str, ts: datetime) -> None:
    data = {"request_id": request_id, "answer": None, "handoff": True, "citations": []}
    columns = query_log_record(
        data, f"问题 {request_id}", audience=Audience.INTERNAL, requester=requester,
        channel=channel, latency_ms=1.0,
    )  # fmt: skip
    with db.session() as session:
        session.add(QueryLog(ts=ts, **columns))


def test_recent_questions_are_the_requesters_on_the_channel_newest_first(db) -> None:
    start = datetime(2026, 11, 30, 8, tzinfo=UTC)
    for n in range(4):
        _log(db, f"mine-{n}", "user:agt", "app", start + timedelta(minutes=n))
    _log(db, "other-user", "user:eve", "app", start + timedelta(hours=1))
    _log(db, "other-channel", "user:agt", "api", start + timedelta(hours=1))
    _log(db, "same-time", "user:agt", "app", start + timedelta(minutes=3))
    with db.session() as session:
        rows = recent_questions(session, "user:agt", "app", limit=3)
        assert [r.request_id for r in rows] == ["same-time", "mine-3", "mine-2"]
        assert recent_questions(session, "user:nobody", "app", limit=3) == []
