"""Who may work the unanswered-question queue (``kb.quality.unanswered``), for the app and the CLI.

Listing needs a role beyond agent (``view_drafts``); resolving a group (naming the
published article that now answers it) or dismissing it needs an editing role
(``comment``: authors, reviewers, publishers, admins). Groups are found by the id
``kb.quality.unanswered.QuestionGroup.id`` gives them; an id no longer in the queue is
``NotFound`` (list again).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from kb.embedders.base import EmbeddingBackend
from kb.errors import InvalidInput, NotFound
from kb.quality import unanswered
from kb.quality.unanswered import QuestionGroup
from kb.store.tables import Article
from review.permissions import Action, authorize


def list_groups(
    session: Session, actor: str, backend: EmbeddingBackend | None
) -> list[QuestionGroup]:
    """The queue: unanswered questions not dealt with, grouped, largest first."""
    authorize(session, actor, Action.VIEW_DRAFTS)
    return unanswered.unanswered(session, backend)


def find_group(
    session: Session, actor: str, group_id: str, backend: EmbeddingBackend | None
) -> QuestionGroup:
    """The group with this id, or ``NotFound``."""
    for group in list_groups(session, actor, backend):
        if group.id == group_id:
            return group
    raise NotFound(f"no unanswered group '{group_id}' in the queue (list it again: kb queue list)")


def resolve(
    session: Session,
    actor: str,
    group_id: str,
    article_id: str,
    backend: EmbeddingBackend | None,
) -> QuestionGroup:
    """Mark the group answered by ``article_id`` (a published article)."""
    authorize(session, actor, Action.COMMENT)
    article = session.get(Article, article_id)
    if article is None or article.published_version is None:
        raise InvalidInput(f"'{article_id}' is not a published article: nothing answers yet")
    group = find_group(session, actor, group_id, backend)
    unanswered.mark_group(session, group, unanswered.RESOLVED, actor, article_id)
    return group


def dismiss(
    session: Session, actor: str, group_id: str, backend: EmbeddingBackend | None
) -> QuestionGroup:
    """Take the group off the queue without an answer (off-topic, spam, a one-off)."""
    authorize(session, actor, Action.COMMENT)
    group = find_group(session, actor, group_id, backend)
    unanswered.mark_group(session, group, unanswered.DISMISSED, actor)
    return group
