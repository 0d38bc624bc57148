"""Golden questions in the review workflow: who keeps them, and the publishing gate.

Authors, reviewers, publishers and admins keep the golden questions (``kb golden``);
everyone who may read the knowledge base may list them. Every change is an audit event.
A question is embedded when it is added (``prepare``), so checks find its vector cached.
``gate`` runs the golden check (``kb.quality.golden_check``) for a version about to be published
and refuses the publication when it would break a golden answer, unless the publisher
gives an override reason, which is audited with the questions it breaks.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.errors import Conflict, InvalidInput, NotFound, NotReady
from kb.quality.golden import FEEDBACK, Golden, add_question, get_question, golden_set
from kb.quality.golden_check import CheckerFactory, CheckReport, broken_summary
from kb.store.articles import to_content
from kb.store.tables import ArticleVersion, Feedback, GoldenQuestion, QueryLog
from review import audit
from review.permissions import Action, authorize
from review.states import OPEN_STATES


def add(
    session: Session,
    actor: str,
    question: str,
    expected: Sequence[str],
    checker: CheckerFactory | None = None,
) -> GoldenQuestion:
    """Add a golden question expecting one of ``expected`` (audited); embedded now through
    ``checker`` when given (``prepare``)."""
    user = authorize(session, actor, Action.MANAGE_GOLDEN)
    row = add_question(session, question, expected, user.name)
    _audit(session, user.name, "golden_add", row)
    prepare(row.question, checker)
    return row


def remove(session: Session, actor: str, golden_id: int) -> GoldenQuestion:
    """Retire a stored golden question (kept for the record, audited)."""
    user = authorize(session, actor, Action.MANAGE_GOLDEN)
    row = get_question(session, golden_id)
    row.active = False
    _audit(session, user.name, "golden_remove", row)
    return row


def accept_feedback(
    session: Session, actor: str, feedback_id: int, checker: CheckerFactory | None = None
) -> GoldenQuestion:
    """Make an agent's "wrong answer, the right article is X" a golden question (audited;
    embedded now through ``checker`` when given).

    The question is the one the agent asked, as the query log keeps it (personal data
    masked); the expected article is the one the agent named.
    """
    user = authorize(session, actor, Action.MANAGE_GOLDEN)
    feedback = session.get(Feedback, feedback_id)
    if feedback is None:
        raise NotFound(f"no feedback {feedback_id}")
    if feedback.helpful or not feedback.correct_article_id:
        raise InvalidInput(
            f"feedback {feedback_id} names no right article (only 'wrong answer, the right "
            "article is X' feedback can become a golden question)"
        )
    logged = session.query(QueryLog).filter_by(request_id=feedback.request_id).one_or_none()
    if logged is None:
        raise NotFound(f"feedback {feedback_id}: its question is no longer in the query log")
    row = add_question(
        session,
        logged.question,
        [feedback.correct_article_id],
        user.name,
        source=FEEDBACK,
        feedback_id=feedback_id,
    )
    _audit(session, user.name, "golden_accept", row)
    prepare(row.question, checker)
    return row


def prepare(question: str, checker: CheckerFactory | None) -> None:
    """Embed a new golden question now, through ``checker``, so the checks that run at
    submit, approval and publication do not have to (None: the first check embeds it)."""
    try:
        if checker is not None:
            checker().prepare([question])
    except NotReady:
        return


def listed(session: Session, actor: str, implicit: bool = False) -> list[Golden]:
    """The golden questions (with ``implicit``: the published FAQs' own questions too)."""
    authorize(session, actor, Action.READ)
    questions = golden_set(session)
    return questions if implicit else [g for g in questions if g.id is not None]


def check(
    session: Session, row: ArticleVersion, checker: CheckerFactory | None
) -> CheckReport | None:
    """The golden check of ``row`` with ``checker``; None when there is no checker or no
    index is live yet (no answer is given today, so none can break)."""
    if checker is None:
        return None  # (before reading every FAQ's questions: publishing waits for it)
    try:
        engine = checker()  # building it opens the live index: NotReady if none
        questions = golden_set(session, replacing=row)
        if not questions:
            return None
        return engine.check(questions, to_content(row), row.version)
    except NotReady:
        return None


def check_open(
    session: Session,
    actor: str,
    article_id: str | None = None,
    checker: CheckerFactory | None = None,
) -> list[CheckReport]:
    """The golden check of the article's newest open version (or of every open version)."""
    authorize(session, actor, Action.VIEW_DRAFTS, article_id=article_id)
    query = select(ArticleVersion).where(ArticleVersion.state.in_([str(s) for s in OPEN_STATES]))
    if article_id is not None:
        query = query.where(ArticleVersion.article_id == article_id)
    rows = list(session.scalars(query.order_by(ArticleVersion.article_id, ArticleVersion.version)))
    newest = {row.article_id: row for row in rows}  # the newest open version per article
    if article_id is not None and not newest:
        raise NotFound(f"article '{article_id}' has no open version (draft, in review, approved)")
    reports = [check(session, row, checker) for row in newest.values()]
    return [r for r in reports if r is not None]


def latest_open(session: Session, article_id: str) -> ArticleVersion:
    """The article's newest open version (draft, in review or approved), or ``NotFound``."""
    row = session.scalars(
        select(ArticleVersion)
        .where(
            ArticleVersion.article_id == article_id,
            ArticleVersion.state.in_([str(s) for s in OPEN_STATES]),
        )
        .order_by(ArticleVersion.version.desc())
    ).first()
    if row is None:
        raise NotFound(f"article '{article_id}' has no open version (draft, in review, approved)")
    return row


def gate(
    session: Session,
    actor: str,
    row: ArticleVersion,
    override: str = "",
    checker: CheckerFactory | None = None,
) -> None:
    """Refuse publishing ``row`` if it breaks a golden answer (checked with ``checker``),
    unless overridden (audited)."""
    report = check(session, row, checker)
    if report is None or not report.broken:
        return
    where = f"article '{row.article_id}' version {row.version}"
    if not override.strip():
        raise Conflict(
            f"publishing {where} would break {len(report.broken)} golden answer(s): "
            f"{broken_summary(report)}; fix it, or publish with an override reason"
        )
    user = authorize(session, actor, Action.OVERRIDE_GOLDEN, article_id=row.article_id)
    questions = "; ".join(f"'{r.golden.question}'" for r in report.broken)
    audit.append(
        session,
        audit.Event(
            actor=user.name,
            action=str(Action.OVERRIDE_GOLDEN),
            article_id=row.article_id,
            version=row.version,
            from_state=row.state,
            comment=f"{override.strip()} (breaks {questions})",
            content_hash=row.content_hash,
        ),
    )


def _audit(session: Session, actor: str, action: str, row: GoldenQuestion) -> None:
    expected = ", ".join(row.expected)
    audit.append(
        session,
        audit.Event(
            actor=actor,
            action=action,
            comment=f"golden question {row.id}: {row.question} -> {expected}",
        ),
    )
