"""The reply of ``/v1/chat/completions``: content, kb's extension field, OpenAI's objects.

The content is the answer's sendable ``text`` (``kb.answer.replytext``), under a line marking
it internal guidance when it cites an internal-only article, or on a hand-off the
``chat_handoff_text`` setting (empty: the built-in text in the question's language);
with ``chat_sources_in_content`` a compact source list follows it. A message that asks
several questions gets every answered one's text, then the hand-off text when one of
them hands off (``kb.handoff`` is then true; ``kb.parts`` has each question's answer). Its words go
through ``STRINGS`` (Chinese and English), the API's translation table. Streaming
sends the same content in pieces (``content_pieces``) as ``chat.completion.chunk``
events, the ``kb`` field in the last one, then ``data: [DONE]``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

from kb.config import Config
from kb.formats.importer import guess_lang

#: key -> (Chinese, English): every word of the chat reply that kb writes itself.
STRINGS: dict[str, tuple[str, str]] = {
    "handoff": (
        "这个问题需要人工客服为您解答，正在为您转接。",
        "A member of our team will answer this question; we are passing you to them now.",
    ),
    "sources": ("来源：", "Sources: "),
    "source_separator": ("；", "; "),
    "internal": ("【内部口径，勿发给客户】", "[Internal guidance, not for the customer]"),
}
#: Where a streamed reply is cut: after sentence ends and commas, else every PIECE_CHARS.
_PIECE = re.compile(r".{1,24}?(?:[。！？；，!?;,.]\s*|\n)|.{1,24}", re.S)


def t(key: str, lang: str) -> str:
    """The text of ``key`` in ``lang`` (``en``; anything else is Chinese)."""
    zh, en = STRINGS[key]
    return en if lang == "en" else zh


def hands_off(data: dict[str, Any]) -> bool:
    """Whether a question of the message needs a human: any part's hand-off (the top-level
    ``handoff`` is the first part's only, ``kb.answer.message_answer``)."""
    parts = data.get("parts") or [data]
    return any(bool(p.get("handoff")) for p in parts)


def content_of(data: dict[str, Any], question: str, config: Config) -> str:
    """The message content for the answer object ``data`` to ``question``: the answered
    parts' text, then the hand-off text when a part hands off (alone when none answers)."""
    lang = guess_lang(question)
    handoff = config.chat_handoff_text or t("handoff", lang)
    if not data.get("text"):
        return handoff
    content = str(data["text"])
    if data.get("internal"):  # an internal key's reply citing an internal-only article
        content = t("internal", lang) + "\n" + content
    cited = [c for p in data.get("parts") or [data] for c in p.get("citations") or []]
    if config.chat_sources_in_content and cited:
        content += "\n\n" + source_list(cited, lang)
    if hands_off(data):  # another question of the message goes to a human
        content += "\n\n" + handoff
    return content


def source_list(citations: list[dict[str, Any]], lang: str) -> str:
    """``来源：[1] title；[2] title`` (one entry per article, numbered in order: the
    citations of a message's parts are each numbered from 1)."""
    seen: dict[str, str] = {}
    for c in citations:
        article = str(c.get("article_id"))
        if article not in seen:
            seen[article] = f"[{len(seen) + 1}] {c.get('title') or article}"
    return t("sources", lang) + t("source_separator", lang).join(seen.values())


#: The fields of each question's answer in the ``kb`` field's ``parts``.
PART_FIELDS = ("question", "answer", "text", "internal", "handoff", "reason", "citations")


def extension(data: dict[str, Any], context_used: bool) -> dict[str, Any]:
    """kb's ``kb`` field on the assistant message (documented in docs/api.md)."""
    parts = data.get("parts") or []
    reasons = [p.get("reason") for p in parts if p.get("handoff") and p.get("reason")]
    return {
        "handoff": hands_off(data),
        "reason": data.get("reason") or next(iter(reasons), None),
        "answer": data.get("answer"),
        "internal": bool(data.get("internal")),
        "citations": data.get("citations") or [],
        "confidence": data.get("confidence") or 0.0,
        "context_used": context_used,
        "request_id": data["request_id"],
        "parts": [{f: p.get(f) for f in PART_FIELDS} for p in parts],
    }


def completion(model: str, content: str, kb: dict[str, Any]) -> dict[str, Any]:
    """OpenAI's ``chat.completion`` object (one choice)."""
    return {
        "id": f"chatcmpl-{kb['request_id']}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "kb": kb},
                "finish_reason": "stop",
            }
        ],
    }


def content_pieces(content: str) -> list[str]:
    """``content`` cut into short pieces (clauses), for streaming; joined they are it."""
    return [m.group(0) for m in _PIECE.finditer(content)] or [""]


def stream_events(model: str, content: str, kb: dict[str, Any]) -> Iterator[str]:
    """The server-sent events of a streamed completion, ``data: [DONE]`` last."""
    base = {
        "id": f"chatcmpl-{kb['request_id']}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def event(delta: dict[str, Any], finish: str | None = None) -> str:
        chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"

    yield event({"role": "assistant", "content": ""})
    for piece in content_pieces(content):
        yield event({"content": piece})
    yield event({"kb": kb}, "stop")
    yield "data: [DONE]\n\n"
