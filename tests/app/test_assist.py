"""AppTest tests of agent assist: suggestion or plain hand-off, citations highlighted inside
their article, badges, inert HTML, feedback tied to the logged suggestion."""

from __future__ import annotations

import json
import re
import shutil

from sqlalchemy import select

from kb.store.db import Database
from kb.store.tables import Feedback, QueryLog
from kb.ui import render
from kb.ui.services import services

ANSWER = {
    "answer": "请提供运单号，客服将在24小时内核实。[1] 超过72小时的，全额退还运费。[2]",
    "citations": [
        {
            "n": 1,
            "article_id": "faq-lost-parcel",
            "version": 1,
            "title": "快件丢失怎么办",
            "type": "faq",
            "section": "我的快递丢了怎么办？",
            "effective_from": None,
            "effective_to": None,
            "passage": "请提供运单号，客服将在24小时内核实。",
            "char_start": 0,
            "char_end": 19,
        },
        {
            "n": 2,
            "article_id": "delay-compensation",
            "version": 1,
            "title": "快件延误赔偿标准",
            "type": "policy",
            "section": "",
            "effective_from": None,
            "effective_to": None,
            "passage": "超过72小时的，全额退还运费。",
            "char_start": 0,
            "char_end": 0,
        },
    ],
    "confidence": 0.82,
    "handoff": False,
    "reason": "",
    "results": [
        {
            "article_id": "faq-lost-parcel",
            "version": 1,
            "title": "快件丢失怎么办",
            "type": "faq",
            "score": 0.9,
            "passage": "请提供运单号",
            "char_start": 0,
            "char_end": 6,
        },
        {
            "article_id": "refund-policy",
            "version": 1,
            "title": "退款政策",
            "type": "policy",
            "score": 0.4,
            "passage": "退款原路返回",
            "char_start": 0,
            "char_end": 0,
            "effective_to": None,
        },
    ],
    "request_id": "req-1",
    "latency_ms": 12.0,
}


def shown(markdown: str) -> str:
    """What a Markdown label displays: backslash escapes resolved."""
    return re.sub(r"\\(.)", r"\1", markdown)


def db_of(home) -> Database:
    """The app's database, once the app's background usage writer wrote what it queued."""
    assert services().usage.flush(timeout=10)
    return Database(f"sqlite:///{home / 'kb.sqlite3'}")


def ask(at, question: str):
    at.text_area(key="as_question").input(question)
    at.button[0].click()  # the form's submit button
    return at.run()


def test_reply_markers_become_links_and_text_is_escaped():
    html = render.reply_html("<b>x</b> 退款[1]", {1: 'a"title'})
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert 'href="#kb-cite-1"' in html
    assert 'title="a&quot;title"' in html


def test_reply_parts_link_to_their_own_citations():
    html = render.reply_html("退款[1]", {1: "t"}, anchor="kb-cite-2-")
    assert 'href="#kb-cite-2-1"' in html


def test_a_message_with_two_questions_shows_each_with_its_own_citations(page_test, app_kb):
    at = page_test("assist", "dave").run()
    at = ask(
        at, "您好，我的快递丢了怎么办？单号SF1402348812345。另外，坐席可以直接赔付多少钱？谢谢"
    )
    assert not at.exception
    data = at.session_state["as_answer"]
    assert [p["citations"][0]["article_id"] for p in data["parts"]] == [
        "faq-lost-parcel",
        "faq-approval-limit",
    ]
    headings = [str(h.value) for h in at.subheader]
    assert "问题 1：我的快递丢了怎么办" in headings
    assert "问题 2：坐席可以直接赔付多少钱" in headings
    assert "问题 2 的引用" in headings
    htmls = [h.proto.body for h in at.get("html")]
    replies = [h for h in htmls if "kb-reply" in h]
    assert len(replies) == 2
    assert 'href="#kb-cite-1-1"' in replies[0] and 'href="#kb-cite-2-1"' in replies[1]
    assert any('id="kb-cite-2-1"' in h for h in htmls)
    # the internal-only second answer is flagged as such
    assert any("内部口径，勿发给客户" in str(e.value) for e in at.error)
    db = db_of(app_kb)
    with db.session() as session:
        [logged] = session.scalars(select(QueryLog)).all()  # one row per request
        assert "SF1402348812345" not in logged.question
        assert logged.cited_article_ids == ["faq-lost-parcel", "faq-approval-limit"]
    db.dispose()


def test_highlight_marks_the_span_and_escapes_everything():
    text = "前言<script>x()</script>。退款3日内完成。后记"
    span = render.locate(text, "退款3日内完成。", None, None)
    html = render.highlighted_html(text, span)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert ">退款3日内完成。</mark>" in html


def test_badges_for_internal_expiring_and_overdue():
    from datetime import date

    today = date(2026, 1, 10)
    found = render.badges(
        audience="internal",
        effective_to=date(2026, 1, 20),
        review_due=date(2026, 1, 1),
        today=today,
        lang="en",
    )
    assert [b.label for b in found] == [
        "Internal",
        "Expires soon (2026-01-20)",
        "Review overdue (2026-01-01)",
    ]
    assert render.badges(audience="public", effective_to=None, review_due=None, today=today) == []


