"""Feedback on suggestions: one verdict per requester and request, the latest wins.

The API (``kb.api.service``) and the agent-assist page (``kb.ui.feedback``) both record
feedback through ``record_feedback``, one set of rules: the requester received the
suggestion (else NotFound), a "the right article is X" names a published article in
force today that the requester's audience may see (else InvalidInput, the same answer
for a missing and a hidden one), the comment is masked and at most 2,000 characters. The unique
index ``uq_feedback_request_given_by`` holds one row per (request, giver); a second
verdict replaces the first in one atomic upsert, so two arriving at once never fail.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from kb.errors import InvalidInput, NotFound
from kb.model import Audience
from kb.privacy import mask_personal_data
from kb.store.articles import utcnow
from kb.store.tables import Article, ArticleVersion, Feedback, QueryLog

MAX_COMMENT = 2000


def may_see(audience: Audience, article_audience: str | None) -> bool:
    """True when a requester of ``audience`` may see an article of ``article_audience``."""
    if audience == Audience.INTERNAL:
        return True
    return article_audience == Audience.PUBLIC


def served_conditions(audience: Audience, on: date) -> list[Any]:
    """The SQL conditions of a published version ``audience`` may see, effective ``on``
    (a query joining ``Article`` to ``ArticleVersion``)."""
    visible = [str(a) for a in Audience if may_see(audience, a)]
    return [
        ArticleVersion.version == Article.published_version,
        ArticleVersion.audience.in_(visible),
        or_(ArticleVersion.effective_from.is_(None), ArticleVersion.effective_from <= on),
        or_(ArticleVersion.effective_to.is_(None), ArticleVersion.effective_to >= on),
    ]


def visible_published(
    session: Session, audience: Audience, article_id: str, on: date
) -> ArticleVersion:
    """The published version ``audience`` may see and that is effective ``on``.

    One query, whatever makes it miss (no such article, not published, not effective,
    not visible to the audience), so that how long a miss takes does not tell an
    internal article from a missing one.
    """
    row = session.scalar(
        select(ArticleVersion)
        .join(Article, Article.id == ArticleVersion.article_id)
        .where(ArticleVersion.article_id == article_id, *served_conditions(audience, on))
    )
    if row is None:
        raise NotFound(f"no article '{article_id}'")
    return row


def record_feedback(
    session: Session,
    requester: str,
    request_id: str,
    *,
    helpful: bool,
    audience: Audience,
    comment: str = "",
    correct_article_id: str | None = None,
    given_by: str | None = None,
) -> Feedback:
    """Check and store ``requester``'s verdict on a suggestion they received (see above),
    recorded as given by ``given_by`` (default: the requester)."""
    logged = session.scalar(select(QueryLog).where(QueryLog.request_id == request_id))
    if logged is None or logged.requester != requester:
        raise NotFound(f"no suggestion with request_id '{request_id}' for {requester}")
    text = (comment or "").strip()
    if len(text) > MAX_COMMENT:
        raise InvalidInput(f"the comment is longer than {MAX_COMMENT} characters")
    if correct_article_id:
        try:
            visible_published(session, audience, correct_article_id, date.today())
        except NotFound:
            raise InvalidInput(f"correct_article_id: no article '{correct_article_id}'") from None
    return save_feedback(
        session,
        request_id,
        given_by or requester,
        helpful=helpful,
        comment=mask_personal_data(text),
        correct_article_id=correct_article_id or None,
    )


def save_feedback(
    session: Session,
    request_id: str,
    given_by: str,
    *,
    helpful: bool,
    comment: str = "",
    correct_article_id: str | None = None,
) -> Feedback:
    """Insert or replace ``given_by``'s verdict on ``request_id``; the stored row."""
    verdict = {
        "ts": utcnow(),
        "helpful": helpful,
        "comment": comment,
        "correct_article_id": correct_article_id,
    }
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(Feedback)
        .values(request_id=request_id, given_by=given_by, **verdict)
        .on_conflict_do_update(
            index_elements=[Feedback.request_id, Feedback.given_by], set_=verdict
        )
        .returning(Feedback.id)
    )
    feedback_id = session.scalar(statement)
    row = session.get(Feedback, feedback_id, populate_existing=True)
    if row is None:  # the upsert returned the row's id in this transaction
        raise RuntimeError(f"feedback {feedback_id} vanished after its upsert")
    return row
