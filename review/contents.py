"""Checking stored article content against its hashes (part of ``kb audit verify``).

Each version stores ``content_hash``, the SHA-256 of its content and metadata
(``ArticleContent.content_hash``), and every audit event about a version records
the hash the version had at that moment. ``verify_contents`` recomputes every
version's hash from the stored columns and compares it with the stored hash and
with the newest successful audit event about that version, so an edit made
directly in the database is named: one that left ``content_hash`` alone (the
recomputed hash differs) and one that rewrote it too (the audit chain remembers
the hash the version was given through the workflow). Each version's state must be
the one its newest state-changing audit event moved it to, and the article's
published version the one in state ``published``: a draft made "published" directly
(unreviewed text served) is named too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from kb.model import State
from kb.store.articles import to_content
from kb.store.tables import ArticleVersion, AuditEvent


@dataclass
class ContentResult:
    """The outcome of ``verify_contents``: ok, or the first version whose content changed."""

    ok: bool
    checked: int
    article_id: str | None = None
    version: int | None = None
    problem: str = ""


def _newest_audited(session: Session, column: Any) -> dict[tuple[str, int], str]:
    """``{(article, version): value}`` of ``column`` at each version's newest successful
    audit event that records one."""
    query = (
        select(AuditEvent.article_id, AuditEvent.version, column)
        .where(
            AuditEvent.outcome == "ok",
            AuditEvent.article_id.is_not(None),
            AuditEvent.version.is_not(None),
            column.is_not(None),
        )
        .order_by(AuditEvent.seq)
    )
    return {(r[0], r[1]): r[2] for r in session.execute(query)}


def audited_hashes(session: Session) -> dict[tuple[str, int], str]:
    """The content hash each version had at its newest successful audit event."""
    return _newest_audited(session, AuditEvent.content_hash)


def _problem(row: ArticleVersion, audited: str | None) -> str:
    """What is wrong with one stored version ('' if nothing)."""
    name = f"article '{row.article_id}' version {row.version}"
    try:
        recomputed = to_content(row).content_hash()
    except ValueError as exc:  # a type or audience no longer valid
        return f"{name}: its stored content is no longer valid ({exc})"
    if recomputed != row.content_hash:
        return f"{name}: its stored content does not match its content hash (edited directly)"
    if audited is not None and audited != row.content_hash:
        return (
            f"{name}: its content hash is not the one the audit log recorded "
            "(content and hash rewritten directly)"
        )
    return ""


def audited_states(session: Session) -> dict[tuple[str, int], str]:
    """The state each version was moved to by its newest successful audit event that moved
    it (created, saved, submitted, approved, rejected, published, superseded, archived)."""
    return _newest_audited(session, AuditEvent.to_state)


def _state_problem(row: ArticleVersion, audited: str | None) -> str:
    """What is wrong with a version's state or the article's published pointer ('' if
    nothing): a draft made 'published' in the database serves unreviewed text."""
    name = f"article '{row.article_id}' version {row.version}"
    if audited is not None and audited != row.state:
        return (
            f"{name}: its state is {row.state}, but the audit log last moved it to "
            f"{audited} (state changed directly)"
        )
    pointer = row.article.published_version
    if (row.state == State.PUBLISHED) != (pointer == row.version):
        return (
            f"{name}: its state is {row.state}, but the article's published version is "
            f"{pointer if pointer is not None else 'none'} (changed directly)"
        )
    return ""


def verify_contents(session: Session) -> ContentResult:
    """Recompute every version's content hash and check its state against the audit log;
    name the first version that no longer matches."""
    audited = audited_hashes(session)
    states = audited_states(session)
    query = (
        select(ArticleVersion)
        .options(joinedload(ArticleVersion.article))
        .order_by(ArticleVersion.article_id, ArticleVersion.version)
        .execution_options(yield_per=1000)
    )
    checked = 0
    for row in session.scalars(query):
        key = (row.article_id, row.version)
        problem = _problem(row, audited.get(key)) or _state_problem(row, states.get(key))
        if problem:
            return ContentResult(False, checked, row.article_id, row.version, problem)
        checked += 1
    return ContentResult(True, checked)