def test_an_answer_shows_citations_highlighted_in_their_article(page_test):
    at = page_test("assist", "dave")
    at.session_state["as_answer"] = ANSWER
    at.run()
    assert not at.exception
    htmls = [h.proto.body for h in at.get("html")]
    reply = next(h for h in htmls if "kb-reply" in h)
    assert 'href="#kb-cite-1"' in reply
    assert 'href="#kb-cite-2"' in reply
    article = next(h for h in htmls if "kb-article" in h and "运单号" in h)
    assert "<mark" in article
    assert ">请提供运单号，客服将在24小时内核实。</mark>" in article
    # the second citation's span was wrong (0, 0): the passage is found in the article text
    delay = next(h for h in htmls if "kb-article" in h and "72小时" in h)
    assert ">超过72小时的，全额退还运费。</mark>" in delay
    labels = [shown(e.label) for e in at.expander]  # Markdown source: user text is escaped
    assert labels[:2] == [
        "[1] 快件丢失怎么办 · faq-lost-parcel",
        "[2] 快件延误赔偿标准 · delay-compensation",
    ]
    # review overdue badge on delay-compensation; expires soon on refund-policy (other result)
    badges = [b.proto.body for b in at.get("badge")] if at.get("badge") else []
    text = " ".join(str(b) for b in badges) + " ".join(str(m.value) for m in at.markdown)
    assert "复核逾期" in text
    assert "即将失效" in text
    assert "refund-policy" in labels[-1]


def test_no_confident_answer_is_said_plainly(page_test, app_kb):
    at = page_test("assist", "dave").run()
    at = ask(at, "今天天气怎么样，适合去公园吗")
    assert not at.exception
    data = at.session_state["as_answer"]
    if data["answer"] is None:
        assert "没有足够把握的答案" in at.warning[0].value
        assert not [h for h in at.get("html") if "kb-reply" in h.proto.body]
    db = db_of(app_kb)
    with db.session() as session:
        logged = session.scalars(select(QueryLog)).all()
        assert [(q.question, q.requester, q.channel) for q in logged] == [
            ("今天天气怎么样，适合去公园吗", "user:dave", "app")
        ]
        assert logged[0].handoff == (data["answer"] is None)
    db.dispose()


def test_article_html_renders_inert(page_test):
    at = page_test("assist", "dave").run()
    at = ask(at, "Script test before after")
    htmls = " ".join(h.proto.body for h in at.get("html"))
    assert "xss-test" in " ".join(e.label for e in at.expander)
    assert "<script>" not in htmls
    assert "<img" not in htmls
    assert "&lt;script&gt;window.kbPwned = 1&lt;/script&gt;" in htmls


def test_wrong_feedback_asks_for_the_right_article(page_test, app_kb):
    at = page_test("assist", "dave").run()
    at = ask(at, "快递丢了怎么办")
    rid = at.session_state["as_answer"]["request_id"]
    at.button(key="as_wrong").click().run()
    at.selectbox(key="as_right_article").select("refund-policy")
    at.text_input(key="as_feedback_comment").input("应引用退款政策")
    next(b for b in at.button if b.label == "提交反馈").click()
    at.run()
    assert not at.exception
    assert "感谢反馈" in at.success[0].value
    db = db_of(app_kb)
    with db.session() as session:
        row = session.scalars(select(Feedback)).one()
        assert (row.request_id, row.helpful, row.correct_article_id, row.given_by) == (
            rid,
            False,
            "refund-policy",
            "dave",
        )
        assert row.comment == "应引用退款政策"
    db.dispose()


def test_filters_by_type(page_test):
    at = page_test("assist", "dave").run()
    at.multiselect(key="as_types").select("policy")
    at = ask(at, "快递丢了怎么办")
    results = at.session_state["as_answer"]["results"]
    assert results
    assert {r["type"] for r in results} == {"policy"}


def test_signed_out_visitors_see_nothing(page_test):
    at = page_test("assist", None).run()
    assert "无权" in at.warning[0].value


def test_a_confident_question_gets_a_cited_reply(page_test, app_kb):
    at = page_test("assist", "dave").run()
    at = ask(at, "我的快递丢了怎么办")
    assert not at.exception
    data = at.session_state["as_answer"]
    assert data["answer"]
    assert "[1]" in data["answer"]
    assert data["citations"][0]["article_id"] == "faq-lost-parcel"
    htmls = [h.proto.body for h in at.get("html")]
    assert any("kb-reply" in h and 'href="#kb-cite-1"' in h for h in htmls)
    assert any("kb-article" in h and "<mark" in h and "运单号" in h for h in htmls)
    db = db_of(app_kb)
    with db.session() as session:
        logged = session.scalars(select(QueryLog)).one()
        assert (logged.requester, logged.channel, logged.handoff) == ("user:dave", "app", False)
        assert logged.cited_article_ids == ["faq-lost-parcel"]
    db.dispose()


def test_filters_by_tag(page_test):
    at = page_test("assist", "dave").run()
    at.multiselect(key="as_tags").select("赔偿")
    at = ask(at, "快递丢了怎么办")
    results = at.session_state["as_answer"]["results"]
    assert {r["article_id"] for r in results} <= {"delay-compensation", "faq-approval-limit"}
    assert results


def test_without_an_index_the_page_says_so(page_test, app_kb):
    shutil.rmtree(app_kb / "index")
    at = page_test("assist", "dave").run()
    at = ask(at, "快递丢了怎么办")
    assert not at.exception
    assert "检索索引尚未就绪" in at.error[0].value


def test_copy_button_keeps_the_reply_as_data():
    reply = '退款</script><script>alert(1)</script>"\\ & <b>'
    page = render.copy_button_html(reply, "k1", "复制", "已复制")
    assert page.count("</script>") == 1  # only the button's own script ends
    assert "<script>alert" not in page
    literal = page.split("const text = ", 1)[1].split(";\n", 1)[0]
    assert json.loads(literal) == reply
