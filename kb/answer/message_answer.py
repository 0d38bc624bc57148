"""Answering a whole customer message: each question it asks answered (or handed off) apart.

``answer_message(suggester, message, filters)`` reduces the message to its question(s)
(``kb.answer.understand.reduce_message``), asks ``Suggester.suggest`` once per question and
returns a ``MessageReply``: one ``ReplyPart`` (the question as kb read it, and its own
``Answer`` with its own citations) per question. Rules:

- Two questions whose answers start from the same article are one question (the customer
  asked the same thing twice): the first part stays.
- A part that carries no question of its own (a described problem: "显示已签收但我没收到")
  and hands off is dropped when another part answers; a single part is always kept.
- A question that hands off is asked again in its other readings (``Question.alternatives``:
  its question clauses alone, its question sentences whole); the first that answers is kept.
- When a one-question message still hands off, the whole message is tried as it was (the
  reduction may have cut what mattered) and kept if it answers.

The request is logged once (``QueryLog``), with the whole message masked, whatever the number
of parts: ``log_columns`` folds the parts into one row. Every part shares the request id.

The public form (``MessageReply.to_dict``) is the first part's answer object, as
``Answer.to_dict`` gives it (so a single question reads as before), plus ``parts``: every
part's answer object with its ``question``; ``internal`` is true when any part cites an
internal-only article (the whole reply is then internal guidance, not for the customer).
See docs/api.md.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from kb.answer.replytext import reply_text, sendable_text
from kb.answer.replywrap import language_of, wrapping_for
from kb.answer.suggest import Answer, Suggester
from kb.answer.understand import Question, read_message, same_words
from kb.config import Config
from kb.model import Audience
from kb.search.filters import SearchFilters
from kb.search.retrieval import QueryNormalizer
from kb.search.store import SearchView
from kb.store.querylog import query_log_record, write_row


@dataclass
class ReplyPart:
    """One question of a message and its answer (or hand-off)."""

    question: str
    answer: Answer
    asked: bool = True  # False: a described problem without a question of its own

    def to_dict(self) -> dict[str, Any]:
        """The answer object with the question kb answered."""
        return {"question": self.question, **self.answer.to_dict()}


@dataclass
class MessageReply:
    """The reply to one message: its parts, in the order the message asks them."""

    message: str
    parts: list[ReplyPart]
    latency_ms: float = 0.0

    @property
    def first(self) -> Answer:
        """The first part's answer (the whole reply of a one-question message)."""
        return self.parts[0].answer

    @property
    def answered(self) -> bool:
        """True when at least one part is answered."""
        return any(p.answer.answer for p in self.parts)

    def to_dict(self) -> dict[str, Any]:
        """The first part's answer object, its latency the whole request's, plus ``parts``;
        with several parts, ``text`` is every answered part's clean text."""
        data = self.first.to_dict()
        data["latency_ms"] = round(self.latency_ms, 1)
        data["parts"] = [p.to_dict() for p in self.parts]
        if len(self.parts) > 1:
            texts = [p["text"] for p in data["parts"] if p["text"]]
            data["text"] = "\n".join(texts) if texts else None
        data["internal"] = any(p["internal"] for p in data["parts"])
        return data


def cites_internal(data: dict[str, Any]) -> bool:
    """Whether an answer object's reply cites an internal-only article (internal guidance,
    not for the customer)."""
    cited = data.get("citations") or []
    return bool(data.get("answer")) and any(c.get("audience") == "internal" for c in cited)


def _first_article(answer: Answer) -> str | None:
    """The article the answer cites first, None for a hand-off."""
    return answer.citations[0].article_id if answer.answer and answer.citations else None


def _prune(parts: list[ReplyPart]) -> list[ReplyPart]:
    """Drop repeated questions and unasked hand-offs (see the module docstring)."""
    kept: list[ReplyPart] = []
    seen: set[str] = set()
    for part in parts:
        article = _first_article(part.answer)
        if article is not None and article in seen:
            continue
        if article is not None:
            seen.add(article)
        kept.append(part)
    if any(p.answer.answer for p in kept):
        kept = [p for p in kept if p.answer.answer or p.asked]
    return kept or parts[:1]


def _ask(
    suggester: Suggester,
    question: Question,
    filters: SearchFilters,
    top_k: int | None,
    request_id: str | None,
    snapshot: SearchView | None,
) -> ReplyPart:
    """One question answered: its query, or else the first of its other readings that
    answers (``kb.answer.understand``); a hand-off of the query when none does."""
    first: ReplyPart | None = None
    for reading in (question.text, *question.alternatives):
        answer = suggester.suggest(
            reading, filters, top_k, request_id, log=False, snapshot=snapshot
        )
        request_id = request_id or answer.request_id
        part = ReplyPart(reading, answer, asked=question.asked)
        if not answer.handoff:
            return part
        first = first or part
    return first or part


