"""What editors look at: the review queue, an article's history, stale articles.

Reading drafts and the audit trail needs a role beyond agent (``view_drafts``);
refusals are audited like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kb.errors import InvalidInput
from kb.model import State
from kb.quality import contradictions
from kb.store.articles import get_article
from kb.store.tables import ArticleVersion, ReviewComment
from review import audit
from review.permissions import Action, authorize
from review.versions import version_dict, versions_of


def review_queue(
    session: Session, actor: str, state: State = State.IN_REVIEW
) -> list[dict[str, Any]]:
    """Versions waiting in ``state`` (in review, or approved awaiting publication), oldest
    first, each with whether the actor may act on it (four-eyes)."""
    user = authorize(session, actor, Action.VIEW_DRAFTS)
    rows = session.scalars(
        select(ArticleVersion)
        .where(ArticleVersion.state == str(state))
        .order_by(ArticleVersion.updated_at, ArticleVersion.id)
    )
    queue = []
    for row in rows:
        item = version_dict(row)
        item["submitted_by"] = row.updated_by
        own = user.name in (row.editors or [])
        item["you_may_review"] = not own
        item["note"] = "you edited it (four-eyes: someone else reviews)" if own else ""
        queue.append(item)
    return queue


@dataclass
class History:
    """An article's story: its versions with their comments, and its audit events."""

    article_id: str
    versions: list[dict[str, Any]]
    events: list[dict[str, Any]]


def article_history(session: Session, actor: str, article_id: str) -> History:
    """Every version (with review comments) and every audit event of an article."""
    authorize(session, actor, Action.VIEW_DRAFTS, article_id=article_id)
    rows = versions_of(session, article_id)
    if not rows:
        get_article(session, article_id)  # raises NotFound
    comments: dict[int, list[dict[str, Any]]] = {row.id: [] for row in rows}
    for c in session.scalars(
        select(ReviewComment)
        .where(ReviewComment.version_id.in_(list(comments)))
        .order_by(ReviewComment.id)
    ):
        comments[c.version_id].append(
            {"author": c.author, "kind": c.kind, "created_at": c.created_at, "body": c.body}
        )
    versions = [{**version_dict(row), "comments": comments[row.id]} for row in rows]
    events = [audit.event_dict(e) for e in audit.article_events(session, article_id)]
    return History(article_id, versions, events)


def stale_articles(
    session: Session,
    actor: str,
    days: int = 30,
    today: date | None = None,
    owners: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """Published articles past ``review_due``, expired, or expiring within ``days``; with
    ``owners``, only those whose owner is one of them (ignoring case)."""
    authorize(session, actor, Action.VIEW_DRAFTS)
    if days < 0:
        raise InvalidInput(f"--days must be 0 or more, got {days}")
    today = today or date.today()
    horizon = today + timedelta(days=days)
    query = (
        select(ArticleVersion)
        .where(ArticleVersion.state == str(State.PUBLISHED))
        .order_by(ArticleVersion.article_id)
    )
    wanted = [o.strip().lower() for o in owners if o.strip()]
    if wanted:
        query = query.where(func.lower(ArticleVersion.owner).in_(wanted))
    rows = session.scalars(query)
    stale = []
    for row in rows:
        reasons = _stale_reasons(row, today, horizon)
        if reasons:
            stale.append({**version_dict(row), "owner": row.owner, "reasons": reasons})
    return stale


def stale_digest(stale: list[dict[str, Any]], today: date, days: int) -> str:
    """A plain-text digest of ``stale_articles`` grouped by owner, for a mail from cron."""
    lines = [
        f"kb: articles to review or renew, {today.isoformat()} "
        f"(review due, expired, or expiring within {days} days)",
    ]
    by_owner: dict[str, list[dict[str, Any]]] = {}
    for item in stale:
        by_owner.setdefault(item["owner"] or "(no owner)", []).append(item)
    for owner in sorted(by_owner):
        items = by_owner[owner]
        lines += ["", f"{owner}: {len(items)} article(s)"]
        lines += [
            f"  - {i['article_id']} v{i['version']} {i['title']}: {'; '.join(i['reasons'])}"
            for i in items
        ]
    if not stale:
        lines += ["", "Nothing is due."]
    return "\n".join(lines) + "\n"


def _stale_reasons(row: ArticleVersion, today: date, horizon: date) -> list[str]:
    reasons = []
    if row.review_due and row.review_due <= today:
        reasons.append(f"review due {row.review_due.isoformat()}")
    if row.effective_to and row.effective_to < today:
        reasons.append(f"expired {row.effective_to.isoformat()}")
    elif row.effective_to and row.effective_to <= horizon:
        left = (row.effective_to - today).days
        reasons.append(f"expires {row.effective_to.isoformat()} (in {left} days)")
    return reasons


def version_conflicts(
    session: Session, actor: str, article_id: str, version: int | None = None
) -> list[dict[str, Any]]:
    """What a version (default: the newest) contradicts among the published articles
    of others, both sentences side by side (``kb.quality.contradictions``)."""
    authorize(session, actor, Action.VIEW_DRAFTS, article_id=article_id)
    if version is None:
        version = get_article(session, article_id).latest_version
    return [c.as_dict() for c in contradictions.version_conflicts(session, article_id, version)]


def published_conflicts(session: Session, actor: str) -> list[dict[str, Any]]:
    """Every contradiction between two published articles."""
    authorize(session, actor, Action.READ)
    return [c.as_dict() for c in contradictions.all_conflicts(session)]
