"""The article pickers past one page (issue 14): 60 more drafts in the real app knowledge
base (SQLite); the history page's picker holds one page, says how many match, narrows as
you type, keeps an article a link names that is not on the first page."""

from __future__ import annotations

from kb.model import ArticleContent, ArticleType
from kb.store.db import Database
from review.importing import import_articles


def add_drafts(home, n: int = 60) -> None:
    db = Database(f"sqlite:///{home / 'kb.sqlite3'}")
    items = [
        (ArticleContent(id=f"bulk-{i:03d}", type=ArticleType.POLICY, title=f"批量政策{i}",
                        body=f"第{i}条。\n"), "test")
        for i in range(n)
    ]  # fmt: skip
    with db.session() as session:
        import_articles(session, "alice", items)
    db.dispose()


def test_one_page_then_narrow_by_typing(page_test, app_kb):
    add_drafts(app_kb)
    at = page_test("history", "bob").run()
    assert not at.exception
    box = at.selectbox(key="hi_article")
    assert len(box.options) == 50
    assert "篇匹配，显示前 50 篇" in at.caption[0].value
    at.text_input(key="hi_article_q").input("批量政策5").run()  # 5, 50..59
    options = at.selectbox(key="hi_article").options
    assert [o for o in options if "批量政策5" in o] == [
        f"bulk-{i:03d} · 批量政策{i} (草稿)" for i in [5, *range(50, 60)]
    ]
    at.selectbox(key="hi_article").select("bulk-057").run()
    assert at.query_params["article"] in ("bulk-057", ["bulk-057"])


def test_a_link_past_the_first_page_is_kept(page_test, app_kb):
    add_drafts(app_kb)
    at = page_test("history", "bob")
    at.query_params["article"] = "refund-policy"  # "r" sorts after the first 50 ids
    at.run()
    assert not at.exception
    assert at.selectbox(key="hi_article").value == "refund-policy"
    assert "refund-policy" in at.selectbox(key="hi_article").options[-1]
