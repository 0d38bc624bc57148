"""Optional generation: an LLM rewrites the grounded reply, and its citations are checked.

Off unless ``llm_base_url`` is set; nothing else needs it. The endpoint is any
OpenAI-compatible ``/chat/completions`` server, reached through Haystack's
``OpenAIChatGenerator``. The model sees only the question and the numbered passages the
extractive reply cites, and is told to answer from them alone, ending every sentence with
the ``[n]`` of its passage.

What comes back is trusted only as far as it can be checked (``verify_reply``): each
sentence must cite at least one ``[n]`` that exists among the passages, and its content
must be supported by the passages it cites (``kb.answer.support.supports``: its figures and
names occur in them and, in their language, most of its wording does). Markers that do
not exist are removed; a sentence left without a valid marker, or unsupported, is
dropped and counted. If nothing valid remains, or the endpoint fails, the grounded reply
stands. Citations the
rewrite no longer uses are dropped and the rest renumbered in order of first use.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from typing import Any

from haystack import component, default_from_dict, default_to_dict

from kb.answer.citations import Citation, join_sentences, split_cited
from kb.answer.support import supports

logger = logging.getLogger(__name__)

SYSTEM_PROMPT = (
    "You are a customer-service assistant. Answer the customer's question using ONLY the "
    "numbered passages. Write in the language of the question, briefly and politely. End "
    "every sentence with the marker of the passage it comes from, like [1]. Never add facts "
    "that are not in the passages. If the passages do not answer the question, reply with "
    "an empty string."
)


@dataclass
class Verified:
    """An LLM reply after checking: the kept text, its citations and what was dropped."""

    answer: str
    citations: list[Citation]
    dropped_sentences: int
    removed_markers: int
    unsupported_sentences: int = 0


def _renumber(sentences: list[tuple[str, list[int]]], citations: list[Citation]) -> Verified:
    """Keep the used citations, numbered by first use, and rewrite the markers."""
    by_n = {c.n: c for c in citations}
    new_n: dict[int, int] = {}
    kept: list[Citation] = []
    parts = []
    for text, numbers in sentences:
        marks = []
        for n in dict.fromkeys(numbers):
            if n not in new_n:
                new_n[n] = len(kept) + 1
                kept.append(replace(by_n[n], n=new_n[n]))
            marks.append(f"[{new_n[n]}]")
        parts.append(text + "".join(marks))
    return Verified(join_sentences(parts), kept, 0, 0)


def verify_reply(reply: str, citations: list[Citation]) -> Verified:
    """Keep only the sentences of ``reply`` that cite an existing passage and that the
    passages they cite support (see the module)."""
    by_n = {c.n: c for c in citations}
    kept: list[tuple[str, list[int]]] = []
    dropped = removed = unsupported = 0
    for sentence, numbers in split_cited(reply or ""):
        good = [n for n in numbers if n in by_n]
        removed += len(numbers) - len(good)
        if not good:
            dropped += 1
            continue
        support = supports(sentence, [f"{by_n[n].title}\n{by_n[n].cited_text()}" for n in good])
        if not support.ok:
            logger.info("LLM sentence dropped (%s)", support.reason)
            dropped += 1
            unsupported += 1
            continue
        kept.append((sentence, good))
    verified = _renumber(kept, citations)
    verified.dropped_sentences, verified.removed_markers = dropped, removed
    verified.unsupported_sentences = unsupported
    return verified


def build_prompt(question: str, citations: list[Citation], draft: str) -> str:
    """The user message: the question, the numbered passages and the grounded draft."""
    passages = "\n".join(f"[{c.n}] {c.title}: {c.cited_text()}" for c in citations)
    return f"Question: {question}\n\nPassages:\n{passages}\n\nDraft answer:\n{draft}"


@component
class AnswerRewriter:
    """Rewrites a grounded reply with an OpenAI-compatible chat model, then verifies it."""

    def __init__(self, base_url: str, model: str, api_key: str = "", timeout: float = 10.0) -> None:
        """Store the endpoint settings (``llm_base_url``, ``llm_model``, ``llm_api_key``)."""
        if not base_url:
            raise ValueError("AnswerRewriter needs a base_url")
        self.base_url = base_url
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self._generator: Any = None

    def warm_up(self) -> None:
        """Create the client (no request is made)."""
        if self._generator is None:
            from haystack.components.generators.chat import OpenAIChatGenerator
            from haystack.utils import Secret

            self._generator = OpenAIChatGenerator(
                api_key=Secret.from_token(self.api_key or "not-needed"),
                model=self.model,
                api_base_url=self.base_url,
                timeout=self.timeout,
                max_retries=0,
                generation_kwargs={"temperature": 0},
            )

    def generate(self, question: str, citations: list[Citation], draft: str) -> str:
        """The model's reply text (raises on transport or server errors)."""
        from haystack.dataclasses import ChatMessage

        self.warm_up()
        messages = [
            ChatMessage.from_system(SYSTEM_PROMPT),
            ChatMessage.from_user(build_prompt(question, citations, draft)),
        ]
        replies = self._generator.run(messages=messages)["replies"]
        return (replies[0].text or "") if replies else ""

    @component.output_types(answer=str, citations=list[Citation], report=dict)
    def run(self, question: str, answer: str, citations: list[Citation]) -> dict[str, Any]:
        """The verified rewrite, or the grounded ``answer`` unchanged when it fails."""
        report: dict[str, Any] = {
            "used": False,
            "dropped_sentences": 0,
            "removed_markers": 0,
            "unsupported_sentences": 0,
        }
        try:
            text = self.generate(question, citations, answer)
        except Exception as exc:  # any endpoint failure: keep the grounded reply
            logger.warning("LLM rewrite failed, keeping the grounded reply: %s", exc)
            report["error"] = f"{type(exc).__name__}: {exc}"[:200]
            return {"answer": answer, "citations": citations, "report": report}
        verified = verify_reply(_strip_think(text), citations)
        report.update(
            dropped_sentences=verified.dropped_sentences,
            removed_markers=verified.removed_markers,
            unsupported_sentences=verified.unsupported_sentences,
        )
        if not verified.answer:
            return {"answer": answer, "citations": citations, "report": report}
        report["used"] = True
        return {"answer": verified.answer, "citations": verified.citations, "report": report}

    def to_dict(self) -> dict[str, Any]:
        """Serialise the init parameters (the API key is never written out)."""
        return default_to_dict(
            self, base_url=self.base_url, model=self.model, api_key="", timeout=self.timeout
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnswerRewriter:
        """Rebuild from ``to_dict`` output."""
        return default_from_dict(cls, data)


def _strip_think(text: str) -> str:
    """Drop a reasoning model's ``<think>...</think>`` block."""
    return re.sub(r"<think>.*?</think>", "", text or "", flags=re.S).strip()
