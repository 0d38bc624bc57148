"""The reply of ``/v1/chat/completions``: content, kb's extension field, OpenAI's objects.

The content is the answer's sendable ``text`` (``kb.answer.replytext``), or on a hand-off the
``chat_handoff_text`` setting (empty: the built-in text in the question's language);
with ``chat_sources_in_content`` a compact source list follows it. Its words go
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
}
#: Where a streamed reply is cut: after sentence ends and commas, else every PIECE_CHARS.
_PIECE = re.compile(r".{1,24}?(?:[。！？；，!?;,.]\s*|\n)|.{1,24}", re.S)


def t(key: str, lang: str) -> str:
    """The text of ``key`` in ``lang`` (``en``; anything else is Chinese)."""
    zh, en = STRINGS[key]
    return en if lang == "en" else zh


def content_of(data: dict[str, Any], question: str, config: Config) -> str:
    """The message content for the answer object ``data`` to ``question``."""
    lang = guess_lang(question)
    if data.get("handoff") or not data.get("text"):
        return config.chat_handoff_text or t("handoff", lang)
    content = str(data["text"])
    if config.chat_sources_in_content and data.get("citations"):
        content += "\n\n" + source_list(data["citations"], lang)
    return content


def source_list(citations: list[dict[str, Any]], lang: str) -> str:
    """``来源：[1] title；[2] title`` (one entry per article, first number kept)."""
    seen: dict[str, str] = {}
    for c in citations:
        article = str(c.get("article_id"))
        if article not in seen:
            seen[article] = f"[{c.get('n')}] {c.get('title') or article}"
    return t("sources", lang) + t("source_separator", lang).join(seen.values())


def extension(data: dict[str, Any], context_used: bool) -> dict[str, Any]:
    """kb's ``kb`` field on the assistant message (documented in docs/api.md)."""
    return {
        "handoff": bool(data.get("handoff")),
        "reason": data.get("reason"),
        "answer": data.get("answer"),
        "citations": data.get("citations") or [],
        "confidence": data.get("confidence") or 0.0,
        "context_used": context_used,
        "request_id": data["request_id"],
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
