"""Golden questions: questions with the article(s) that must answer them.

Three sources, one list (``golden_set``):

* ``manual``: kept by editors (``kb golden add``), stored in ``golden_questions``;
* ``feedback``: an agent's "wrong answer, the right article is X" accepted by an editor,
  stored with the feedback id;
* ``faq``: every published FAQ's standard and similar questions, expecting that FAQ.
  Derived when asked, never stored, so they follow the published FAQs by themselves.

Who may change the stored ones and the audit trail are ``review.golden``'s business; the
check that runs them against a change is ``kb.quality.golden_check``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager

from kb.errors import InvalidInput, NotFound
from kb.model import ArticleType, State
from kb.store.articles import utcnow
from kb.store.tables import Article, ArticleVersion, Feedback, GoldenQuestion, QueryLog
from kb.text import has_words

MANUAL = "manual"
FEEDBACK = "feedback"
FAQ = "faq"
SOURCES = (MANUAL, FEEDBACK, FAQ)
MAX_QUESTION_CHARS = 1000


@dataclass(frozen=True)
class Golden:
    """One golden question: ``expected`` are the articles any of which is a right answer."""

    question: str
    expected: tuple[str, ...]
    source: str
    id: int | None = None  # the stored row (None for a derived FAQ question)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = asdict(self)
        data["expected"] = list(self.expected)
        return data


def _clean_question(question: str) -> str:
    text = " ".join((question or "").split())
    if not has_words(text):
        raise InvalidInput("golden question: the question is empty (no letters or digits)")
    if len(text) > MAX_QUESTION_CHARS:
        raise InvalidInput(f"golden question: longer than {MAX_QUESTION_CHARS} characters")
    return text


def _check_articles(session: Session, expected: Iterable[str]) -> list[str]:
    ids = list(dict.fromkeys(a.strip() for a in expected if a and a.strip()))
    if not ids:
        raise InvalidInput("golden question: name at least one expected article (--article)")
    known = set(session.scalars(select(Article.id).where(Article.id.in_(ids))))
    missing = [a for a in ids if a not in known]
    if missing:
        raise NotFound(f"golden question: no article {', '.join(missing)}")
    return ids


def add_question(
    session: Session,
    question: str,
    expected: Sequence[str],
    created_by: str,
    *,
    source: str = MANUAL,
    feedback_id: int | None = None,
) -> GoldenQuestion:
    """Store a golden question (validated: words in it, every expected article exists)."""
    if source not in (MANUAL, FEEDBACK):
        raise InvalidInput(f"golden question: source must be {MANUAL} or {FEEDBACK}")
    row = GoldenQuestion(
        question=_clean_question(question),
        expected=_check_articles(session, expected),
        source=source,
        feedback_id=feedback_id,
        created_by=created_by,
        created_at=utcnow(),
        active=True,
    )
    session.add(row)
    session.flush()
    return row


def get_question(session: Session, golden_id: int) -> GoldenQuestion:
    """An active stored golden question, or ``NotFound``."""
    row = session.get(GoldenQuestion, golden_id)
    if row is None or not row.active:
        raise NotFound(f"no golden question {golden_id}")
    return row


def stored_questions(session: Session) -> list[Golden]:
    """The active stored golden questions (manual and accepted feedback), oldest first."""
    rows = session.scalars(
        select(GoldenQuestion).where(GoldenQuestion.active).order_by(GoldenQuestion.id)
    )
    return [Golden(r.question, tuple(r.expected), r.source, r.id) for r in rows]


def faq_questions_of(row: ArticleVersion) -> list[Golden]:
    """An FAQ version's standard and similar questions, each expecting the FAQ
    (none for another type of article)."""
    if row.article.type != ArticleType.FAQ:
        return []
    texts = [row.question, *(row.similar_questions or [])]
    unique = dict.fromkeys(" ".join(t.split()) for t in texts if t and has_words(t))
    return [Golden(q, (row.article_id,), FAQ) for q in unique]


def golden_set(session: Session, *, replacing: ArticleVersion | None = None) -> list[Golden]:
    """Every golden question: stored ones, then every published FAQ's own questions.

    ``replacing``: a version about to be published; if it is an FAQ, its own questions
    are added too. The published version's questions stay in the set, so a version that
    drops a question its FAQ answered today is told when that answer goes elsewhere.
    """
    questions = stored_questions(session)
    published = session.scalars(
        select(ArticleVersion)
        .join(Article, Article.id == ArticleVersion.article_id)
        .where(ArticleVersion.state == str(State.PUBLISHED), Article.type == str(ArticleType.FAQ))
        .options(contains_eager(ArticleVersion.article))
        .order_by(ArticleVersion.article_id)
    )
    for row in published:
        questions.extend(faq_questions_of(row))
    if replacing is not None:
        questions.extend(faq_questions_of(replacing))
    return list(dict.fromkeys(questions))


@dataclass(frozen=True)
class Correction:
    """An agent's "wrong answer, the right article is X" not yet a golden question."""

    feedback_id: int
    question: str  # as the query log keeps it (personal data masked)
    cited: tuple[str, ...]
    correct_article_id: str
    given_by: str


def pending_corrections(session: Session, limit: int = 50) -> list[Correction]:
    """The newest wrong-answer feedback naming a right article, not yet accepted."""
    accepted = select(GoldenQuestion.feedback_id).where(GoldenQuestion.feedback_id.is_not(None))
    rows = session.execute(
        select(Feedback, QueryLog.question, QueryLog.cited_article_ids)
        .join(QueryLog, QueryLog.request_id == Feedback.request_id)
        .where(
            Feedback.helpful.is_(False),
            Feedback.correct_article_id.is_not(None),
            Feedback.id.not_in(accepted),
        )
        .order_by(Feedback.ts.desc())
        .limit(limit)
    )
    return [
        Correction(f.id, question, tuple(cited or []), str(f.correct_article_id), f.given_by)
        for f, question, cited in rows
    ]
