"""AppTest of the change feed and practice pages (real SQLite, the app fixtures' knowledge
base): a must-read change acknowledged by an agent and seen by the supervisor, the feed
first after sign-in, the publisher's importance, a practice round scored, the team table."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from streamlit.testing.v1 import AppTest

from kb.store.articles import to_content
from kb.store.db import Database
from review import editing, feed, workflow
from review.versions import published_row, versions_of
from tests.app.conftest import PASSWORD, ROOT


def change_refund_policy(home: Path, importance: str = "must_read", publish: bool = True) -> None:
    """alice changes the refund policy (3 → 5 working days), bob approves, carol publishes."""
    db = Database(f"sqlite:///{home / 'kb.sqlite3'}")
    with db.session() as session:
        old = to_content(published_row(versions_of(session, "refund-policy")))
        body = old.body.replace("3个工作日", "5个工作日")
        editing.new_draft(session, "alice", "refund-policy", replace(old, body=body))
    with db.session() as session:
        workflow.submit(session, "alice", "refund-policy")
    with db.session() as session:
        workflow.approve(session, "bob", "refund-policy")
    if publish:
        with db.session() as session:
            workflow.publish(session, "carol", "refund-policy", importance=importance)
    db.dispose()


def entries_of(home: Path, who: str) -> list[feed.FeedItem]:
    db = Database(f"sqlite:///{home / 'kb.sqlite3'}")
    with db.session() as session:
        items = feed.entries(session, who)
    db.dispose()
    return items


def markdown_of(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_agent_acknowledges_a_must_read_change_and_the_supervisor_sees_it(page_test, app_kb):
    change_refund_policy(app_kb)
    entry = entries_of(app_kb, "dave")[0]
    at = page_test("feed", "dave").run()
    assert not at.exception
    assert "refund-policy v2" in markdown_of(at)
    assert "3个工作日 → 5个工作日" in markdown_of(at).replace("\\", "")
    at.button(key=f"feed_ack_{entry.id}").click().run()
    assert any("已确认阅读" in s.value for s in at.success)
    assert f"feed_ack_{entry.id}" not in [b.key for b in at.button]  # read: no button
    assert [i.acked for i in entries_of(app_kb, "dave")] == [True]
    boss = page_test("feed", "sue").run()
    assert not boss.exception
    text = markdown_of(boss)
    assert "已阅读：dave" in text
    assert "提醒名单" in "\n".join(h.value for h in boss.header)
    assert any("所有坐席都已阅读" in i.value for i in boss.info)


def test_the_supervisor_sees_who_has_not_read_and_agents_cannot(page_test, app_kb):
    change_refund_policy(app_kb)
    boss = page_test("feed", "sue").run()
    assert "未阅读：dave" in markdown_of(boss)
    assert boss.dataframe[0].value.to_csv().count("dave") == 1  # the reminder list
    agent = page_test("feed", "dave").run()
    assert "未阅读：" not in markdown_of(agent)
    assert not agent.dataframe


def test_sign_in_opens_the_feed_while_a_must_read_change_is_unread(app_kb):
    change_refund_policy(app_kb)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    at.text_input(key="signin_name").input("dave")
    at.text_input(key="signin_password").input(PASSWORD)
    at.button[0].click().run()
    assert at.title[0].value == "知识动态"
    assert any("1 条必读" in w.value for w in at.sidebar.warning)


def test_the_publisher_chooses_the_importance(page_test, app_kb):
    change_refund_policy(app_kb, publish=False)
    at = page_test("review_queue", "carol").run()
    assert not at.exception
    at.radio(key="rv_importance_refund-policy-2").set_value("must_read").run()
    at.button(key="rv_publish_refund-policy-2").click().run()
    assert not at.exception
    entry = entries_of(app_kb, "dave")[0]
    assert (entry.version, entry.importance) == (2, "must_read")


def test_a_practice_round_is_scored_and_the_team_table_shows_it(page_test, app_kb):
    at = page_test("practice", "dave").run()
    assert not at.exception
    at.multiselect(key="pr_tags").set_value(["丢失"])
    at.number_input(key="pr_size").set_value(1)
    at.button[0].click().run()  # the start form's button
    assert any("已开始" in s.value for s in at.success)
    at.text_area(key="pr_reply_text_1").input("请提供运单号，我们会在48小时内核实。")
    at.button[1].click().run()  # the reply form's button
    assert not at.exception
    text = markdown_of(at)
    assert "**有误**" in text and "48小时" in text
    assert any("有错误信息" in w.value for w in at.warning)
    assert any("本轮结束" in s.value for s in at.success)
    boss = page_test("practice", "sue").run()
    team = boss.dataframe[0].value.to_csv()
    assert "dave" in team and "丢失" in team


def test_the_pages_in_english(page_test, app_kb):
    change_refund_policy(app_kb)
    at = page_test("feed", "dave", lang="en").run()
    assert at.title[0].value == "Change feed"
    assert at.button(key=f"feed_ack_{entries_of(app_kb, 'dave')[0].id}").label == "Mark as read"
    practice_page = page_test("practice", "dave", lang="en").run()
    assert practice_page.title[0].value == "Practice"


def test_a_round_a_supervisor_starts_waits_on_the_agents_page(page_test, app_kb):
    boss = page_test("practice", "sue").run()
    boss.selectbox(key="pr_for").set_value("dave")
    boss.number_input(key="pr_size").set_value(1)
    boss.button[0].click().run()
    assert any("已开始" in s.value for s in boss.success)
    at = page_test("practice", "dave").run()
    assert at.text_area(key="pr_reply_text_1")  # dave can answer it
    assert "第 1 题" in markdown_of(at)
