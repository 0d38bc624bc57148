"""Serving one suggestion to a key: what ``/v1/suggest``, ``/v1/chat/completions`` and
``kb mcp`` do alike.

``serve_suggestion`` answers from the request's index snapshot within the worker's
compute slots (a conversation through ``kb.answer.chat.answer_in_context``), applies the
last-line audience guard, adds the sendable ``text`` and ``internal`` (it cites an
internal-only article: internal guidance, not for the customer), counts the outcome in the
metrics, queues the query-log row (question masked, ``kb.store.querylog``) and writes one
server-log line with the masked question.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from kb.answer.chat import FollowUpQuery, answer_in_context
from kb.answer.message_answer import cites_internal, folded, message_text, part_text
from kb.api.service import ApiState
from kb.model import Audience
from kb.privacy import mask_personal_data
from kb.store.keys import KeyInfo
from kb.store.querylog import query_log_record

logger = logging.getLogger("kb.api")


@dataclass(frozen=True)
class Asking:
    """Who asks and how: the audience served, the request id and the request's options."""

    key: KeyInfo
    audience: Audience
    request_id: str
    channel: str
    session_id: str | None = None
    top_k: int | None = None
    as_of: date | None = None
    lang: str | None = None


def serve_suggestion(
    state: ApiState,
    asking: Asking,
    turns: Sequence[str],
    context: FollowUpQuery | None = None,
) -> tuple[dict[str, Any], bool]:
    """The answer object for the last of ``turns`` (the earlier ones are its context when
    ``context`` is given), guarded, logged and counted; and whether it was retrieved with
    the earlier turns."""
    started = time.perf_counter()
    snapshot = state.snapshot()  # 503 while not ready; this request's index version

    def ask(text: str) -> dict[str, Any]:
        return dict(
            state.engine.suggest(
                text,
                audience=asking.audience,
                request_id=asking.request_id,
                top_k=asking.top_k,
                as_of=asking.as_of,
                lang=asking.lang,
                snapshot=snapshot,
            )
        )

    with state.compute_slots:
        if context is None or len(turns) < 2:
            asked = turns[-1]
            data = ask(asked)
        else:
            data, asked = answer_in_context(ask, context.follow_up(turns))
    data, removed = state.engine.guard(data, asking.audience, snapshot)
    parts = data.get("parts") or []
    for part in parts:
        part["text"] = part_text(part)
        part["internal"] = cites_internal(part)  # what the guard left
    data["text"] = message_text(data, state.config, channel=asking.channel, question=asked)
    data["internal"] = any(p["internal"] for p in parts) or cites_internal(data)
    if removed:
        state.metrics.withheld.inc(removed)
        logger.error("request %s: audience guard removed %d item(s)", asking.request_id, removed)
    state.metrics.suggestion(bool(folded(data).get("handoff")))
    _log(state, asking, folded(data), asked, started)
    return data, asked != turns[-1]


def _log(state: ApiState, asking: Asking, data: dict[str, Any], asked: str, started: float) -> None:
    """Queue the query-log row (the text retrieved with, masked) and write the server log."""
    record = query_log_record(
        data,
        asked,
        audience=asking.audience,
        requester=asking.key.requester,
        channel=asking.channel,
        session_id=asking.session_id,
        latency_ms=(time.perf_counter() - started) * 1000,
    )
    state.log_query(record)
    logger.info(
        "%s suggest key=%s channel=%s audience=%s handoff=%s question=%s",
        asking.request_id,
        asking.key.name,
        mask_personal_data(asking.channel)[:32],
        asking.audience,
        record["handoff"],
        record["question"][:200],  # masked by query_log_record
    )
