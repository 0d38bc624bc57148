"""AppTest tests of the assist page for a working day: a multi-line question box, a link
that opens each cited or found article, and candidate articles on a hand-off."""

from __future__ import annotations

import copy

from tests.app.test_assist import ANSWER, shown


def test_the_question_box_takes_several_lines(page_test):
    at = page_test("assist", "dave").run()
    box = at.text_area(key="as_question")
    box.input("客户说快递丢了。\n运单号还没给，\n问怎么处理？")
    at.button[0].click().run()
    assert not at.exception
    data = at.session_state["as_answer"]
    assert data["results"], data


def test_each_citation_and_result_links_to_its_article(page_test):
    at = page_test("assist", "dave")
    at.session_state["as_answer"] = ANSWER
    at.run()
    links = [m.value for m in at.markdown if "?article=" in m.value]
    for article_id in ("faq-lost-parcel", "delay-compensation", "refund-policy"):
        assert any(f"(?article={article_id})" in link for link in links), links


def test_the_link_opens_the_article(page_test):
    at = page_test("assist", "dave")
    at.query_params["article"] = "faq-approval-limit"
    at.run()
    assert not at.exception
    assert "坐席赔付审批权限" in shown(at.subheader[0].value)
    body = next(h.proto.body for h in at.get("html") if "kb-article" in h.proto.body)
    assert "坐席可直接赔付500元以内" in body
    assert "仅内部" in " ".join(m.value for m in at.markdown)  # st.badge is Markdown
    at.button(key="as_close_article").click().run()
    assert "article" not in at.query_params
    assert not any("坐席赔付审批权限" in shown(s.value) for s in at.subheader)


def test_an_unknown_article_is_said_plainly(page_test):
    at = page_test("assist", "dave")
    at.query_params["article"] = "no-such-<b>article"
    at.run()
    assert not at.exception
    assert "no-such-<b>article" in shown(at.warning[0].value)


def test_a_hand_off_still_lists_the_candidate_articles(page_test):
    data = {**copy.deepcopy(ANSWER), "answer": None, "citations": [], "handoff": True}
    at = page_test("assist", "dave")
    at.session_state["as_answer"] = data
    at.run()
    assert "转人工" in at.warning[0].value
    assert "候选文章" in " ".join(s.value for s in at.subheader)
    labels = [shown(e.label) for e in at.expander]
    assert any("faq-lost-parcel" in label for label in labels)
    assert any("refund-policy" in label for label in labels)
