"""The article list editors work from: filters, text search, counts per state, paging.

Each article is listed once, by its newest version (its open draft or review, else what
is published). Filters run in SQL so the list stays fast at 10,000 articles
(``benchmarks/article_list.py``): state, type, audience, owner, tag, language, review
due or overdue, expiring within N days, words in the title, question or body; and three
views of the work waiting: "my drafts", "waiting for my review" (in review, and the
actor edited none of it: four-eyes), "approved, waiting to publish".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, cast, func, not_, or_, select
from sqlalchemy.orm import Session

from kb.errors import InvalidInput
from kb.model import State
from kb.store.tables import Article, ArticleVersion, ScheduledPublication
from review.permissions import Action, authorize, user_may
from review.schedule import PENDING

MAX_PAGE = 200
LIKE_ESCAPE = "!"


class View(StrEnum):
    """The work views: everything, or what waits for the acting user."""

    ALL = "all"
    MY_DRAFTS = "my_drafts"
    MY_REVIEW = "my_review"
    TO_PUBLISH = "to_publish"


@dataclass(frozen=True)
class ArticleFilter:
    """What to list; empty fields do not filter."""

    view: View = View.ALL
    state: str = ""
    type: str = ""
    audience: str = ""
    owner: str = ""
    tag: str = ""
    lang: str = ""
    text: str = ""
    review_due_within: int | None = None  # 0: overdue (due today or before)
    expiring_within: int | None = None  # in force now, ending within N days


@dataclass(frozen=True)
class ArticlePage:
    """One page of the list, how many match in all, and the count per state."""

    rows: list[dict[str, Any]]
    total: int
    counts: dict[str, int]
    offset: int
    limit: int


def _like(text: str) -> str:
    escaped = text.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%{escaped}%"


def _contains(column: Any, value: str) -> ColumnElement[bool]:
    """A JSON list column holds ``value`` (as stored: ``json.dumps``)."""
    return cast(column, String).like(_like(json.dumps(value)), escape=LIKE_ESCAPE)


def _validate(f: ArticleFilter) -> None:
    for name in ("review_due_within", "expiring_within"):
        days = getattr(f, name)
        if days is not None and not 0 <= days <= 3660:
            raise InvalidInput(f"{name} must be between 0 and 3660 days, got {days}")
    if f.state and f.state not in {str(s) for s in State}:
        raise InvalidInput(f"unknown state {f.state!r}")


def _view(f: ArticleFilter, actor: str) -> list[ColumnElement[bool]]:
    v = ArticleVersion
    if f.view == View.MY_DRAFTS:
        return [v.state == str(State.DRAFT), _contains(v.editors, actor)]
    if f.view == View.MY_REVIEW:
        return [v.state == str(State.IN_REVIEW), not_(_contains(v.editors, actor))]
    if f.view == View.TO_PUBLISH:
        return [v.state == str(State.APPROVED)]
    return []


def _conditions(f: ArticleFilter, actor: str, today: date) -> list[ColumnElement[bool]]:
    """Every filter except the state (counts per state ignore it)."""
    v = ArticleVersion
    found = _view(f, actor)
    for column, value in ((Article.type, f.type), (v.audience, f.audience), (v.lang, f.lang)):
        if value:
            found.append(column == value)
    if f.owner:
        found.append(func.lower(v.owner) == f.owner.strip().lower())
    if f.tag:
        found.append(_contains(v.tags, f.tag.strip()))
    if f.text.strip():
        pattern = _like(f.text.strip().lower())
        found.append(
            or_(
                *(
                    func.lower(column).like(pattern, escape=LIKE_ESCAPE)
                    for column in (v.title, v.question, v.body, v.article_id)
                )
            )
        )
    if f.review_due_within is not None:
        found.append(v.review_due <= today + timedelta(days=f.review_due_within))
    if f.expiring_within is not None:
        horizon = today + timedelta(days=f.expiring_within)
        found.append(and_(v.effective_to >= today, v.effective_to <= horizon))
    return found


def _newest(*columns: Any) -> Select[Any]:
    """Each article's newest version (with ``columns``, default the version row)."""
    return select(*(columns or (ArticleVersion,))).join(
        Article,
        and_(
            Article.id == ArticleVersion.article_id,
            ArticleVersion.version == Article.latest_version,
        ),
    )


def list_articles(
    session: Session,
    actor: str,
    f: ArticleFilter,
    *,
    offset: int = 0,
    limit: int = 50,
    today: date | None = None,
) -> ArticlePage:
    """One page of the articles matching ``f`` (newest change first) with the totals."""
    user = authorize(session, actor, Action.VIEW_DRAFTS)
    _validate(f)
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise InvalidInput(f"a page holds 1 to {MAX_PAGE} articles from offset 0 or more")
    if f.view == View.MY_REVIEW and not user_may(user, Action.APPROVE):
        return ArticlePage([], 0, {}, offset, limit)  # nothing waits for a non-reviewer
    today = today or date.today()
    conditions = _conditions(f, user.name, today)
    counts = _counts(session, conditions)
    if f.state:
        conditions.append(ArticleVersion.state == f.state)
    total = session.scalar(
        select(func.count()).select_from(_newest().where(*conditions).subquery())
    )
    rows = session.execute(
        _newest(ArticleVersion, Article.type)
        .where(*conditions)
        .order_by(ArticleVersion.updated_at.desc(), ArticleVersion.article_id)
        .offset(offset)
        .limit(limit)
    ).all()
    page = [_row(r, kind, today) for r, kind in rows]
    _add_schedules(session, page)
    return ArticlePage(page, int(total or 0), counts, offset, limit)


def _add_schedules(session: Session, rows: list[dict[str, Any]]) -> None:
    """Set each row's ``scheduled_at``: when the pending scheduled publication of that
    very version, still approved, is due (None otherwise)."""
    ids = [r["article_id"] for r in rows]
    found = {
        (a, v): at
        for a, v, at in session.execute(
            select(
                ScheduledPublication.article_id,
                ScheduledPublication.version,
                ScheduledPublication.publish_at,
            ).where(
                ScheduledPublication.article_id.in_(ids),
                ScheduledPublication.status == PENDING,
            )
        ).all()
    }
    for row in rows:
        approved = row["state"] == str(State.APPROVED)
        at = found.get((row["article_id"], row["version"])) if approved else None
        row["scheduled_at"] = at.replace(tzinfo=UTC) if at and at.tzinfo is None else at


def _counts(session: Session, conditions: list[ColumnElement[bool]]) -> dict[str, int]:
    query = (
        _newest(ArticleVersion.state, func.count())
        .where(*conditions)
        .group_by(ArticleVersion.state)
    )
    return {state: int(n) for state, n in session.execute(query).all()}


def _row(row: ArticleVersion, kind: str, today: date) -> dict[str, Any]:
    overdue = row.review_due is not None and row.review_due <= today
    return {
        "article_id": row.article_id,
        "title": row.title,
        "type": kind,
        "state": row.state,
        "version": row.version,
        "audience": row.audience,
        "lang": row.lang,
        "owner": row.owner,
        "tags": list(row.tags or []),
        "review_due": row.review_due,
        "review_overdue": overdue,
        "effective_to": row.effective_to,
        "updated_by": row.updated_by,
        "updated_at": row.updated_at,
    }
