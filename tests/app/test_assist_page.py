"""AppTest tests of the assist page for a working day: a multi-line question box, a link
that opens each cited or found article, and candidate articles on a hand-off."""

from __future__ import annotations

import copy
import re
from datetime import date, timedelta

from kb.ui import render
from kb.ui.services import services
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


def test_recent_questions_keep_their_answers_and_survive_a_new_session(page_test, app_kb):
    at = page_test("assist", "dave").run()
    for question in ("我的快递丢了怎么办", "今天天气怎么样，适合去公园吗"):
        at.text_area(key="as_question").input(question)
        at.button[0].click().run()
    assert not at.exception
    first = at.session_state["as_recent"][1].data  # newest first
    labels = [shown(e.label) for e in at.expander]
    assert any("我的快递丢了怎么办" in label for label in labels), labels
    at.button(key="as_recent_1").click().run()  # show the first question's reply again
    assert at.session_state["as_answer"]["request_id"] == first["request_id"]

    assert services().usage.flush(timeout=10)  # the query log rows are written
    reloaded = page_test("assist", "dave").run()  # a reload: a new session, same agent
    labels = [shown(e.label) for e in reloaded.expander]
    assert any("我的快递丢了怎么办" in label for label in labels), labels
    assert any("今天天气怎么样" in label for label in labels), labels
    index = next(n for n, label in enumerate(labels) if "我的快递丢了怎么办" in label)
    reloaded.button(key=f"as_recent_{index}").click().run()  # ask again
    assert reloaded.session_state["as_answer"]["answer"]
    assert reloaded.text_area(key="as_question").value == "我的快递丢了怎么办"
    assert not page_test("assist", "erin").run().expander  # another agent sees none of it


def test_a_hand_off_reason_is_in_the_interface_language(page_test):
    data = {
        **copy.deepcopy(ANSWER),
        "answer": None,
        "citations": [],
        "handoff": True,
        "reason": "low_confidence",
        "detail": "the best match is not confident enough: confidence 0.31 is below 0.55",
    }
    at = page_test("assist", "dave")
    at.session_state["as_answer"] = data
    at.run()
    caption = next(c.value for c in at.caption if "原因" in c.value)
    assert "置信度 0.31 低于 0.55" in caption and "confident" not in caption
    english = page_test("assist", "dave", lang="en")
    english.session_state["as_answer"] = data
    english.run()
    assert any("confidence 0.31 is below 0.55" in c.value for c in english.caption)


def test_a_handed_off_question_of_a_message_lists_its_own_candidates(page_test):
    at = page_test("assist", "dave").run()
    at.text_area(key="as_question").input("我的快递丢了怎么办？另外，你们周末上班吗？")
    at.button[0].click().run()
    assert not at.exception
    data = at.session_state["as_answer"]
    answered, handed_off = data["parts"]
    assert answered["answer"] and not handed_off["answer"], data["parts"]
    headings = [shown(s.value) for s in at.subheader]
    assert "问题 2 的候选文章（请坐席阅读后自行回复）" in headings, headings
    # each article once among the results; a cited one only as question 2's candidate
    labels = [shown(e.label).split(" · ") for e in at.expander]
    found = [bits[1] for bits in labels if re.fullmatch(r"\d+\.\d{3}", bits[-1])]  # results
    candidates = {r["article_id"] for r in handed_off["results"]}
    assert candidates and candidates <= set(found) and len(found) == len(set(found)), found
    cited = {c["article_id"] for c in answered["citations"]}
    assert not (cited - candidates) & set(found), found
    # the recent questions say the message was answered in part
    [entry] = at.session_state["as_recent"]
    assert entry.handoff and entry.cited == ("faq-lost-parcel",)
    captions = [str(c.value) for c in at.caption]
    assert "部分问题未能给出答案（已转人工）" in captions, captions


def test_a_recent_pasted_chat_keeps_its_lines(page_test):
    at = page_test("assist", "dave").run()
    chat = "客户：**你好**\n客户：我的快递丢了怎么办？\n# 单号 <b>SF1</b>"
    at.text_area(key="as_question").input(chat)
    at.button[0].click().run()
    assert not at.exception
    assert chat in [str(x.value) for x in at.text]


def test_following_the_article_the_whole_answer_is_in_its_language(page_test):
    data = copy.deepcopy(ANSWER)
    data["answer"] = "Before after. [1]"
    data["citations"] = [
        {**data["citations"][0], "article_id": "xss-test", "title": "Script", "type": "policy"}
    ]
    at = page_test("assist", "dave", lang="auto")  # the English article's language
    at.session_state["as_answer"] = data
    at.run()
    assert not at.exception
    headings = [shown(s.value) for s in at.subheader]
    assert {"Suggested reply", "Citations", "Other top results"} <= set(headings), headings


def test_the_opened_article_says_its_type_version_and_effective_dates(page_test):
    ends = (date.today() + timedelta(days=10)).isoformat()  # refund-policy's effective_to
    at = page_test("assist", "dave")
    at.query_params["article"] = "refund-policy"
    at.run()
    assert not at.exception
    captions = [shown(c.value) for c in at.caption]
    assert f"政策 · 第 1 版 · 生效：— 至 {ends}" in captions, captions
    english = page_test("assist", "dave", lang="en")
    english.query_params["article"] = "refund-policy"
    english.run()
    captions = [shown(c.value) for c in english.caption]
    assert f"Policy · version 1 · Effective — to {ends}" in captions, captions


def test_the_metadata_line_escapes_what_it_is_given():
    line = render.meta_line("<b>x</b>", 2, "2025-01-01", None, "en", section="*bold* [a](b)")
    assert line.startswith("\\<b\\>x\\</b\\> · version 2 · Effective 2025-01-01 to open-ended")
    assert "\\*bold\\* \\[a\\]\\(b\\)" in line


def test_a_hand_off_has_no_feedback_buttons_an_answer_has(page_test):
    handoff = {**copy.deepcopy(ANSWER), "answer": None, "citations": [], "handoff": True}
    at = page_test("assist", "dave")
    at.session_state["as_answer"] = handoff
    at.run()
    assert not at.exception
    keys = {b.key for b in at.button}
    assert not keys & {"as_helpful", "as_wrong"}, keys
    answered = page_test("assist", "dave")
    answered.session_state["as_answer"] = copy.deepcopy(ANSWER)
    answered.run()
    assert {"as_helpful", "as_wrong"} <= {b.key for b in answered.button}
