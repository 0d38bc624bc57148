"""AppTest tests of the suggested reply: it says when it is internal guidance or rests on an
overdue or expiring source, and its copy button copies clean text with greeting and closing.

The answers are set in session state (as tests/app/test_assist.py does) so each case cites
exactly the sample article it is about; the articles themselves are real rows.
"""

from __future__ import annotations

import copy
import json

from tests.app.test_assist import ANSWER, shown


def cite(n: int, article_id: str, title: str, passage: str) -> dict:
    return {
        "n": n,
        "article_id": article_id,
        "version": 1,
        "title": title,
        "type": "faq",
        "section": "",
        "effective_from": None,
        "effective_to": None,
        "passage": passage,
        "char_start": 0,
        "char_end": len(passage),
    }


INTERNAL = {
    **copy.deepcopy(ANSWER),
    "answer": "坐席可直接赔付500元以内。[1]超过500元需主管审批。[1]",
    "citations": [cite(1, "faq-approval-limit", "坐席赔付审批权限", "坐席可直接赔付500元以内；")],
    "request_id": "req-internal",
}
PUBLIC = {
    **copy.deepcopy(ANSWER),
    "answer": "请提供运单号，客服将在24小时内核实。[1]",
    "citations": [
        cite(1, "faq-lost-parcel", "快件丢失怎么办", "请提供运单号，客服将在24小时内核实。")
    ],
    "request_id": "req-public",
}


def copy_payload(at) -> tuple[str, str]:
    """The copy button's label and the text it copies, read from its document."""
    pages = [e.proto.srcdoc for e in at.get("iframe") if "navigator.clipboard" in e.proto.srcdoc]
    assert len(pages) == 1, pages
    page = pages[0]
    label = page.split(">", 1)[1].split("</button>", 1)[0]
    literal = page.split("const text = ", 1)[1].split(";\n", 1)[0]
    return label, json.loads(literal)


def run_with(page_test, data: dict):
    at = page_test("assist", "dave")
    at.session_state["as_answer"] = data
    return at.run()


def test_an_internal_reply_is_shown_as_internal_and_its_copy_says_so(page_test):
    at = run_with(page_test, INTERNAL)
    assert not at.exception
    banner = [shown(e.value) for e in at.error]
    assert any("内部口径，勿发给客户" in b and "[1]" in b for b in banner), banner
    label, text = copy_payload(at)
    assert label == "复制（内部口径，勿发给客户）"
    assert text == "坐席可直接赔付500元以内。超过500元需主管审批。"


def test_a_public_reply_has_no_banner_and_copies_clean_text(page_test):
    at = run_with(page_test, PUBLIC)
    assert not at.error
    label, text = copy_payload(at)
    assert label == "复制回复"
    assert text == "请提供运单号，客服将在24小时内核实。"


def test_the_copy_is_wrapped_in_the_configured_greeting_and_closing(page_test, monkeypatch):
    monkeypatch.setenv("KB_REPLY_GREETING", "您好，")
    monkeypatch.setenv("KB_REPLY_CLOSING", "如有其他问题，请随时联系我们。")
    _label, text = copy_payload(run_with(page_test, PUBLIC))
    assert text == "您好，\n请提供运单号，客服将在24小时内核实。\n如有其他问题，请随时联系我们。"


def test_overdue_and_expiring_sources_are_named_on_the_reply(page_test):
    data = {
        **copy.deepcopy(ANSWER),
        "answer": "超过72小时的，全额退还运费。[1]退款原路返回。[2]",
        "citations": [
            cite(1, "delay-compensation", "快件延误赔偿标准", "超过72小时的，全额退还运费。"),
            cite(2, "refund-policy", "退款政策", "退款原路返回，到账时间以银行为准。"),
        ],
    }
    at = run_with(page_test, data)
    warnings = [w.value for w in at.warning]
    assert any("[1]" in w and "复核逾期" in w for w in warnings), warnings
    assert any("[2]" in w and "即将失效" in w for w in warnings), warnings
    assert run_with(page_test, PUBLIC).warning.len == 0
