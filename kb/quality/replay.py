"""Answer replay: what produced a suggestion, kept with its query-log row, and what the
same question gets now (``kb replay REQUEST_ID``, the app's history page).

``trace_of(answer)`` is stored in ``QueryLog.trace`` by ``kb.store.querylog.query_log_record``
(every front end logs through it): the index version; for each ranked result the
article, its version, the chunk id, the fused score and each retriever's score and
rank; the confidence, its evidence (the features ``kb.answer.confidence`` used) and the
threshold in force; the mode, the reason, the filters; the answer text and each
citation's article, version and character span. Personal data in the answer text is
masked (``kb.privacy.mask_personal_data``) like the question; passages are not copied
(the cited version and span point into the stored, immutable article version).

``differences(then, now)`` compares a stored trace with a fresh one: answer text,
citations, confidence, hand-off, mode, index version and the ranked articles.
``prune_traces`` drops traces older than ``query_trace_days`` (the row itself stays:
the unanswered queue and feedback need it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kb.errors import InvalidInput, NotFound
from kb.privacy import mask_personal_data
from kb.search.filters import SearchFilters
from kb.store.tables import QueryLog

TRACE_VERSION = 1
TRACED_RESULTS = 10
RESULT_FIELDS = ("article_id", "version", "chunk_id", "score", "matched_question")
CITATION_FIELDS = ("n", "article_id", "version", "char_start", "char_end")


def _compact_retrieval(retrieval: dict[str, Any]) -> dict[str, Any]:
    """Each retriever's score and rank, rounded (what fusion was given)."""
    out: dict[str, Any] = {}
    for name, value in (retrieval or {}).items():
        if isinstance(value, dict):
            out[name] = {k: _round(v) for k, v in value.items() if k in ("score", "rank")}
        else:
            out[name] = _round(value)
    return out


def _round(value: Any) -> Any:
    return round(value, 5) if isinstance(value, float) else value


def _traced_citation(cite: dict[str, Any]) -> dict[str, Any]:
    """A citation's fields and its spans' offsets (passages are not copied)."""
    out = {k: cite.get(k) for k in CITATION_FIELDS}
    spans = cite.get("spans") or []
    if len(spans) > 1:
        out["spans"] = [[s.get("char_start"), s.get("char_end")] for s in spans]
    return out


def _traced_note(note: dict[str, Any]) -> dict[str, Any]:
    """A note's kind, figures and the other source's citation fields (no passage)."""
    other = note.get("other") or {}
    return {
        "kind": note.get("kind"),
        "article_id": note.get("article_id"),
        "figure": note.get("figure"),
        "other_figure": note.get("other_figure"),
        "other": {k: other.get(k) for k in ("article_id", "version", "char_start", "char_end")},
    }


def trace_of(data: dict[str, Any]) -> dict[str, Any]:
    """The replay trace of one answer object (``Answer.to_dict()``), answer text masked."""
    answer = data.get("answer")
    return {
        "v": TRACE_VERSION,
        "index_version": data.get("index_version") or "",
        "threshold": data.get("threshold"),
        "confidence": _round(float(data.get("confidence") or 0.0)),
        "evidence": {k: _round(v) for k, v in (data.get("evidence") or {}).items()},
        "mode": data.get("mode"),
        "handoff": bool(data.get("handoff")),
        "reason": data.get("reason"),
        "filters": data.get("filters") or {},
        "answer": mask_personal_data(answer) if answer else None,
        "citations": [_traced_citation(c) for c in data.get("citations") or []],
        "notes": [_traced_note(n) for n in data.get("notes") or []],
        "results": [
            {
                **{k: _round(r.get(k)) for k in RESULT_FIELDS if r.get(k) is not None},
                "retrieval": _compact_retrieval(r.get("retrieval") or {}),
            }
            for r in (data.get("results") or [])[:TRACED_RESULTS]
        ],
    }


def _cited(trace: dict[str, Any]) -> list[str]:
    return [f"{c['article_id']} v{c['version']}" for c in trace.get("citations") or []]


def _ranked(trace: dict[str, Any]) -> list[str]:
    return [f"{r['article_id']} v{r.get('version')}" for r in trace.get("results") or []]


def differences(then: dict[str, Any], now: dict[str, Any]) -> list[dict[str, Any]]:
    """What changed between two traces: one ``{"what", "then", "now"}`` per difference."""
    found = []
    for what, before, after in (
        ("answer", then.get("answer"), now.get("answer")),
        ("citations", _cited(then), _cited(now)),
        ("handoff", then.get("handoff"), now.get("handoff")),
        ("mode", then.get("mode"), now.get("mode")),
        ("reason", then.get("reason"), now.get("reason")),
        ("threshold", then.get("threshold"), now.get("threshold")),
        ("index_version", then.get("index_version"), now.get("index_version")),
        ("ranked articles", _ranked(then), _ranked(now)),
    ):
        if before != after:
            found.append({"what": what, "then": before, "now": after})
    confidence = (then.get("confidence") or 0.0, now.get("confidence") or 0.0)
    if abs(confidence[0] - confidence[1]) >= 0.005:
        found.append({"what": "confidence", "then": confidence[0], "now": confidence[1]})
    return found


def logged_request(session: Session, request_id: str) -> QueryLog:
    """The query-log row of a request (NotFound naming it)."""
    row = session.scalar(select(QueryLog).where(QueryLog.request_id == request_id))
    if row is None:
        raise NotFound(f"no suggestion with request id '{request_id}' in the query log")
    return row


def replay_filters(trace: dict[str, Any]) -> SearchFilters:
    """The filters of the original request, as of today."""
    given = trace.get("filters") or {}
    return SearchFilters.build(
        audience=given.get("audience"),
        types=given.get("types"),
        tags=given.get("tags"),
        lang=given.get("lang"),
    )


class Answering(Protocol):
    """What replay needs of ``kb.answer.suggest.Suggester``."""

    def suggest(self, question: str, filters: SearchFilters, *, log: bool) -> Any:
        """An answer object with ``to_dict()``."""
        ...


def replay_request(session: Session, request_id: str, engine: Answering) -> dict[str, Any]:
    """A logged suggestion as given and as ``engine`` answers its (masked) question now:
    ``{"request_id", "ts", "question", "then", "now", "differences"}`` (NotFound when the
    request is unknown or its trace was pruned)."""
    row = logged_request(session, request_id)
    if not row.trace:
        raise NotFound(
            f"request '{request_id}' has no replay trace (logged before answer replay, or "
            "older than query_trace_days)"
        )
    answer = engine.suggest(row.question, replay_filters(row.trace), log=False)
    now = trace_of(answer.to_dict())
    return {
        "request_id": request_id,
        "ts": row.ts,
        "question": row.question,
        "then": row.trace,
        "now": now,
        "differences": differences(row.trace, now),
    }


def prune_traces(session: Session, days: int, now: datetime | None = None) -> int:
    """Drop the traces of rows older than ``days`` (0: keep them all); how many."""
    if days < 0:
        raise InvalidInput(f"setting 'query_trace_days' must be 0 or more, got {days}")
    if days == 0:
        return 0
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    result = session.execute(
        update(QueryLog)
        .where(QueryLog.ts < cutoff, QueryLog.trace.is_not(None))
        .values(trace=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
