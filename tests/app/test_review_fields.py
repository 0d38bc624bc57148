"""AppTest: the review queue shows every field by name (audience, type, dates, tags, owner,
questions as lists), the body as a diff, no front matter; the publisher sees the content
and who approved it (issue 14). Real SQLite knowledge base from tests/app/conftest.py."""

from __future__ import annotations

from datetime import date

from kb.model import Audience
from kb.store.db import Database
from review import editing, workflow
from review.versions import versions_of
from tests.app.conftest import CONTRADICTING_FAQ, submit_new_article


def db_of(home) -> Database:
    return Database(f"sqlite:///{home / 'kb.sqlite3'}")


def fields_table(at) -> str:
    tables = [h.proto.body for h in at.get("html") if "kb-fields" in h.proto.body]
    assert len(tables) == 1, tables
    return tables[0]


def submit_audience_change(home) -> None:
    """alice makes the lost-parcel FAQ internal, dates it, adds a similar question; submits."""
    db = db_of(home)
    with db.session() as session:
        row = versions_of(session, "faq-lost-parcel")[-1]
        content = editing.to_content(row)
        content.audience = Audience.INTERNAL
        content.effective_to = date(2027, 3, 31)
        content.similar_questions = [*content.similar_questions, "件丢了谁负责"]
        editing.save_draft(session, "alice", content, expected_version=row.version)
    with db.session() as session:
        workflow.submit(session, "alice", "faq-lost-parcel")
    db.dispose()


def test_a_new_faq_is_shown_field_by_field_without_front_matter(page_test, app_kb):
    submit_new_article(app_kb, "erin", CONTRADICTING_FAQ)
    at = page_test("review_queue", "bob").run()
    assert not at.exception
    table = fields_table(at)
    for label in (
        "可见范围",
        "公开（坐席和机器人）",
        "类型",
        "常见问题",
        "生效日期",
        "失效日期",
        "复核日期",
        "不设置",
        "标准问",
        "快递延误了能赔多少？",
        "标签",
        "延误",
    ):
        assert label in table, label
    shown = " ".join(h.proto.body for h in at.get("html"))
    assert "audience:" not in shown and "null" not in shown


def test_a_changed_audience_and_date_are_highlighted(page_test, app_kb):
    submit_audience_change(app_kb)
    at = page_test("review_queue", "bob", lang="en").run()
    table = fields_table(at)
    assert "public (agents and bots)" in table and "internal (agents only)" in table
    assert "2027-03-31" in table and "not set" in table
    assert "<li>件丢了谁负责</li>" in table  # similar questions as a list
    audience_row = next(r for r in table.split("<tr>") if "Audience" in r)
    assert "#fff4c2" in audience_row  # changed: highlighted
    title_row = next(r for r in table.split("<tr>") if "Title" in r)
    assert "#fff4c2" not in title_row
    assert any("The body is unchanged" in c.value for c in at.caption)


def test_the_publisher_sees_the_content_and_who_approved(page_test, app_kb):
    submit_audience_change(app_kb)
    db = db_of(app_kb)
    with db.session() as session:
        workflow.approve(session, "bob", "faq-lost-parcel", comment="内部口径，同意")
    db.dispose()
    at = page_test("review_queue", "carol").run()
    assert not at.exception
    assert any("由 bob 于" in s.value and "内部口径，同意" in s.value for s in at.success)
    table = fields_table(at)
    assert "仅内部（坐席）" in table and "待发布" in table
    assert any("保价金额赔偿" in h.proto.body for h in at.get("html"))  # the body is shown
    assert at.button(key="rv_publish_faq-lost-parcel-2")


def test_a_link_focuses_the_queue_on_one_article(page_test, app_kb):
    submit_audience_change(app_kb)
    submit_new_article(app_kb, "erin", CONTRADICTING_FAQ)
    at = page_test("review_queue", "bob")
    at.query_params["article"] = "faq-delay"
    at.run()
    assert at.button(key="rv_approve_faq-delay-1")
    assert "rv_approve_faq-lost-parcel-2" not in [b.key for b in at.button]
    at.button(key="rv_show_all").click().run()
    assert at.button(key="rv_approve_faq-lost-parcel-2")
