"""The review transitions: submit, approve, reject, publish, archive, roll back, comment.

Each function takes the caller's session and the acting user's name, checks
the user's roles (``review.permissions``), locks the article, moves the
version (``review.states``) and appends the audit event, all in the caller's
transaction. Publishing and archiving also write the ``IndexEvent`` outbox
rows in that transaction (``kb.store.outbox``). Drafts are written by
``review.editing``; imports by ``review.importing``.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from kb.errors import Conflict, InvalidInput
from kb.model import State
from kb.quality.golden_check import CheckerFactory
from kb.store import outbox
from kb.store.articles import add_version, to_content
from kb.store.tables import Article, ArticleVersion
from review import audit, feed, golden
from review.locking import lock_article
from review.permissions import Action, authorize, check_four_eyes
from review.states import EVER_PUBLISHED, next_state
from review.versions import (
    add_comment,
    created_event,
    find_version,
    label,
    move,
    pick,
    published_row,
    versions_of,
)


def _transition(
    session: Session,
    actor: str,
    action: Action,
    article_id: str,
    state: State,
    version: int | None,
    comment: str,
) -> ArticleVersion:
    """Authorize, lock, pick the version, check four-eyes, move it and audit the move."""
    user = authorize(session, actor, action, article_id=article_id)
    lock_article(session, article_id)
    rows = versions_of(session, article_id)
    row = pick(rows, state, version, article_id)
    target = next_state(row.state, action, label(row))
    if action == Action.SUBMIT:
        _refuse_unchanged(rows, row, article_id)
    check_four_eyes(session, user, action, row)
    if comment:
        add_comment(session, row, user.name, comment, kind=str(action))
    audit.append(session, move(row, target, user.name, action, comment))
    return row


def submit(
    session: Session, actor: str, article_id: str, comment: str = "", version: int | None = None
) -> ArticleVersion:
    """Submit the article's draft for review (author or admin); it is immutable from now on.

    A draft whose content is exactly that of the published version is refused: there is
    nothing to review, and publishing it would only add an identical version."""
    return _transition(session, actor, Action.SUBMIT, article_id, State.DRAFT, version, comment)


def _refuse_unchanged(rows: list[ArticleVersion], draft: ArticleVersion, article_id: str) -> None:
    published = next((r for r in reversed(rows) if r.state == State.PUBLISHED), None)
    if published is not None and draft.content_hash == published.content_hash:
        raise InvalidInput(
            f"article '{article_id}' version {draft.version} is identical to the published "
            f"version {published.version}: nothing to review (change it, or leave it as a draft)"
        )


def approve(
    session: Session, actor: str, article_id: str, version: int | None = None, comment: str = ""
) -> ArticleVersion:
    """Approve a version in review (default: the newest); never one the actor edited."""
    return _transition(
        session, actor, Action.APPROVE, article_id, State.IN_REVIEW, version, comment
    )


def reject(
    session: Session, actor: str, article_id: str, comment: str, version: int | None = None
) -> ArticleVersion:
    """Reject a version in review with a reason (kept with the version)."""
    if not comment.strip():
        raise InvalidInput("say why the version is rejected (--comment)")
    return _transition(session, actor, Action.REJECT, article_id, State.IN_REVIEW, version, comment)


def publish(
    session: Session,
    actor: str,
    article_id: str,
    version: int | None = None,
    comment: str = "",
    override_golden: str = "",
    importance: str = feed.NORMAL,
    golden_checker: CheckerFactory | None = None,
) -> ArticleVersion:
    """Publish an approved version (default: the newest), superseding the published one.

    The previous version leaves service and the index is told (outbox row), and the
    change feed gets an entry with the publisher's ``importance`` (``normal`` or
    ``must_read``, ``review.feed``), in the same transaction. A version that would break
    a golden answer is refused (``Conflict`` naming the questions) unless
    ``override_golden`` gives a reason, which is audited (``review.golden.gate``); the
    check runs with ``golden_checker`` (the front end's runtime's; None: no check).
    """
    importance = feed.parse_importance(importance)
    user = authorize(session, actor, Action.PUBLISH, article_id=article_id)
    article = lock_article(session, article_id)
    rows = versions_of(session, article_id)
    row = pick(rows, State.APPROVED, version, article_id)
    next_state(row.state, Action.PUBLISH, label(row))
    newest_published = max((r.version for r in rows if r.state in EVER_PUBLISHED), default=0)
    if row.version < newest_published:
        raise Conflict(
            f"{label(row)} is older than version {newest_published}, which was published; "
            f"to bring its content back, roll back to it (a new version, reviewed again)"
        )
    golden.gate(session, user.name, row, override_golden, golden_checker)
    if comment:
        add_comment(session, row, user.name, comment, kind=str(Action.PUBLISH))
    previous = published_row(rows)
    events = publish_rows(article, previous, row, user.name, Action.PUBLISH, comment)
    audit.append_many(session, events)
    outbox.record_changes(session, [(article_id, outbox.UPSERT, row.version)])
    feed.record_publication(session, user.name, row, previous, importance)
    return row


def publish_rows(
    article: Article,
    previous: ArticleVersion | None,
    row: ArticleVersion,
    actor: str,
    action: Action,
    comment: str = "",
) -> list[audit.Event]:
    """Move ``row`` to published and ``previous`` to superseded; return the audit events."""
    events = []
    if previous is not None and previous is not row:
        note = f"superseded by version {row.version}"
        events.append(move(previous, State.SUPERSEDED, actor, action, note))
    events.append(move(row, State.PUBLISHED, actor, action, comment))
    article.published_version = row.version
    return events


def archive(
    session: Session,
    actor: str,
    article_id: str,
    comment: str = "",
    importance: str = feed.NORMAL,
) -> ArticleVersion:
    """Take the published version out of service (publisher or admin); the change feed
    gets an ``archived`` entry with the given ``importance``."""
    importance = feed.parse_importance(importance)
    user = authorize(session, actor, Action.ARCHIVE, article_id=article_id)
    article = lock_article(session, article_id)
    rows = versions_of(session, article_id)
    row = pick(rows, State.PUBLISHED, None, article_id)
    target = next_state(row.state, Action.ARCHIVE, label(row))
    if comment:
        add_comment(session, row, user.name, comment, kind=str(Action.ARCHIVE))
    audit.append(session, move(row, target, user.name, Action.ARCHIVE, comment))
    article.published_version = None
    outbox.record_changes(session, [(article_id, outbox.REMOVE, None)])
    feed.record_archive(session, user.name, row, importance)
    return row


def rollback(
    session: Session, actor: str, article_id: str, to_version: int, comment: str = ""
) -> ArticleVersion:
    """Bring back an earlier published version's content as a new version in review.

    The new version is based on ``to_version``; it must be approved (by someone
    who edited neither it nor the original) and published like any other.
    """
    user = authorize(session, actor, Action.ROLLBACK, article_id=article_id)
    article = lock_article(session, article_id)
    rows = versions_of(session, article_id)
    source = find_version(rows, to_version)
    if source.state not in EVER_PUBLISHED:
        raise Conflict(
            f"{label(source)} is {source.state}; only a version that was published "
            "can be rolled back to"
        )
    if source.state == State.PUBLISHED:
        raise Conflict(f"{label(source)} is the published version already")
    row = add_version(
        session,
        article,
        to_content(source),
        user.name,
        base=source,
        state=State.IN_REVIEW,
    )
    row.editors = [user.name, *(e for e in source.editors or [] if e != user.name)]
    reason = f"rollback to version {to_version}" + (f": {comment}" if comment else "")
    add_comment(session, row, user.name, reason, kind=str(Action.ROLLBACK))
    audit.append(session, created_event(row, user.name, Action.ROLLBACK, reason))
    return row


def comment(
    session: Session, actor: str, article_id: str, text: str, version: int | None = None
) -> ArticleVersion:
    """Add a review comment to a version (default: the newest), kept with that version."""
    if not text.strip():
        raise InvalidInput("the comment is empty")
    user = authorize(session, actor, Action.COMMENT, article_id=article_id)
    lock_article(session, article_id)
    rows = versions_of(session, article_id)
    row = find_version(rows, version) if version is not None else rows[-1]
    add_comment(session, row, user.name, text)
    audit.append(
        session,
        audit.Event(
            actor=user.name,
            action=Action.COMMENT,
            article_id=article_id,
            version=row.version,
            from_state=row.state,
            comment=text,
            content_hash=row.content_hash,
        ),
    )
    return row
