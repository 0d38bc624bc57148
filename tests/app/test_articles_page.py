"""AppTest of the article list page (review.catalog underneath, real SQLite knowledge base
from tests/app/conftest.py): views, filters, search, counts, links, roles."""

from __future__ import annotations

from tests.app.conftest import CONTRADICTING_FAQ, submit_new_article


def listed(at) -> list[str]:
    if not at.dataframe:
        return []
    return sorted(at.dataframe[0].value.iloc[:, 1].tolist())  # the id column


def test_everything_is_listed_with_counts_and_links(page_test):
    at = page_test("articles", "alice").run()
    assert not at.exception
    assert listed(at) == [
        "delay-compensation",
        "faq-approval-limit",
        "faq-lost-parcel",
        "refund-policy",
        "xss-test",
    ]
    assert "共 5 篇" in at.caption[0].value and "已发布 5" in at.caption[0].value
    frame = at.dataframe[0].value
    assert "editor?article=refund-policy" in frame.iloc[:, -2].tolist()


def test_filters_and_search_narrow_the_list(page_test):
    at = page_test("articles", "bob").run()
    at.selectbox(key="al_type").select("faq").run()
    assert listed(at) == ["faq-approval-limit", "faq-lost-parcel"]
    at.selectbox(key="al_audience").select("internal").run()
    assert listed(at) == ["faq-approval-limit"]
    at.selectbox(key="al_audience").select("").run()
    at.selectbox(key="al_type").select("").run()
    at.text_input(key="al_text").input("原路返回").run()  # words of the refund policy's body
    assert listed(at) == ["refund-policy"]
    at.text_input(key="al_text").input("").run()
    at.selectbox(key="al_review").select("overdue").run()
    assert listed(at) == ["delay-compensation"]
    at.selectbox(key="al_review").select("").run()
    at.number_input(key="al_expiring").set_value(14).run()
    assert listed(at) == ["refund-policy"]
    at.number_input(key="al_expiring").set_value(0).run()
    at.text_input(key="al_tag").input("赔偿").run()
    assert listed(at) == ["delay-compensation", "faq-approval-limit"]
    at.text_input(key="al_text").input("没有这种文章").run()
    assert "没有找到" in at.info[0].value


def test_work_views_show_what_waits_for_the_user(page_test, app_kb):
    submit_new_article(app_kb, "erin", CONTRADICTING_FAQ)
    at = page_test("articles", "bob").run()
    at.radio(key="al_view").set_value("my_review").run()
    assert listed(at) == ["faq-delay"]
    erin = page_test("articles", "erin").run()
    assert erin.radio(key="al_view").options == ["全部文章", "我的草稿"]  # authors do not review
    erin.radio(key="al_view").set_value("my_drafts").run()
    assert listed(erin) == []  # submitted: no longer a draft


def test_agents_do_not_get_the_list(page_test):
    at = page_test("articles", "dave").run()
    assert "无权" in at.warning[0].value
    assert not at.dataframe
