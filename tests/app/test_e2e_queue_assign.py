"""Assigning an unanswered group and finding an article by typing, in a real headless
Chromium (issue 14): a reviewer assigns the group to an author, who finds it under "only
mine"; the history page's picker finds an article from part of its title.

Uses the server, browser and helpers of tests/app/test_e2e.py (``streamlit run app.py`` on
loopback against a copy of the sample knowledge base, Playwright with Debian's
``/usr/bin/chromium``). Screenshots go to ``test-artifacts/`` in Chinese and English.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from kb.quality.unanswered import QuestionGroup
from kb.store.articles import utcnow
from kb.store.db import Database
from kb.store.tables import QueryLog
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
from tests.app.test_e2e_editors import english

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.integration]

QUESTION = "可以寄送电池吗"


def seed(home: Path) -> None:
    """Two hand-offs of one question."""
    db = Database(f"sqlite:///{home / 'kb.sqlite3'}")
    with db.session() as session:
        for n in range(2):
            session.add(
                QueryLog(
                    request_id=f"e2e-assign-{n}",
                    ts=utcnow() - timedelta(hours=n),
                    requester="user:dave",
                    audience="internal",
                    question=QUESTION,
                    answered=False,
                    handoff=True,
                    confidence=0.1,
                )
            )
    db.dispose()


def choose(tab, key: str, option: str, reruns: bool = True) -> None:
    """Pick ``option`` in the select box with widget key ``key`` (``reruns``: False for a
    select box in a form, which starts no run)."""
    tab.locator(f".st-key-{key}").click()
    tab.get_by_role("option", name=option).click()
    if reruns:
        idle(tab)
    else:
        settled(tab)


def test_assign_a_group_and_find_an_article_by_typing(page, server, kb_home: Path):  # noqa: F811
    seed(kb_home)
    group = QuestionGroup(example=QUESTION, count=0).id
    page.get_by_label("用户名").wait_for()
    sign_in(page, "bob")
    open_page(page, "运营洞察")
    page.get_by_text(f"{QUESTION}（2 次）").click()
    settled(page)  # opening an expander starts no run
    page.get_by_text("负责人：未分配").wait_for()
    choose(page, f"in_assignee_{group}", "alice", reruns=False)
    page.locator(f".st-key-in_assign_{group} button").click()
    page.get_by_text(f"{QUESTION}：负责人现为 alice").wait_for()
    idle(page)
    page.get_by_text(f"{QUESTION}（2 次）· 负责人：alice").wait_for()
    shot(page, "queue-01-assigned-zh")
    english(page, True)
    page.get_by_text(f"{QUESTION} (2 times) · assigned to alice").wait_for()
    shot(page, "queue-01-assigned-en")
    english(page, False)

    # the history page's picker: type part of a title, pick the match
    page.goto(f"{server}/history")
    page.get_by_role("heading", name="版本历史").wait_for()
    idle(page)
    type_into(page, "查找文章（ID 或标题）", "延误")
    choose(page, "hi_article", "delay-compensation · 快件延误赔偿标准 (已发布)")
    assert "article=delay-compensation" in page.url
    shot(page, "queue-02-picker-search-zh")
    sign_out(page)

    # the author finds it among hers and gives it back
    sign_in(page, "alice")
    open_page(page, "运营洞察")
    page.get_by_text("只看分配给我的").click()
    idle(page)
    page.get_by_text(f"{QUESTION}（2 次）· 负责人：alice").click()
    settled(page)  # opening an expander starts no run
    shot(page, "queue-03-mine-zh")
    page.locator(f".st-key-in_release_{group} button").click()
    page.get_by_text("没有分配给你的未解答问题。").wait_for()
    idle(page)
