"""The figures behind the insights page, read from the query log, feedback and articles.

Plain functions over a session (no Streamlit), used by the app's insights page and
tested directly: the feedback helpful rate (on answers only: a hand-off answered
nothing, so a "helpful" on one says nothing about an article), articles marked wrong,
the most-cited articles with their titles and questions per day. The unanswered queue
is ``kb.quality.unanswered`` (re-exported here).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.quality.unanswered import QuestionGroup, group_questions, unanswered
from kb.store.tables import Article, ArticleVersion, Feedback, QueryLog

__all__ = ["QuestionGroup", "group_questions", "unanswered"]  # now in kb.quality.unanswered


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
    """Counts of feedback on answers (not hand-offs) and, per cited article, how often its
    answer was marked wrong."""
    rows = session.execute(
        select(Feedback.helpful, Feedback.correct_article_id, QueryLog.cited_article_ids)
        .join(QueryLog, QueryLog.request_id == Feedback.request_id)
        .where(QueryLog.handoff.is_(False))
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


@dataclass(frozen=True)
class WrongAnswer:
    """One "wrong answer" verdict on a suggestion: what was asked (masked), which
    articles the suggestion cited and what the agent said instead."""

    feedback_id: int
    request_id: str
    ts: str
    question: str
    cited: list[str]
    correct_article_id: str | None
    comment: str
    given_by: str


def wrong_answers(session: Session, limit: int = 20) -> list[WrongAnswer]:
    """The newest "wrong answer" feedback on answers (not hand-offs), newest first."""
    rows = session.execute(
        select(Feedback, QueryLog.question, QueryLog.cited_article_ids)
        .join(QueryLog, QueryLog.request_id == Feedback.request_id)
        .where(QueryLog.handoff.is_(False), Feedback.helpful.is_(False))
        .order_by(Feedback.ts.desc(), Feedback.id.desc())
        .limit(limit)
    ).all()
    return [
        WrongAnswer(
            feedback_id=f.id,
            request_id=f.request_id,
            ts=str(f.ts)[:16],
            question=question,
            cited=list(cited or []),
            correct_article_id=f.correct_article_id,
            comment=f.comment or "",
            given_by=f.given_by or "",
        )
        for f, question, cited in rows
    ]


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
