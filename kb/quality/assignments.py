"""Who works on which unanswered-question group: the rows of ``unanswered_assignments``.

Storage only; who may assign whom is ``review.queue``'s rule. A group is known by
``kb.quality.unanswered.QuestionGroup.id``; it has at most one assignee.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kb.store.articles import utcnow
from kb.store.tables import UnansweredAssignment


def assignees(session: Session) -> dict[str, str]:
    """Each assigned group id with its assignee."""
    rows = session.execute(select(UnansweredAssignment.group_id, UnansweredAssignment.assignee))
    return {str(group_id): str(assignee) for group_id, assignee in rows}


def assignee_of(session: Session, group_id: str) -> str | None:
    """The group's assignee, or None."""
    row = session.get(UnansweredAssignment, group_id, populate_existing=True)
    return row.assignee if row is not None else None


def assign(session: Session, group_id: str, assignee: str, by: str) -> str | None:
    """Give the group to ``assignee`` (replacing any assignee); the previous assignee."""
    row = session.get(UnansweredAssignment, group_id, populate_existing=True)
    previous = row.assignee if row is not None else None
    if row is None:
        row = UnansweredAssignment(group_id=group_id)
        session.add(row)
    row.assignee, row.assigned_by, row.assigned_at = assignee, by, utcnow()
    session.flush()
    return previous


def unassign(session: Session, group_id: str) -> str | None:
    """Remove the group's assignee; the one removed, or None if it had none."""
    previous = assignee_of(session, group_id)
    if previous is not None:
        session.execute(
            delete(UnansweredAssignment).where(UnansweredAssignment.group_id == group_id)
        )
    return previous
