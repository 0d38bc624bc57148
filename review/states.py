"""The lifecycle of one article version: which action moves which state where.

::

    draft --submit--> in_review --approve--> approved --publish--> published --archive--> archived
                          |                                            |
                          +--reject--> rejected                        +--(a newer version is
                                                                           published)--> superseded

A version is immutable once submitted: only a draft's content changes. A
rejected version stays rejected with its comments; "back to draft" is a new
draft version based on it (``review.editing.new_draft``), as is every edit of
a published article. Rollback republishes an earlier version's content as a
new version that enters review (``review.workflow.rollback``). An import by
an admin may publish a draft directly (``bootstrap_publish``), recorded as such.

Rules across the versions of one article: at most one draft and at most one
published version at a time; a version older than the last one ever published
cannot be published (roll back instead).
"""

from __future__ import annotations

from kb.errors import Conflict
from kb.model import EVER_PUBLISHED as EVER_PUBLISHED  # re-exported: the lifecycle's facts
from kb.model import State
from review.permissions import Action

TRANSITIONS: dict[tuple[State, Action], State] = {
    (State.DRAFT, Action.SUBMIT): State.IN_REVIEW,
    (State.IN_REVIEW, Action.APPROVE): State.APPROVED,
    (State.IN_REVIEW, Action.REJECT): State.REJECTED,
    (State.APPROVED, Action.PUBLISH): State.PUBLISHED,
    (State.DRAFT, Action.BOOTSTRAP_PUBLISH): State.PUBLISHED,
    (State.PUBLISHED, Action.ARCHIVE): State.ARCHIVED,
}
# Moved by the system, not by an action of their own: publishing another version.
SUPERSEDE = (State.PUBLISHED, State.SUPERSEDED)
# States in which a version is still on its way to publication.
OPEN_STATES = frozenset({State.DRAFT, State.IN_REVIEW, State.APPROVED})


def next_state(current: str, action: Action, label: str) -> State:
    """The state ``action`` moves a version in ``current`` to, or Conflict naming why not.

    ``label`` names the version in the message (e.g. "article 'x' version 3").
    """
    target = TRANSITIONS.get((State(current), action))
    if target is None:
        allowed = sorted(s.value for (s, a) in TRANSITIONS if a == action)
        needed = " or ".join(allowed)
        raise Conflict(f"{label} is {current}; {action} needs a version that is {needed}")
    return target


# Actions that create a version, and the state the new version starts in.
NEW_VERSION = {
    Action.CREATE: State.DRAFT,
    Action.EDIT: State.DRAFT,
    Action.IMPORT: State.DRAFT,
    Action.ROLLBACK: State.IN_REVIEW,
}
# Actions that change a draft in place.
DRAFT_SAVES = frozenset({Action.EDIT, Action.IMPORT})


def is_legal(from_state: str | None, to_state: str, action: str) -> bool:
    """True when an audited move (from, to, action) is allowed by the lifecycle.

    Used to check the audit trail (tests, consistency checks).
    """
    try:
        act = Action(action)
        source = State(from_state) if from_state is not None else None
        target = State(to_state)
    except ValueError:
        return False
    if source is None:
        return NEW_VERSION.get(act) == target
    if (source, target) == SUPERSEDE:
        return act in (Action.PUBLISH, Action.BOOTSTRAP_PUBLISH)
    if source == target == State.DRAFT:
        return act in DRAFT_SAVES
    return TRANSITIONS.get((source, act)) == target
