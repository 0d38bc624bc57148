"""Writing drafts: create an article, save its draft, start a new draft from a version.

Every edit makes a new version or changes the article's one draft; submitted
versions never change. Saving is an optimistic check: the caller says which
version (and, for a draft, which revision) they edited; if someone saved or
submitted meanwhile, the save fails with ``Conflict`` naming who and when, and
nothing is merged.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from kb.errors import Conflict
from kb.model import ArticleContent, State
from kb.store.articles import add_version, create_article, to_content, update_draft
from kb.store.tables import ArticleVersion
from review import audit
from review.locking import lock_article, lock_for_write
from review.permissions import Action, authorize
from review.versions import (
    created_event,
    describe_change,
    find_draft,
    find_version,
    label,
    versions_of,
)


def create_draft(
    session: Session, actor: str, content: ArticleContent, source: str = ""
) -> ArticleVersion:
    """Create a new article as version 1, a draft (author or admin)."""
    user = authorize(session, actor, Action.CREATE, article_id=content.id)
    content.validate()
    lock_for_write(session)
    row = create_article(session, content, user.name, source)
    audit.append(session, created_event(row, user.name, Action.CREATE))
    return row


def new_draft(
    session: Session,
    actor: str,
    article_id: str,
    content: ArticleContent | None = None,
    *,
    from_version: int | None = None,
) -> ArticleVersion:
    """Start a new draft version based on ``from_version`` (default: the newest version).

    Its content is ``content`` or a copy of the base. This is how a published
    article is edited and how a rejected version goes back to draft. Conflict
    when the article already has a draft (edit that one instead).
    """
    user = authorize(session, actor, Action.EDIT, article_id=article_id)
    article = lock_article(session, article_id)
    rows = versions_of(session, article_id)
    _refuse_second_draft(rows)
    base = find_version(rows, from_version) if from_version is not None else rows[-1]
    row = add_version(session, article, content or to_content(base), user.name, base=base)
    event = created_event(row, user.name, Action.EDIT, f"new draft based on version {base.version}")
    audit.append(session, event)
    return row


def _refuse_second_draft(rows: list[ArticleVersion]) -> None:
    draft = find_draft(rows)
    if draft is not None:
        raise Conflict(
            f"{label(draft)} is already a draft (revision {draft.revision}, last saved "
            f"{describe_change(draft)}); edit that draft instead"
        )


def save_draft(
    session: Session,
    actor: str,
    content: ArticleContent,
    *,
    expected_version: int | None = None,
    expected_revision: int | None = None,
) -> ArticleVersion:
    """Save an edit of article ``content.id`` made against a version and revision.

    If the article has a draft, that draft is changed in place, provided its
    revision is still ``expected_revision`` (required). Otherwise a new draft
    version is added on top of the newest version, provided that is still
    ``expected_version`` (when given) and no ``expected_revision`` was given (a
    revision means "I edited a draft", and that draft has been submitted
    meanwhile). Conflict names who changed what.
    """
    user = authorize(session, actor, Action.EDIT, article_id=content.id)
    content.validate()
    article = lock_article(session, content.id)
    rows = versions_of(session, content.id)
    draft = find_draft(rows)
    target = draft if draft is not None else rows[-1]
    if expected_version is not None and expected_version != target.version:
        edited = find_version(rows, expected_version)
        raise Conflict(
            f"{label(edited)} is {edited.state} (changed {describe_change(edited)}); the article "
            f"moved on to version {target.version} ({target.state}, {describe_change(target)}). "
            "Reload it and apply your edit again"
        )
    if draft is None:
        return _draft_from_edit(session, user.name, article, rows[-1], content, expected_revision)
    if expected_revision is None:
        raise Conflict(
            f"{label(draft)} is a draft at revision {draft.revision} (last saved "
            f"{describe_change(draft)}); say which revision you edited"
        )
    before = draft.content_hash
    row = update_draft(session, draft, content, user.name, expected_revision)
    if row.content_hash != before:
        audit.append(
            session,
            audit.Event(
                actor=user.name,
                action=Action.EDIT,
                article_id=row.article_id,
                version=row.version,
                from_state=State.DRAFT,
                to_state=State.DRAFT,
                comment=f"saved revision {row.revision}",
                content_hash=row.content_hash,
            ),
        )
    return row


def _draft_from_edit(session, actor, article, base, content, expected_revision):
    """A new draft from an edit of the newest version, which is not a draft."""
    if expected_revision is not None:
        raise Conflict(
            f"the draft you edited (revision {expected_revision}) is no longer a draft: "
            f"{label(base)} is {base.state} ({describe_change(base)}); reload it and start a "
            "new draft"
        )
    row = add_version(session, article, content, actor, base=base)
    comment = f"new draft based on version {base.version}"
    audit.append(session, created_event(row, actor, Action.EDIT, comment))
    return row
