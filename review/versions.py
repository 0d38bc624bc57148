"""Helpers shared by the review actions: loading an article's versions fresh, picking
the one an action applies to, and describing versions in audit events and output."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.errors import Conflict, NotFound
from kb.model import State
from kb.store.articles import utcnow
from kb.store.tables import ArticleVersion, ReviewComment
from review import audit


def versions_of(session: Session, article_id: str) -> list[ArticleVersion]:
    """Every version of an article, oldest first, re-read from the database."""
    return list(
        session.scalars(
            select(ArticleVersion)
            .where(ArticleVersion.article_id == article_id)
            .order_by(ArticleVersion.version)
            .execution_options(populate_existing=True)
        )
    )


def label(row: ArticleVersion) -> str:
    """'article 'x' version 3', for messages."""
    return f"article '{row.article_id}' version {row.version}"


def find_version(rows: list[ArticleVersion], version: int) -> ArticleVersion:
    """The row of ``version`` among ``rows``, or NotFound."""
    for row in rows:
        if row.version == version:
            return row
    article_id = rows[0].article_id if rows else "?"
    raise NotFound(f"article '{article_id}' has no version {version}")


def find_draft(rows: list[ArticleVersion]) -> ArticleVersion | None:
    """The article's draft, if it has one (there is at most one)."""
    return next((r for r in reversed(rows) if r.state == State.DRAFT), None)


def published_row(rows: list[ArticleVersion]) -> ArticleVersion | None:
    """The article's published version, if any."""
    return next((r for r in rows if r.state == State.PUBLISHED), None)


def pick(
    rows: list[ArticleVersion], state: State, version: int | None, article_id: str
) -> ArticleVersion:
    """The given version, or else the newest version in ``state`` (Conflict if none)."""
    if version is not None:
        return find_version(rows, version)
    for row in reversed(rows):
        if row.state == state:
            return row
    newest = f"; its newest is version {rows[-1].version} ({rows[-1].state})" if rows else ""
    raise Conflict(f"article '{article_id}' has no version that is {state}{newest}")


def describe_change(row: ArticleVersion) -> str:
    """'by alice at 2026-...': who last changed a version, and when."""
    when = row.updated_at.isoformat(timespec="seconds") if row.updated_at else "an unknown time"
    return f"by {row.updated_by} at {when}"


def move(
    row: ArticleVersion,
    to_state: State,
    actor: str,
    action: str,
    comment: str = "",
) -> audit.Event:
    """Set a version's state and return the audit event describing the move."""
    from_state = row.state
    row.state = str(to_state)
    row.updated_by = actor
    row.updated_at = utcnow()
    return audit.Event(
        actor=actor,
        action=action,
        article_id=row.article_id,
        version=row.version,
        from_state=from_state,
        to_state=str(to_state),
        comment=comment,
        content_hash=row.content_hash,
    )


def created_event(row: ArticleVersion, actor: str, action: str, comment: str = "") -> audit.Event:
    """The audit event of a version that was just created."""
    return audit.Event(
        actor=actor,
        action=action,
        article_id=row.article_id,
        version=row.version,
        from_state=None,
        to_state=row.state,
        comment=comment,
        content_hash=row.content_hash,
    )


def add_comment(
    session: Session, row: ArticleVersion, author: str, body: str, kind: str = "comment"
) -> ReviewComment:
    """Keep a review comment with the version."""
    comment = ReviewComment(
        version_id=row.id, author=author, created_at=utcnow(), kind=kind, body=body
    )
    session.add(comment)
    return comment


def version_dict(row: ArticleVersion) -> dict[str, Any]:
    """A version's lifecycle facts (not its content) as JSON-ready data."""
    return {
        "article_id": row.article_id,
        "version": row.version,
        "state": row.state,
        "revision": row.revision,
        "title": row.title,
        "based_on": row.based_on,
        "editors": list(row.editors or []),
        "created_by": row.created_by,
        "created_at": row.created_at,
        "updated_by": row.updated_by,
        "updated_at": row.updated_at,
        "effective_from": row.effective_from,
        "effective_to": row.effective_to,
        "review_due": row.review_due,
        "content_hash": row.content_hash,
    }
