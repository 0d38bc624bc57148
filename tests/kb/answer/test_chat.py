"""``kb.answer.chat``: which text a conversation's question is retrieved with.

``FollowUpQuery`` is pure text work. ``answer_in_context`` is tested with a recording
``ask`` that answers from a table: it stands for kb's suggest, whose real behaviour on
follow-ups is tested through the API (``tests/kb/api/test_chat_openai.py``) and
measured in ``benchmarks/chat_followups.py``; here only the order of the calls and the
choice between answers are under test.
"""

from __future__ import annotations

from typing import Any

import pytest
from haystack import Pipeline

from kb.answer.chat import FollowUp, FollowUpQuery, answer_in_context, is_elliptic


def test_follow_up_query_builds_the_contextual_question() -> None:
    query = FollowUpQuery(context_turns=1).follow_up(["怎么申请退款", "那要多久？"])
    assert query == FollowUp("那要多久？", "怎么申请退款\n那要多久？", True)
    two = FollowUpQuery(context_turns=2).follow_up(["a1", "怎么申请退款", "那要多久？"])
    assert two.contextual == "a1\n怎么申请退款\n那要多久？"
    assert FollowUpQuery(context_turns=0).follow_up(["退款", "那要多久？"]).contextual == ""
    assert FollowUpQuery().follow_up(["只有一个问题"]).contextual == ""


def test_context_is_cut_from_its_start_to_fit() -> None:
    query = FollowUpQuery(max_chars=12).follow_up(["一二三四五六七八九十", "那要多久？"])
    assert query.contextual == "五六七八九十\n那要多久？"
    assert len(query.contextual) == 12
    assert FollowUpQuery(max_chars=5).follow_up(["上文", "那要多久？"]).contextual == ""


@pytest.mark.parametrize(
    ("question", "elliptic"),
    [
        ("那要多久？", True),
        ("周末呢？", True),
        ("那如果我已经签收了还能申请退款吗", True),
        ("what about credit cards?", True),
        ("快递员上门取件怎么预约才能改时间", False),
        ("How do I change the delivery address of my parcel?", False),
    ],
)
def test_elliptic_questions(question: str, elliptic: bool) -> None:
    assert is_elliptic(question, 12) is elliptic


def test_runs_as_a_haystack_component() -> None:
    pipeline = Pipeline()
    pipeline.add_component("follow_up", FollowUpQuery(context_turns=1, short_chars=4))
    out = pipeline.run({"follow_up": {"turns": ["怎么申请退款", "多久到账呢"]}})["follow_up"]
    assert out == {
        "question": "多久到账呢",
        "contextual": "怎么申请退款\n多久到账呢",
        "elliptic": False,
    }
    restored = FollowUpQuery.from_dict(FollowUpQuery(3, 5, 100).to_dict())
    assert (restored.context_turns, restored.short_chars, restored.max_chars) == (3, 5, 100)
    with pytest.raises(ValueError, match="at least one user turn"):
        FollowUpQuery().run([])


class Table:
    """Answers from a table (text -> handed off?), recording what was asked."""

    def __init__(self, handoff: dict[str, bool]) -> None:
        self.handoff = handoff
        self.asked: list[str] = []

    def __call__(self, text: str) -> dict[str, Any]:
        self.asked.append(text)
        return {"handoff": self.handoff[text], "asked": text}


ELLIPTIC = FollowUp("那要多久？", "退款\n那要多久？", True)
FULL = FollowUp("怎么修改收件地址", "退款\n怎么修改收件地址", False)


def test_elliptic_question_is_answered_in_context_first() -> None:
    ask = Table({ELLIPTIC.contextual: False, ELLIPTIC.question: False})
    assert answer_in_context(ask, ELLIPTIC)[1] == ELLIPTIC.contextual
    assert ask.asked == [ELLIPTIC.contextual]
    ask = Table({ELLIPTIC.contextual: True, ELLIPTIC.question: False})
    assert answer_in_context(ask, ELLIPTIC)[1] == ELLIPTIC.question
    assert ask.asked == [ELLIPTIC.contextual, ELLIPTIC.question]


def test_full_question_is_answered_alone_first() -> None:
    ask = Table({FULL.question: False, FULL.contextual: False})
    assert answer_in_context(ask, FULL)[1] == FULL.question
    assert ask.asked == [FULL.question]
    ask = Table({FULL.question: True, FULL.contextual: False})
    data, asked = answer_in_context(ask, FULL)
    assert (asked, data["handoff"]) == (FULL.contextual, False)


def test_both_handed_off_keeps_the_first() -> None:
    ask = Table({FULL.question: True, FULL.contextual: True})
    assert answer_in_context(ask, FULL)[1] == FULL.question
    ask = Table({ELLIPTIC.question: True, ELLIPTIC.contextual: True})
    assert answer_in_context(ask, ELLIPTIC)[1] == ELLIPTIC.contextual


def test_single_turn_costs_one_suggestion() -> None:
    ask = Table({"退款多久到账": False})
    assert answer_in_context(ask, FollowUp("退款多久到账", "", False))[1] == "退款多久到账"
    assert ask.asked == ["退款多久到账"]
