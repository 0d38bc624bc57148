"""The query log: one row per question answered, the question masked.

Every front end (the CLI's ``kb suggest``, the HTTP API, the Streamlit app) logs
what it answered through ``query_log_record``, so rows look alike whoever served
them and each carries what produced it (``trace``, for ``kb replay``); rows with
``handoff`` set are the editors' unanswered queue.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.model import Audience
from kb.privacy import mask_personal_data
from kb.quality.replay import trace_of
from kb.store.db import Database
from kb.store.tables import QueryLog


def query_log_record(
    data: dict[str, Any],
    question: str,
    *,
    audience: Audience,
    requester: str,
    channel: str,
    latency_ms: float,
    session_id: str | None = None,
) -> dict[str, Any]:
    """The ``QueryLog`` columns of one answered request (question, channel and session id masked),
    with the replay trace of the answer (``kb.quality.replay.trace_of``, the answer text masked).

    ``session_id`` is the caller's conversation id (the API's ``session_id`` field), so
    the questions of one conversation can be read together; None when not given.
    """
    cited = [c.get("article_id") for c in data.get("citations") or [] if isinstance(c, dict)]
    return {
        "request_id": data["request_id"],
        "channel": mask_personal_data(channel)[:32],
        "session_id": mask_personal_data(session_id)[:128] if session_id else None,
        "requester": requester[:64],
        "audience": str(audience),
        "question": mask_personal_data(question),
        "answered": data.get("answer") is not None,
        "handoff": bool(data.get("handoff")),
        "confidence": float(data.get("confidence") or 0.0),
        "reason": str(data.get("reason") or ""),
        "cited_article_ids": [c for c in dict.fromkeys(cited) if c],
        "latency_ms": round(latency_ms, 2),
        "trace": trace_of(data),
    }


def write_row(db: Database, columns: dict[str, Any]) -> None:
    """Write one ``QueryLog`` row (``query_log_record``'s columns) now, in its own session:
    for callers without the background log writer (``kb.store.logwriter``)."""
    with db.session() as session:
        session.add(QueryLog(ts=datetime.now(UTC), **columns))


def recent_questions(session: Session, requester: str, channel: str, limit: int) -> list[QueryLog]:
    """The newest ``limit`` rows logged for ``requester`` on ``channel``, newest first."""
    return list(
        session.scalars(
            select(QueryLog)
            .where(QueryLog.requester == requester, QueryLog.channel == channel)
            .order_by(QueryLog.ts.desc(), QueryLog.id.desc())
            .limit(limit)
        )
    )
