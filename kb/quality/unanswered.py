"""The unanswered-question queue: hand-offs grouped by similar questions, minus those dealt with.

Similar questions are grouped greedily by the cosine of their embeddings (the model the
index uses), after ``normalize_for_matching``; without a model only identical questions
group. A group has a stable ``id`` (from its leading question) that links, the CLI and
the app use to resolve it (an article now answers it) or dismiss it: each question of the
group gets an ``UnansweredMark``, and its hand-offs logged until then leave the queue
(a hand-off after that brings it back: the article did not answer after all).
A group may be assigned to an editor (``assignee``, ``kb.quality.assignments``); the
assignment ends when the group is resolved or dismissed. The rules of who may do what
live in ``review.queue``.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.embedders.base import EmbeddingBackend
from kb.quality import assignments
from kb.store.articles import utcnow
from kb.store.tables import QueryLog, UnansweredMark
from kb.text import normalize_for_matching

RESOLVED = "resolved"
DISMISSED = "dismissed"


@dataclass
class QuestionGroup:
    """Unanswered questions that ask the same thing: how often, and how they were put."""

    example: str
    count: int
    questions: list[str] = field(default_factory=list)
    last_asked: datetime | None = None
    assignee: str | None = None

    @property
    def id(self) -> str:
        """A short stable id from the group's leading question (for links and the CLI)."""
        key = normalize_for_matching(self.example).encode("utf-8")
        return "q" + hashlib.sha256(key).hexdigest()[:10]

    def as_dict(self) -> dict[str, object]:
        """JSON-ready data."""
        return {
            "id": self.id,
            "example": self.example,
            "count": self.count,
            "questions": list(self.questions),
            "last_asked": self.last_asked.isoformat() if self.last_asked else None,
            "assignee": self.assignee,
        }


SIMILAR = 0.93  # multilingual-e5 cosines are compressed: paraphrases ~0.97, related topics ~0.92
MAX_UNANSWERED = 2000


def group_questions(
    questions: Sequence[tuple[str, datetime | None]],
    backend: EmbeddingBackend | None,
    threshold: float = SIMILAR,
) -> list[QuestionGroup]:
    """Group (question, time) pairs: identical after normalisation, or embeddings this close.

    Without a backend only identical questions group. Largest groups first. Pass a
    ``QuestionVectors`` (the runtime's) to embed each question once per process.
    """
    exact: dict[str, QuestionGroup] = {}
    for text, ts in questions:
        key = normalize_for_matching(text)
        group = exact.setdefault(key, QuestionGroup(example=text, count=0))
        group.count += 1
        if text not in group.questions:
            group.questions.append(text)
        if ts is not None and (group.last_asked is None or ts > group.last_asked):
            group.last_asked = ts
    groups = list(exact.values())
    if backend is not None and len(groups) > 1:
        groups = _merge_similar(groups, list(exact), backend, threshold)
    return sorted(groups, key=lambda g: (-g.count, g.example))


MAX_CACHED_VECTORS = 20_000


class QuestionVectors(EmbeddingBackend):
    """A backend that remembers its query vectors, so the unanswered questions are embedded
    once, not on every page view: the process's ``Runtime`` keeps one
    (``runtime.question_vectors``) and the queue groups with it."""

    def __init__(self, backend: EmbeddingBackend, limit: int = MAX_CACHED_VECTORS) -> None:
        """Remember at most ``limit`` query vectors of ``backend`` (then start afresh)."""
        self.backend = backend
        self.limit = limit
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        """The wrapped backend's model id."""
        return self.backend.model_id

    @property
    def dim(self) -> int:
        """The wrapped backend's vector length."""
        return self.backend.dim

    def warm_up(self) -> None:
        """Load the wrapped backend's model."""
        self.backend.warm_up()

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """The wrapped backend's passage vectors (not remembered)."""
        return self.backend.embed_passages(texts)

    def embed_query(self, text: str) -> np.ndarray:
        """The query vector of ``text``, remembered for the next call."""
        with self._lock:
            vector = self._vectors.get(text)
        if vector is None:
            vector = self.backend.embed_query(text)
            with self._lock:
                if len(self._vectors) >= self.limit:
                    self._vectors.clear()
                self._vectors[text] = vector
        return vector

    def __len__(self) -> int:
        """How many query vectors are remembered."""
        return len(self._vectors)


def _merge_similar(
    groups: list[QuestionGroup], keys: list[str], backend: EmbeddingBackend, threshold: float
) -> list[QuestionGroup]:
    order = sorted(range(len(groups)), key=lambda i: -groups[i].count)
    vectors = np.stack([backend.embed_query(keys[i]) for i in order])
    leaders: list[int] = []
    merged: list[QuestionGroup] = []
    for row, index in enumerate(order):
        group = groups[index]
        if leaders:
            scores = vectors[leaders] @ vectors[row]
            best = int(np.argmax(scores))
            if scores[best] >= threshold:
                target = merged[best]
                target.count += group.count
                target.questions.extend(q for q in group.questions if q not in target.questions)
                if group.last_asked and (
                    target.last_asked is None or group.last_asked > target.last_asked
                ):
                    target.last_asked = group.last_asked
                continue
        leaders.append(row)
        merged.append(group)
    return merged


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _marked(session: Session) -> dict[str, datetime]:
    """Each marked question key with the time of its newest mark."""
    marks: dict[str, datetime] = {}
    for key, ts in session.execute(select(UnansweredMark.question_key, UnansweredMark.ts)):
        ts = _aware(ts)
        if key not in marks or ts > marks[key]:
            marks[key] = ts
    return marks


def unanswered(session: Session, backend: EmbeddingBackend | None) -> list[QuestionGroup]:
    """The hand-off questions (newest ``MAX_UNANSWERED``) not dealt with, grouped, each
    with its assignee."""
    rows = session.execute(
        select(QueryLog.question, QueryLog.ts)
        .where(QueryLog.handoff.is_(True))
        .order_by(QueryLog.ts.desc())
        .limit(MAX_UNANSWERED)
    ).all()
    marks = _marked(session)
    kept = [
        (q, ts)
        for q, ts in rows
        if (mark := marks.get(normalize_for_matching(q))) is None or _aware(ts) > mark
    ]
    groups = group_questions(kept, backend)
    given = assignments.assignees(session)
    for group in groups:
        group.assignee = given.get(group.id)
    return groups


def mark_group(
    session: Session, group: QuestionGroup, status: str, actor: str, article_id: str | None = None
) -> int:
    """Mark every question of ``group`` resolved (by ``article_id``) or dismissed, now
    (its assignment ends)."""
    now = utcnow()
    assignments.unassign(session, group.id)
    keys = dict.fromkeys(normalize_for_matching(q) for q in group.questions)
    for key in keys:
        session.add(
            UnansweredMark(
                question_key=key, status=status, article_id=article_id, actor=actor, ts=now
            )
        )
    return len(keys)
