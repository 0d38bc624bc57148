"""Feedback on suggestions: one verdict per requester and request, the latest wins.

The API (``kb.api.service``) and the agent-assist page (``kb.ui.feedback``) store
feedback here, after checking that the requester received the suggestion. The unique
index ``uq_feedback_request_given_by`` holds one row per (request, giver); a second
verdict replaces the first in one atomic upsert, so two arriving at once never fail.
"""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from kb.articles import utcnow
from kb.tables import Feedback


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