def answer_message(
    suggester: Suggester,
    message: str,
    filters: SearchFilters | None = None,
    *,
    top_k: int | None = None,
    request_id: str | None = None,
    log: bool = True,
    channel: str = "",
    requester: str = "",
    snapshot: SearchView | None = None,
) -> MessageReply:
    """Answer every question ``message`` asks (see the module docstring). An empty or
    overlong message is ``InvalidInput``, as a question is.

    ``log=False`` skips the ``QueryLog`` row (the HTTP API writes its own with
    ``log_columns``).
    """
    started = time.perf_counter()
    # the whole message is checked as a question is (empty, too long: InvalidInput), before
    # reading it: its reduced questions are shorter than what was sent
    QueryNormalizer(suggester.config.api_max_question_chars).run(message)
    filters = filters or SearchFilters()
    parts: list[ReplyPart] = []
    for question in read_message(message):
        part = _ask(suggester, question, filters, top_k, request_id, snapshot)
        request_id = request_id or part.answer.request_id
        parts.append(part)
    if len(parts) == 1 and parts[0].answer.handoff and not same_words(parts[0].question, message):
        whole = suggester.suggest(message, filters, top_k, request_id, log=False, snapshot=snapshot)
        if not whole.handoff:
            parts = [ReplyPart(message.strip(), whole)]
    reply = MessageReply(message, _prune(parts), (time.perf_counter() - started) * 1000)
    if log and suggester.log_writer is not None:
        suggester.log_writer.log_query(log_columns(reply, channel, requester))
    elif log and suggester.db is not None:
        write_row(suggester.db, log_columns(reply, channel, requester))
    return reply


def folded(data: dict[str, Any]) -> dict[str, Any]:
    """A message's answer object (``MessageReply.to_dict``) folded into one for the query
    log: every part's answer and citations, answered when a part is, a hand-off when a part
    is, the lowest confidence, the first reason."""
    parts = data.get("parts") or []
    if len(parts) <= 1:
        return data
    texts = [p["answer"] for p in parts if p.get("answer")]
    return {
        **data,
        "answer": "\n\n".join(texts) if texts else None,
        "handoff": any(p.get("handoff") for p in parts),
        "citations": [c for p in parts for c in p.get("citations") or []],
        "confidence": min(float(p.get("confidence") or 0.0) for p in parts),
        "reason": next((p["reason"] for p in parts if p.get("reason")), None),
    }


def log_columns(
    reply: MessageReply, channel: str, requester: str, session_id: str | None = None
) -> dict[str, Any]:
    """The one ``QueryLog`` row of a message (``folded``), the whole message masked."""
    return query_log_record(
        folded(reply.to_dict()),
        reply.message,
        audience=Audience(reply.first.filters.get("audience", "public")),
        requester=requester,
        channel=channel,
        latency_ms=reply.latency_ms,
        session_id=session_id,
    )


@dataclass
class FoldedAnswer:
    """A message's reply folded into one answer object (``folded``)."""

    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The folded answer object."""
        return self.data


class MessageAnswering:
    """Answer replay's engine (``kb.quality.replay.Answering``) for messages: a logged request is
    replayed as the front ends answer it, the whole message, each question apart."""

    def __init__(self, suggester: Suggester) -> None:
        """Answer with ``suggester``."""
        self.suggester = suggester

    def suggest(self, question: str, filters: SearchFilters, *, log: bool) -> FoldedAnswer:
        """The folded reply to the message ``question`` (as the query log keeps it)."""
        reply = answer_message(self.suggester, question, filters, log=log)
        return FoldedAnswer(folded(reply.to_dict()))


def part_text(part: dict[str, Any]) -> str | None:
    """One part's clean text (no markers, no greeting or closing); None on hand-off."""
    cited = [int(c["n"]) for c in part.get("citations") or [] if c.get("n") is not None]
    return reply_text(part.get("answer"), cited)


def message_text(
    data: dict[str, Any], config: Config, channel: str = "", question: str = ""
) -> str | None:
    """The reply to send for a message's answer object (``MessageReply.to_dict``): every
    answered part's clean text, in order, between the greeting and closing configured for
    ``channel`` in the language of ``question`` (``kb.answer.replywrap``); None when every part
    hands off. One part: ``kb.answer.replytext.sendable_text``."""
    parts = data.get("parts") or []
    if len(parts) <= 1:
        return sendable_text(data, config, channel=channel, question=question)
    texts = [t for t in (part_text(p) for p in parts) if t]
    if not texts:
        return None
    lang = language_of(question or texts[0])
    greeting, closing = wrapping_for(
        config.reply_wrapping, channel, lang, config.reply_greeting, config.reply_closing
    )
    pieces = [greeting.strip(), *texts, closing.strip()]
    return "\n".join(p for p in pieces if p)
