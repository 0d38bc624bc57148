"""The editor's autosave: a user's unsaved form, kept server-side between page runs.

The app writes the form here as the user types (``keep``) and reads it back when the
editor opens in a new browser session (``restore``), so a reload, a new tab or a
closed laptop loses nothing. It is not a version: nothing is validated, reviewed or
audited until the user saves the form as a draft, which clears it (``discard``).
One autosave per user: the form they were last working on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from kb.errors import InvalidInput
from kb.store.articles import utcnow
from kb.store.tables import EditorAutosave
from review.permissions import Action, authorize

MAX_FORM_CHARS = 2_000_000  # the article size limit is far lower; this only bounds junk


@dataclass(frozen=True)
class Autosave:
    """An unsaved form: field values, the version it was loaded from, when it was kept."""

    form: dict[str, Any]
    base: dict[str, Any] | None
    updated_at: datetime


def keep(session: Session, actor: str, form: dict[str, Any], base: dict[str, Any] | None) -> None:
    """Store ``actor``'s unsaved form (replacing the previous one); authors and admins."""
    authorize(session, actor, Action.EDIT)
    if len(repr(form)) > MAX_FORM_CHARS:
        raise InvalidInput("the unsaved form is too large to keep")
    row = session.get(EditorAutosave, actor)
    if row is None:
        row = EditorAutosave(user_name=actor, form=form, base=base, updated_at=utcnow())
        session.add(row)
        return
    row.form, row.base, row.updated_at = form, base, utcnow()


def restore(session: Session, actor: str) -> Autosave | None:
    """``actor``'s unsaved form, if any."""
    authorize(session, actor, Action.EDIT)
    row = session.get(EditorAutosave, actor)
    if row is None:
        return None
    return Autosave(dict(row.form), dict(row.base) if row.base else None, row.updated_at)


def discard(session: Session, actor: str) -> bool:
    """Forget ``actor``'s unsaved form; True if there was one."""
    authorize(session, actor, Action.EDIT)
    row = session.get(EditorAutosave, actor)
    if row is None:
        return False
    session.delete(row)
    return True
