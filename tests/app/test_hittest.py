"""AppTest tests of the hit test: published answers, and a draft searched privately."""

from __future__ import annotations

from datetime import date, timedelta

from kb.config import load_config
from kb.model import ArticleContent, ArticleType
from kb.search.filters import SearchFilters
from kb.search.retrieval import Searcher
from kb.store.db import Database
from kb.ui.hittest import Draft
from review import editing


def add_draft(home, effective_from: date | None = None) -> None:
    db = Database(f"sqlite:///{home / 'kb.sqlite3'}")
    content = ArticleContent(
        id="faq-change-address",
        type=ArticleType.FAQ,
        title="修改收货地址",
        question="怎么修改收货地址？",
        similar_questions=["地址写错了能改吗", "收件地址填错了怎么办"],
        body="快件派送前，可在鲸驿小程序“我的快件”中免费修改一次收货地址。\n",
        effective_from=effective_from,
    )
    with db.session() as session:
        editing.create_draft(session, "alice", content)
    db.dispose()


def test_hit_test_shows_published_answers(page_test):
    at = page_test("hittest", "alice").run()
    at.text_area(key="ht_questions").input("快递丢了怎么办\n快件延误赔偿标准")
    at.button(key="ht_run").click().run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["客户问题"]) == ["快递丢了怎么办", "快件延误赔偿标准"]
    assert table["当前命中"][0].startswith("faq-lost-parcel")
    assert "delay-compensation" in table["当前命中"][1] + table["其他候选"][1]


def test_hit_test_finds_the_draft_without_exposing_it(page_test, app_kb):
    add_draft(app_kb)
    at = page_test("hittest", "alice").run()
    at.text_area(key="ht_questions").input("地址填错了可以改吗")
    at.text_input(key="ht_draft_q").input("nothing-like-it").run()  # searched in the database
    assert len(at.selectbox(key="ht_draft").options) == 1  # only "no draft"
    at.text_input(key="ht_draft_q").input("CHANGE-addr").run()  # part of the id, any case
    label = next(o for o in at.selectbox(key="ht_draft").options if "faq-change-address" in o)
    at.selectbox(key="ht_draft").select(label)
    at.button(key="ht_run").click().run()
    assert not at.exception
    table = at.dataframe[0].value
    assert table["草稿发布后命中"][0].startswith("faq-change-address")
    assert not table["当前命中"][0].startswith("faq-change-address")
    # the live index, which agents and bots read, does not have it
    live = Searcher(load_config().config)
    found = live.search("地址填错了可以改吗", SearchFilters.build(audience="internal"), top_k=10)
    assert "faq-change-address" not in [r.article_id for r in found.results]


def test_agent_may_not_run_hit_tests(page_test):
    at = page_test("hittest", "dave").run()
    assert "无权" in at.warning[0].value


def test_a_draft_taking_effect_later_is_tested_as_of_that_day(page_test, app_kb):
    later = date.today() + timedelta(days=30)
    add_draft(app_kb, effective_from=later)
    at = page_test("hittest", "alice").run()
    at.text_area(key="ht_questions").input("地址填错了可以改吗")
    label = next(o for o in at.selectbox(key="ht_draft").options if "faq-change-address" in o)
    at.selectbox(key="ht_draft").select(label)
    at.button(key="ht_run").click().run()
    assert later.isoformat() in at.caption[-1].value
    assert at.dataframe[0].value["草稿发布后命中"][0].startswith("faq-change-address")


def test_draft_as_of():
    today = date(2026, 5, 1)
    assert Draft("a", 1, "h").as_of(today) == today
    assert Draft("a", 1, "h", date(2026, 4, 1)).as_of(today) == today
    assert Draft("a", 1, "h", date(2026, 6, 1)).as_of(today) == date(2026, 6, 1)
