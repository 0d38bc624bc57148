"""The figures behind the insights page, read from the query log, feedback and articles.

Plain functions over a session (no Streamlit), so they are tested directly:
the unanswered queue grouped by similar questions, the feedback helpful rate,
articles marked wrong, the most-cited articles and questions per day.
Similar questions are grouped greedily by the cosine of their embeddings (the
model the index uses), after ``normalize_for_matching``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.embedders.base import EmbeddingBackend
from kb.tables import Article, ArticleVersion, Feedback, QueryLog
from kb.text import normalize_for_matching

SIMILAR = 0.93  # multilingual-e5 cosines are compressed: paraphrases ~0.97, related topics ~0.92
MAX_UNANSWERED = 2000


@dataclass
class QuestionGroup:
    """Unanswered questions that ask the same thing: how often, and how they were put."""

    example: str
    count: int
    questions: list[str] = field(default_factory=list)
    last_asked: datetime | None = None


def group_questions(
    questions: Sequence[tuple[str, datetime | None]],
    backend: EmbeddingBackend | None,
    threshold: float = SIMILAR,
) -> list[QuestionGroup]:
    """Group (question, time) pairs: identical after normalisation, or embeddings this close.

    Without a backend only identical questions group. Largest groups first.
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


_VECTORS: dict[tuple[str, str], np.ndarray] = {}
MAX_CACHED_VECTORS = 20_000


def _embedding(backend: EmbeddingBackend, text: str) -> np.ndarray:
    """The query embedding of a question, remembered for the next page view."""
    key = (backend.model_id, text)
    vector = _VECTORS.get(key)
    if vector is None:
        if len(_VECTORS) >= MAX_CACHED_VECTORS:
            _VECTORS.clear()
        vector = _VECTORS[key] = backend.embed_query(text)
    return vector


def _merge_similar(
    groups: list[QuestionGroup], keys: list[str], backend: EmbeddingBackend, threshold: float
) -> list[QuestionGroup]:
    order = sorted(range(len(groups)), key=lambda i: -groups[i].count)
    vectors = np.stack([_embedding(backend, keys[i]) for i in order])
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


def unanswered(session: Session, backend: EmbeddingBackend | None) -> list[QuestionGroup]:
    """The hand-off questions (newest ``MAX_UNANSWERED``), grouped by similarity."""
    rows = session.execute(
        select(QueryLog.question, QueryLog.ts)
        .where(QueryLog.handoff.is_(True))
        .order_by(QueryLog.ts.desc())
        .limit(MAX_UNANSWERED)
    ).all()
    return group_questions([(q, ts) for q, ts in rows], backend)


def titles(session: Session, article_ids: Sequence[str]) -> dict[str, str]:
    """The newest title of each article."""
    if not article_ids:
        return {}
    rows = session.execute(
        select(ArticleVersion.article_id, ArticleVersion.title)
        .join(Article, Article.id == ArticleVersion.article_id)
        .where(ArticleVersion.article_id.in_(list(article_ids)))
        .where(ArticleVersion.version == Article.latest_version)
    )
    return dict(rows.all())


@dataclass
class FeedbackSummary:
    """Helpful / wrong counts and the articles agents said were wrong."""

    total: int
    helpful: int
    wrong_articles: pd.DataFrame

    @property
    def helpful_rate(self) -> float | None:
        """The share of feedback that was 'helpful' (None without feedback)."""
        return self.helpful / self.total if self.total else None


def feedback_summary(session: Session) -> FeedbackSummary:
    """Counts of feedback and, per cited article, how often its answer was marked wrong."""
    rows = session.execute(
        select(Feedback.helpful, Feedback.correct_article_id, QueryLog.cited_article_ids).join(
            QueryLog, QueryLog.request_id == Feedback.request_id
        )
    ).all()
    wrong: Counter[str] = Counter()
    better: dict[str, Counter[str]] = {}
    for helpful, correct, cited in rows:
        if helpful:
            continue
        for article_id in cited or []:
            wrong[article_id] += 1
            if correct:
                better.setdefault(article_id, Counter())[correct] += 1
    names = titles(session, list(wrong))
    frame = pd.DataFrame(
        [
            {
                "article_id": a,
                "title": names.get(a, ""),
                "wrong": n,
                "suggested_instead": ", ".join(
                    b for b, _ in better.get(a, Counter()).most_common(3)
                ),
            }
            for a, n in wrong.most_common()
        ],
        columns=["article_id", "title", "wrong", "suggested_instead"],
    )
    return FeedbackSummary(len(rows), sum(1 for r in rows if r[0]), frame)


def most_cited(session: Session, limit: int = 10) -> pd.DataFrame:
    """The articles cited most often in answered suggestions."""
    counts: Counter[str] = Counter()
    for (cited,) in session.execute(select(QueryLog.cited_article_ids)):
        counts.update(dict.fromkeys(cited or [], 1))
    top = counts.most_common(limit)
    names = titles(session, [a for a, _ in top])
    return pd.DataFrame(
        [{"article_id": a, "title": names.get(a, ""), "citations": n} for a, n in top],
        columns=["article_id", "title", "citations"],
    )


def daily_counts(session: Session) -> pd.DataFrame:
    """Questions and hand-offs per day (index: day)."""
    rows = session.execute(select(QueryLog.ts, QueryLog.handoff)).all()
    frame = pd.DataFrame(rows, columns=["ts", "handoff"])
    if frame.empty:
        return pd.DataFrame(columns=["questions", "handoffs"])
    frame["day"] = pd.to_datetime(frame["ts"], utc=True).dt.date
    return frame.groupby("day").agg(questions=("handoff", "size"), handoffs=("handoff", "sum"))
