"""The less common service refusals reach a Chinese page in Chinese (issue 14): each
message is produced by the real service call on the real app knowledge base (SQLite),
then put through ``kb.ui.errors.localize`` as the app does; none may stay English."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from kb.errors import KbError
from kb.model import Audience
from kb.store.articles import get_version, utcnow
from kb.store.db import Database
from kb.store.feedback import record_feedback
from kb.ui.errors import localize
from review import golden, practice, queue, schedule, workflow
from review.picker import pick_articles
from tests.app.test_review_pages import submit_edit

# (service call, the Chinese it must say): each raises a KbError with English wording
CALLS: list[tuple[Callable[[Session], Any], str]] = [
    (lambda s: schedule.unschedule(s, "carol", "refund-policy"), "没有定时发布"),
    (lambda s: schedule.schedule(s, "carol", "refund-policy"), "没有处于已批准状态的版本"),
    (lambda s: get_version(s, "refund-policy", 99), "没有第 99 版"),
    (lambda s: queue.list_groups(s, "ghost", None), "未知用户 ghost"),
    (lambda s: queue.assign(s, "bob", "q0000000000", "nobody", None), "不能分配给 nobody"),
    (lambda s: queue.unassign(s, "bob", "q0000000000", None), "待解答队列中没有"),
    (lambda s: golden.add(s, "alice", "？？？", ["refund-policy"]), "黄金问题：问题为空"),
    (lambda s: golden.add(s, "alice", "怎么退款", []), "请至少选择一篇应答文章"),
    (lambda s: golden.add(s, "alice", "怎么退款", ["nope"]), "黄金问题：没有文章 nope"),
    (lambda s: golden.remove(s, "alice", 9999), "没有编号为 9999 的黄金问题"),
    (lambda s: pick_articles(s, "alice", "x" * 201), "查找内容最多 200 个字符"),
    (lambda s: practice.start_round(s, "dave", tags=["不存在的标签"]), "没有题目"),
    (lambda s: practice.start_round(s, "dave", size=0), "一轮练习有 1 到"),
    (lambda s: practice.get_round(s, "dave", 424242), "没有第 424242 轮练习"),
    (
        lambda s: record_feedback(s, "user:dave", "r-42", helpful=True, audience=Audience.INTERNAL),
        "找不到请求 r-42",
    ),
]

ENGLISH_WORD = re.compile(r"\b[A-Za-z]{3,}\b")


def english_words(text: str, allowed: set[str]) -> list[str]:
    return [w for w in ENGLISH_WORD.findall(text) if w not in allowed]


def refused(db: Database, call: Callable[[Session], Any]) -> str:
    with pytest.raises(KbError) as caught, db.session() as session:
        call(session)
    return caught.value.message


@pytest.mark.parametrize(("call", "chinese"), CALLS)
def test_each_refusal_is_said_in_chinese(app_kb, call, chinese) -> None:
    db = Database(f"sqlite:///{app_kb / 'kb.sqlite3'}")
    try:
        message = refused(db, call)
    finally:
        db.dispose()
    said = localize(message, "zh")
    assert said is not None, message
    assert chinese in said, (message, said)
    ids = {"ghost", "nobody", "nope", "refund", "policy", "request", "q0000000000"}
    assert english_words(said, ids) == [], (message, said)
    assert localize(message, "en") == message  # English mode: as the service wrote it


def test_lifecycle_races_are_said_in_chinese(app_kb) -> None:
    """A version no longer in the state the action needs, and a time that has passed."""
    db = Database(f"sqlite:///{app_kb / 'kb.sqlite3'}")
    try:
        submit_edit(app_kb)
        with db.session() as session:
            workflow.approve(session, "bob", "refund-policy")
        past = utcnow() - timedelta(minutes=5)
        passed = refused(db, lambda s: schedule.schedule(s, "carol", "refund-policy", at=past))
        twice = refused(db, lambda s: workflow.approve(s, "bob", "refund-policy", version=2))
    finally:
        db.dispose()
    assert "已经过去：请直接发布文章 refund-policy 第 2 版" in (localize(passed, "zh") or "")
    said = localize(twice, "zh") or ""
    assert "第 2 版当前为已批准" in said and "审核中" in said, (twice, said)
