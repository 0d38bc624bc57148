"""The agent-assist page stores no personal data: question and feedback comment masked.

The first test runs ``kb.ui.feedback.record_feedback`` on a real migrated SQLite database
(no model, no Streamlit); the second drives the real page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from kb.store.db import Database
from kb.store.tables import Feedback, QueryLog
from kb.ui.feedback import record_feedback, requester
from tests.app.test_assist import ask, db_of


def test_the_comment_is_masked(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'kb.sqlite3'}")
    db.migrate()
    try:
        with db.session() as session:
            session.add(
                QueryLog(
                    request_id="r1", ts=datetime.now(UTC), channel="app",
                    requester=requester("dave"), audience="internal", question="退款",
                    answered=True, handoff=False, confidence=0.9, cited_article_ids=[],
                )
            )  # fmt: skip
        with db.session() as session:
            comment = "客户说打１３８ １２３４ ５６７８，住阳光小区5栋1203"
            record_feedback(session, "dave", "r1", False, comment)
        with db.session() as session:
            stored = session.scalars(select(Feedback)).one().comment
    finally:
        db.dispose()
    assert stored == "客户说打[手机号]，住[地址]"


def test_the_assist_page_stores_no_personal_data(page_test, app_kb: Path) -> None:
    """Through the real page (Streamlit AppTest, real index and model): question and comment."""
    at = page_test("assist", "dave").run()
    at = ask(at, "快递丢了怎么办？客户手机１３９ １２３４ ５６７８，身份证 110101 19900307 123X")
    at.button(key="as_wrong").click().run()
    at.text_input(key="as_feedback_comment").input("客户住阳光小区5栋1203，电话13812345678")
    next(b for b in at.button if b.label == "提交反馈").click()
    at.run()
    assert not at.exception
    db = db_of(app_kb)
    try:
        with db.session() as session:
            question = session.scalars(select(QueryLog.question)).one()
            comment = session.scalars(select(Feedback.comment)).one()
    finally:
        db.dispose()
    assert question == "快递丢了怎么办？客户手机[手机号]，身份证 [身份证号]"
    assert comment == "客户住[地址]，电话[手机号]"
