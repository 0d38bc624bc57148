"""Conversations: which question to answer, given the customer's earlier turns.

A chat client sends the whole conversation. The last user turn is the question; the
earlier user turns are its context. A follow-up such as "那要多久？" after "怎么申请退款？"
means nothing alone, so kb answers it with the previous user turn(s) prepended:

* ``FollowUpQuery`` (a Haystack component, the first stage of answering a conversation)
  gives the question alone, the question in context (the last ``context_turns`` earlier
  user turns, then the question, one per line) and whether the question looks elliptic:
  at most ``short_chars`` characters, or opening like a follow-up ("那…", "还有…",
  "what about…").
* ``answer_in_context``: an elliptic question is answered in context, and alone only if
  that hands off; any other question is answered alone, and in context only if that
  hands off. A conversation of one turn costs one suggestion, as ``/v1/suggest``.

Keeping the more confident of the two answers instead was measured and is worse: kb's
confidence says how well a passage matches the words asked, and an elliptic question
("可以改时间吗？") matches some unrelated FAQ closely. Measured on
``tests/data/chat_followups.jsonl`` (``benchmarks/chat_followups.py``, docs/benchmarks.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from haystack import component, default_from_dict, default_to_dict

#: Openings of a follow-up that leans on the previous turn (after NFKC, lower case).
FOLLOW_UP_OPENINGS = re.compile(
    r"^(那|那么|那要|那如果|那我|还有|还要|另外|它|这个|那个|如果是|要是|"
    r"and\b|what about\b|how about\b|then\b|also\b|and if\b|what if\b)"
)
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class FollowUp:
    """The question of a conversation: alone, in context (``""`` if none), elliptic or not."""

    question: str
    contextual: str
    elliptic: bool


def is_elliptic(question: str, short_chars: int) -> bool:
    """True when ``question`` is short (≤ ``short_chars`` characters, spaces not counted) or
    opens like a follow-up."""
    compact = _SPACES.sub("", question)
    if len(compact) <= short_chars:
        return True
    return FOLLOW_UP_OPENINGS.match(question.strip().lower()) is not None


@component
class FollowUpQuery:
    """The question to retrieve with, from a conversation's user turns (oldest first)."""

    def __init__(
        self, context_turns: int = 1, short_chars: int = 12, max_chars: int = 1000
    ) -> None:
        """``context_turns``: earlier user turns prepended (0: none); ``short_chars``: the
        length up to which a question counts as elliptic; ``max_chars``: the longest text
        retrieved with (the context is cut from its start to fit)."""
        if context_turns < 0 or short_chars < 0 or max_chars < 1:
            raise ValueError("context_turns, short_chars >= 0 and max_chars >= 1 required")
        self.context_turns = context_turns
        self.short_chars = short_chars
        self.max_chars = max_chars

    @component.output_types(question=str, contextual=str, elliptic=bool)
    def run(self, turns: list[str]) -> dict[str, Any]:
        """``question`` (the last turn), ``contextual`` (``""`` without earlier turns) and
        ``elliptic``; ``ValueError`` when there is no turn."""
        if not turns:
            raise ValueError("a conversation needs at least one user turn")
        question = turns[-1].strip()
        earlier = [t.strip() for t in turns[:-1] if t.strip()]
        context = earlier[-self.context_turns :] if self.context_turns else []
        contextual = "\n".join([*context, question]) if context else ""
        if len(contextual) > self.max_chars:
            room = self.max_chars - len(question) - 1
            context_text = contextual[: -len(question) - 1][-room:] if room > 0 else ""
            contextual = f"{context_text}\n{question}" if context_text else ""
        return {
            "question": question,
            "contextual": contextual,
            "elliptic": is_elliptic(question, self.short_chars),
        }

    def follow_up(self, turns: Sequence[str]) -> FollowUp:
        """``run`` as a ``FollowUp``."""
        out = self.run(list(turns))
        return FollowUp(out["question"], out["contextual"], out["elliptic"])

    def to_dict(self) -> dict[str, Any]:
        """Serialise the init parameters."""
        return default_to_dict(
            self,
            context_turns=self.context_turns,
            short_chars=self.short_chars,
            max_chars=self.max_chars,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FollowUpQuery:
        """Rebuild from ``to_dict`` output."""
        return default_from_dict(cls, data)


Ask = Callable[[str], dict[str, Any]]


def answer_in_context(ask: Ask, query: FollowUp) -> tuple[dict[str, Any], str]:
    """The answer object for ``query`` and the text it was retrieved with.

    ``ask(text)`` answers one question (an answer object with ``handoff``). An elliptic
    question is answered in context first, alone only if that hands off; any other
    question alone first, in context only if that hands off. When both hand off, the
    first is returned (the question as asked, with its context if elliptic).
    """
    if not query.contextual:
        return ask(query.question), query.question
    order = [query.contextual, query.question]
    if not query.elliptic:
        order.reverse()
    first = ask(order[0])
    if not first.get("handoff"):
        return first, order[0]
    second = ask(order[1])
    if second.get("handoff"):
        return first, order[0]
    return second, order[1]
