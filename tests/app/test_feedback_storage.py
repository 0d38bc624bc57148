"""The agent-assist page's feedback storage: the comment is masked before it is stored.

Runs ``kb.ui.feedback.record_feedback`` on a real migrated SQLite database (no model,
no Streamlit: the page only passes the text field's value on).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from kb.db import Database
from kb.tables import Feedback, QueryLog
from kb.ui.feedback import record_feedback, requester


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
