"""The query log record: question and channel masked, whoever logs."""

from __future__ import annotations

from kb.model import Audience
from kb.querylog import query_log_record


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
