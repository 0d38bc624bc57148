"""The query log and feedback of the agent-assist page.

Each suggestion shown to an agent is logged by ``kb.answer.suggest`` (through
``kb.store.querylog.query_log_record``, as the API logs), the question masked, with requester
``user:<name>`` and channel ``app``; a hand-off therefore lands in the editors'
unanswered queue. Feedback is tied to that logged suggestion and to the agent who
received it, as the API ties it to a key, under the same rules (``kb.store.feedback``).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from kb.model import Audience
from kb.store import feedback
from kb.store.tables import Feedback

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
    """Store an agent's verdict on a suggestion they received, by the API's rules
    (``kb.store.feedback.record_feedback``: agents see internal articles too).

    A second verdict on the same suggestion replaces the first.
    """
    return feedback.record_feedback(
        session,
        requester(user_name),
        request_id,
        helpful=helpful,
        audience=Audience.INTERNAL,
        comment=comment,
        correct_article_id=correct_article_id,
        given_by=user_name,
    )
