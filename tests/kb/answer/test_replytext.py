"""The clean reply text: markers of cited sources removed, greeting and closing around it."""

from __future__ import annotations

from kb.answer.citations import Sentence, render_reply
from kb.answer.replytext import clean_text, reply_text


def test_chinese_reply_loses_its_markers() -> None:
    marked = "客户申请退款后，3个工作日内完成审核。[1]退款原路返回。[2]"
    assert clean_text(marked, [1, 2]) == "客户申请退款后，3个工作日内完成审核。退款原路返回。"


def test_markers_inside_a_sentence_and_in_runs() -> None:
    assert clean_text("退款原路返回[1][2]，到账以银行为准[3]。", [1, 2, 3]) == (
        "退款原路返回，到账以银行为准。"
    )


def test_english_reply_keeps_one_space_between_sentences() -> None:
    marked = "Refunds take 3 days.[1] They go back to the card. [2]"
    assert clean_text(marked, [1, 2]) == "Refunds take 3 days. They go back to the card."
    assert clean_text("Pay within 7 days [1] after delivery.", [1]) == (
        "Pay within 7 days after delivery."
    )


def test_a_bracketed_number_that_is_no_citation_stays() -> None:
    assert clean_text("见附件[2024]号文件。[1]", [1]) == "见附件[2024]号文件。"


def test_a_reply_built_by_render_reply_comes_out_clean() -> None:
    meta = {"article_id": "a", "version": 1, "title": "T"}
    other = {"article_id": "b", "version": 1, "title": "U"}
    sentences = [
        Sentence("a", "a#0", 0, 20, "超过48小时未送达的，按运费的50%赔偿。", 0, 0, meta),
        Sentence("b", "b#1", 30, 47, "Refund in 3 days.", 1, 1, other),
    ]
    marked, citations = render_reply(sentences)
    assert "[1]" in marked and "[2]" in marked
    clean = clean_text(marked, [c.n for c in citations])
    assert clean == "超过48小时未送达的，按运费的50%赔偿。 Refund in 3 days."


def test_greeting_and_closing_wrap_the_clean_text() -> None:
    text = reply_text("退款原路返回。[1]", [1], "您好，", "如有其他问题，请随时联系我们。")
    assert text == "您好，\n退款原路返回。\n如有其他问题，请随时联系我们。"
    assert reply_text("退款原路返回。[1]", [1]) == "退款原路返回。"
    assert reply_text(None, [], "您好，", "再见") is None
