"""The query log and feedback of the agent-assist page.

Each suggestion shown to an agent is logged by ``kb.suggest`` (through
``kb.querylog.query_log_record``, as the API logs), the question masked, with requester
``user:<name>`` and channel ``app``; a hand-off therefore lands in the editors'
unanswered queue. Feedback is tied to that logged suggestion and to the agent who
received it, as the API ties it to a key.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.errors import InvalidInput, NotFound
from kb.feedback import save_feedback
from kb.privacy import mask_personal_data
from kb.tables import Article, Feedback, QueryLog

CHANNEL = "app"


def requester(user_name: str) -> str:
    """The query-log requester of a signed-in user."""
    return f"user:{user_name}"


def record_feedback(
    session: Session,
    user_name: str,
    request_id: str,
    helpful: bool,
    comment: str = "",
    correct_article_id: str | None = None,
) -> Feedback:
    """Store an agent's verdict on a suggestion they received (the comment masked);
    NotFound when the suggestion was not logged for this agent.

    A second verdict on the same suggestion replaces the first (``kb.feedback``).
    """
    logged = session.scalar(select(QueryLog).where(QueryLog.request_id == request_id))
    if logged is None or logged.requester != requester(user_name):
        raise NotFound(f"no suggestion '{request_id}' for {user_name}")
    if correct_article_id and session.get(Article, correct_article_id) is None:
        raise InvalidInput(f"no article '{correct_article_id}'")
    return save_feedback(
        session,
        request_id,
        user_name,
        helpful=helpful,
        comment=mask_personal_data(comment.strip()),
        correct_article_id=correct_article_id or None,
    )
