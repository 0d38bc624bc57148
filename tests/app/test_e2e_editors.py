"""The editors' workspace in a real headless Chromium (issue 14): a reload keeps the session
and the page, an unsaved edit survives navigation and a reload, the article list filters,
an unanswered group becomes a draft FAQ that the reviewer checks field by field (audience,
dates), the publisher publishes seeing the content and the approver, and the FAQ then
answers the group's question; a publisher rolls back from the history page.

Uses the server, browser and helpers of tests/app/test_e2e.py (``streamlit run app.py`` on
loopback against a copy of the sample knowledge base, Playwright with Debian's
``/usr/bin/chromium``). Screenshots go to ``test-artifacts/`` in Chinese and English.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from kb.store.articles import utcnow
from kb.store.db import Database
from kb.store.tables import QueryLog
from review import editing, workflow
from review.versions import versions_of
from tests.app.test_e2e import (  # noqa: F401  (fixtures)
    idle,
    open_page,
    page,
    server,
    settled,
    shot,
    sign_in,
    sign_out,
    type_into,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.integration]

QUESTION = "寄到国外的快递要多久"
FAQ_ID = "faq-international-time"


def db_of(home: Path) -> Database:
    return Database(f"sqlite:///{home / 'kb.sqlite3'}")


def seed(home: Path) -> None:
    """Three hand-offs of one question, and delay-compensation v2 published (for a rollback)."""
    db = db_of(home)
    with db.session() as session:
        for n in range(3):
            session.add(
                QueryLog(
                    request_id=f"e2e-{n}",
                    ts=utcnow() - timedelta(hours=n),
                    requester="user:dave",
                    audience="internal",
                    question=QUESTION,
                    answered=False,
                    handoff=True,
                    confidence=0.1,
                )
            )
    with db.session() as session:
        row = versions_of(session, "delay-compensation")[-1]
        content = editing.to_content(row)
        content.body = content.body.replace("50%", "60%")
        editing.save_draft(session, "alice", content, expected_version=row.version)
    with db.session() as session:
        workflow.submit(session, "alice", "delay-compensation")
    with db.session() as session:
        workflow.approve(session, "bob", "delay-compensation")
    with db.session() as session:
        workflow.publish(session, "carol", "delay-compensation")
    db.dispose()


def english(tab, on: bool) -> None:
    tab.locator('[data-testid="stSidebar"]').get_by_text("English" if on else "中文").click()
    idle(tab)


def test_editors_workspace(page, server, kb_home: Path):  # noqa: F811
    seed(kb_home)
    page.get_by_label("用户名").wait_for()
    sign_in(page, "alice")
    page.get_by_text("你负责的").first.wait_for()  # her overdue and expiring articles

    # a link opens the editor on an article; a reload keeps the session and the page
    page.goto(f"{server}/editor?article=refund-policy")
    page.get_by_role("heading", name="编辑文章").wait_for()
    idle(page)
    expect(page.get_by_label("标题", exact=True)).to_have_value("退款政策")
    type_into(page, "标题", "退款政策（修订中）")
    page.get_by_text("有未保存的修改").wait_for()
    open_page(page, "文章列表")
    page.locator('[data-testid="stSidebar"]').get_by_text("编辑器中有未保存的修改").wait_for()
    open_page(page, "编辑文章")
    expect(page.get_by_label("标题", exact=True)).to_have_value("退款政策（修订中）")
    page.reload()
    page.get_by_role("heading", name="编辑文章").wait_for()
    idle(page)
    page.get_by_text("当前用户：alice").wait_for()
    page.get_by_text("已恢复你在").wait_for()
    expect(page.get_by_label("标题", exact=True)).to_have_value("退款政策（修订中）")
    shot(page, "editors-01-unsaved-edit-restored")
    page.get_by_role("button", name="放弃修改").click()
    idle(page)
    expect(page.get_by_label("标题", exact=True)).to_have_value("退款政策")

    # the article list: counts, search, a filter
    open_page(page, "文章列表")
    page.get_by_text(re.compile(r"共 5 篇")).wait_for()
    shot(page, "editors-02-article-list-zh")
    type_into(page, "搜索标题、问题和正文", "原路返回")
    page.get_by_text(re.compile(r"共 1 篇")).wait_for()
    type_into(page, "搜索标题、问题和正文", "")
    page.get_by_text("N 天内失效（0 = 不限）").wait_for()
    field = page.get_by_label("N 天内失效（0 = 不限）")
    field.fill("14")
    field.press("Enter")
    idle(page)
    page.get_by_text(re.compile(r"共 1 篇")).wait_for()  # refund-policy ends in 10 days
    english(page, True)
    page.get_by_role("heading", name="Articles").wait_for()
    shot(page, "editors-02-article-list-en")
    english(page, False)

    # an unanswered group becomes a draft FAQ in one click
    open_page(page, "运营洞察")
    page.get_by_text(f"{QUESTION}（3 次）").click()
    settled(page)  # opening an expander starts no run
    shot(page, "editors-03-unanswered-group-zh")
    page.get_by_role("button", name="据此新建常见问题").click()
    page.get_by_role("heading", name="编辑文章").wait_for()
    idle(page)
    expect(page.get_by_label("标准问", exact=True)).to_have_value(QUESTION)
    type_into(page, "文章 ID", FAQ_ID)
    type_into(
        page,
        "答案（Markdown）",
        "寄往国外的快件一般7至15个工作日送达，具体以目的国清关时间为准。",
        area=True,
    )
    page.get_by_role("button", name="提交审核").click()
    page.get_by_text(f"已提交审核：{FAQ_ID}").wait_for()
    idle(page)
    shot(page, "editors-04-faq-submitted")
    sign_out(page)

    # the reviewer sees every field by name: audience and dates, no front matter
    sign_in(page, "bob")
    page.goto(f"{server}/review?article={FAQ_ID}")
    page.get_by_role("heading", name="审核队列").wait_for()
    idle(page)
    fields = page.locator("table.kb-fields")
    fields.wait_for()
    text = fields.inner_text()
    for label in ("可见范围", "公开（坐席和机器人）", "生效日期", "失效日期", "复核日期", "标准问"):
        assert label in text, label
    assert "audience:" not in page.content()
    shot(page, "editors-05-reviewer-fields-zh")
    page.locator(f".st-key-rv_comment_{FAQ_ID}-1 textarea").fill("可以发布")
    page.locator(f".st-key-rv_comment_{FAQ_ID}-1 textarea").press("Control+Enter")
    idle(page)
    page.locator(f".st-key-rv_approve_{FAQ_ID}-1 button").click()
    page.get_by_text(f"已批准：{FAQ_ID}").wait_for()
    idle(page)
    sign_out(page)

    # the publisher sees the content and who approved it, publishes
    sign_in(page, "carol")
    page.goto(f"{server}/review?article={FAQ_ID}")
    page.get_by_role("heading", name="审核队列").wait_for()
    idle(page)
    page.get_by_text(re.compile(r"由 bob 于 .* 批准：可以发布")).wait_for()
    assert page.get_by_text("寄往国外的快件一般7至15个工作日送达").count() >= 1
    shot(page, "editors-06-publisher-sees-content-zh")
    page.locator(f".st-key-rv_publish_{FAQ_ID}-1 button").click()
    page.get_by_text(f"已发布：{FAQ_ID}").wait_for(timeout=120_000)
    idle(page)

    # rollback from the history page (delay-compensation v2 -> the content of v1)
    page.goto(f"{server}/history?article=delay-compensation")
    page.get_by_role("heading", name="版本历史").wait_for()
    idle(page)
    page.get_by_label("原因（记入审计）").fill("60% 未获批准")
    page.get_by_label("原因（记入审计）").press("Enter")
    idle(page)
    page.get_by_role("button", name="回滚（生成新版本，需再审核）").click()
    page.get_by_text(re.compile(r"已回滚：delay-compensation 第 3 版")).wait_for()
    idle(page)
    shot(page, "editors-07-rolled-back-zh")
    english(page, True)
    page.get_by_role("heading", name="History").wait_for()
    shot(page, "editors-07-history-en")
    english(page, False)
    sign_out(page)

    # the agent's question is now answered by the new FAQ
    sign_in(page, "dave")
    page.get_by_label("客户问题").fill(QUESTION)
    page.get_by_role("button", name="获取建议回复").click()
    idle(page)
    page.get_by_text(FAQ_ID).first.wait_for()
    shot(page, "editors-08-agent-answered")
    db = db_of(kb_home)
    with db.session() as session:
        rows = versions_of(session, "delay-compensation")
        assert [r.state for r in rows][-1] == "in_review" and "50%" in rows[-1].body
    db.dispose()
