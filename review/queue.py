"""Who may work the unanswered-question queue (``kb.quality.unanswered``), for the app and the CLI.

Listing needs a role beyond agent (``view_drafts``); resolving a group (naming the
published article that now answers it) or dismissing it needs an editing role
(``comment``: authors, reviewers, publishers, admins). Groups are found by the id
``kb.quality.unanswered.QuestionGroup.id`` gives them; an id no longer in the queue is
``NotFound`` (list again).

A group can be assigned to an editor (anyone whose role may resolve it). Taking an
unassigned group for oneself, or giving back one's own, needs only that role
(``comment``); assigning someone else, or taking a group from its assignee, needs
``assign_queue`` (reviewers, publishers, admins). Each assignment and unassignment is an
audit event (``assign_unanswered``, ``unassign_unanswered``) naming the group and who.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.embedders.base import EmbeddingBackend
from kb.errors import InvalidInput, NotFound
from kb.quality import assignments, unanswered
from kb.quality.unanswered import QuestionGroup
from kb.store.tables import Article, User
from review import audit
from review.locking import lock_for_write
from review.permissions import Action, authorize, find_user, user_may

ASSIGN_ACTION, UNASSIGN_ACTION = "assign_unanswered", "unassign_unanswered"


def list_groups(
    session: Session, actor: str, backend: EmbeddingBackend | None, *, mine: bool = False
) -> list[QuestionGroup]:
    """The queue: unanswered questions not dealt with, grouped, largest first (``mine``:
    only the groups assigned to ``actor``)."""
    authorize(session, actor, Action.VIEW_DRAFTS)
    groups = unanswered.unanswered(session, backend)
    return [g for g in groups if g.assignee == actor] if mine else groups


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


def assign(
    session: Session,
    actor: str,
    group_id: str,
    assignee: str,
    backend: EmbeddingBackend | None,
) -> QuestionGroup:
    """Give the group to ``assignee`` (an enabled user who may resolve it), replacing any
    assignee; audited."""
    lock_for_write(session)
    current = assignments.assignee_of(session, group_id)
    taking = assignee == actor and current in (None, actor)
    authorize(session, actor, Action.COMMENT if taking else Action.ASSIGN_QUEUE)
    user = find_user(session, assignee)
    if user is None or user.disabled or not user_may(user, Action.COMMENT):
        raise InvalidInput(
            f"'{assignee}' cannot be assigned: not an enabled user who may work the queue"
        )
    group = find_group(session, actor, group_id, backend)
    if current == assignee:
        raise InvalidInput(f"unanswered group '{group_id}' is already assigned to {assignee}")
    assignments.assign(session, group.id, assignee, actor)
    note = f"group {group.id} to {assignee}" + (f" (was {current})" if current else "")
    audit.append(session, audit.Event(actor=actor, action=ASSIGN_ACTION, comment=note))
    group.assignee = assignee
    return group


def unassign(
    session: Session, actor: str, group_id: str, backend: EmbeddingBackend | None
) -> QuestionGroup:
    """Remove the group's assignee (one's own with ``comment``, another's with
    ``assign_queue``); audited. InvalidInput if it has none."""
    lock_for_write(session)
    current = assignments.assignee_of(session, group_id)
    authorize(session, actor, Action.COMMENT if current == actor else Action.ASSIGN_QUEUE)
    group = find_group(session, actor, group_id, backend)
    if current is None:
        raise InvalidInput(f"unanswered group '{group_id}' is not assigned to anyone")
    assignments.unassign(session, group.id)
    note = f"group {group.id} from {current}"
    audit.append(session, audit.Event(actor=actor, action=UNASSIGN_ACTION, comment=note))
    group.assignee = None
    return group


def assignable(session: Session, actor: str) -> list[str]:
    """The names of the enabled users a group can be assigned to (who may resolve it)."""
    authorize(session, actor, Action.VIEW_DRAFTS)
    users = session.scalars(select(User).where(User.disabled.is_(False)).order_by(User.name))
    return [u.name for u in users if user_may(u, Action.COMMENT)]
