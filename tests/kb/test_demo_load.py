"""``kb demo`` loads the sample history and then the current articles: the second load
publishes into a non-empty knowledge base, so it is an explicit, audited bootstrap."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from kb.cli import demo_cmd
from kb.cli.common import STATE
from kb.store.tables import AuditEvent
from review.versions import versions_of

ARTICLES = Path(__file__).resolve().parents[2] / "articles"


def test_demo_loads_history_then_current_articles(kb_home: Path) -> None:
    STATE.reset(None)
    demo_cmd._add_users()
    demo_cmd._load_articles(ARTICLES)
    with STATE.db.session() as session:
        states = [r.state for r in versions_of(session, "policy-claims-compensation")]
        assert states == ["superseded", "published"]
        reasons = session.scalars(
            select(AuditEvent.comment).where(
                AuditEvent.action == "bootstrap_publish",
                AuditEvent.article_id == "policy-claims-compensation",
                AuditEvent.to_state == "published",
            )
        ).all()
    assert len(reasons) == 2
    assert demo_cmd.DEMO_REASON in reasons[1] and "reason" not in reasons[0]
    STATE.reset(None)
