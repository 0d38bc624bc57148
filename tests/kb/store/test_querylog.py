"""The query log record: question and channel masked, whoever logs."""

from __future__ import annotations

from kb.model import Audience
from kb.store.querylog import query_log_record


def record(question: str, channel: str) -> dict:
    data = {"request_id": "r1", "answer": None, "handoff": True, "citations": []}
    return query_log_record(
        data, question, audience=Audience.PUBLIC, requester="key:bot", channel=channel,
        latency_ms=1.0,
    )  # fmt: skip


def test_question_is_masked_in_any_width_and_spacing() -> None:
    row = record("手机１３８１２３４５６７８，身份证 110101 19900307 123X", "wx")
    assert row["question"] == "手机[手机号]，身份证 [身份证号]"


def test_channel_is_masked_before_it_is_stored() -> None:
    row = record("退款", "tel13812345678")
    assert row["channel"] == "tel[手机号]"
    assert len(record("退款", "x" * 40)["channel"]) == 32


def test_the_trace_records_what_produced_the_answer_with_the_answer_masked() -> None:
    data = {
        "request_id": "r2",
        "answer": "请拨打13812345678联系客服[1]",
        "mode": "faq",
        "handoff": False,
        "reason": None,
        "confidence": 0.91234567,
        "threshold": 0.5,
        "index_version": "v-7",
        "evidence": {"top_dense": 0.812345678},
        "filters": {"audience": "public", "types": [], "tags": [], "lang": None},
        "citations": [
            {"n": 1, "article_id": "faq-a", "version": 3, "char_start": 0, "char_end": 12,
             "passage": "请拨打…"}
        ],
        "results": [
            {"rank": 1, "article_id": "faq-a", "version": 3, "chunk_id": "faq-a#0",
             "score": 0.7, "passage": "全文……", "retrieval": {
                 "bm25": {"score": 3.2, "rank": 1}, "dense": {"score": 0.81, "rank": 2}}}
        ],
    }  # fmt: skip
    row = query_log_record(
        data, "问题", audience=Audience.PUBLIC, requester="key:bot", channel="api", latency_ms=1
    )
    trace = row["trace"]
    assert trace["answer"] == "请拨打[手机号]联系客服[1]"
    assert (trace["index_version"], trace["threshold"], trace["mode"]) == ("v-7", 0.5, "faq")
    assert trace["confidence"] == 0.91235 and trace["evidence"] == {"top_dense": 0.81235}
    assert trace["citations"] == [
        {"n": 1, "article_id": "faq-a", "version": 3, "char_start": 0, "char_end": 12}
    ]
    (result,) = trace["results"]
    assert (result["article_id"], result["version"], result["chunk_id"]) == ("faq-a", 3, "faq-a#0")
    assert result["retrieval"] == {
        "bm25": {"score": 3.2, "rank": 1},
        "dense": {"score": 0.81, "rank": 2},
    }
    assert "passage" not in result  # the article text is in its stored version, not copied
