"""Choosing one article by typing part of its id or title: what the app's article pickers
(editor, history, golden questions, resolving an unanswered group) ask the database.

Only one page of matches (``PICKER_LIMIT``, newest version of each article, by id) is
read, with the number of all matches, so a picker costs the same at 10 or 10,000
articles (``benchmarks/article_picker.py``). ``published=True`` picks among published
versions only. The ids in ``include`` (the current choice, a linked article) are always
in the answer when they exist, so a choice never disappears from its picker.
``pick_open_versions`` does the same for the versions not yet published (the hit test).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from kb.errors import InvalidInput
from kb.model import State
from kb.store.tables import Article, ArticleVersion
from review.permissions import Action, authorize
from review.states import OPEN_STATES

PICKER_LIMIT = 50
MAX_QUERY_CHARS = 200
LIKE_ESCAPE = "!"


@dataclass(frozen=True)
class Choice:
    """One article a picker offers: its id, title and the state of the version shown."""

    article_id: str
    title: str
    state: str


@dataclass(frozen=True)
class Choices:
    """A page of matches (by id) and how many articles match in all."""

    items: dict[str, Choice]
    total: int


def _versions(published: bool) -> Select[str, str, str]:
    query = select(ArticleVersion.article_id, ArticleVersion.title, ArticleVersion.state)
    if published:
        return query.where(ArticleVersion.state == str(State.PUBLISHED))
    return query.join(Article, Article.id == ArticleVersion.article_id).where(
        ArticleVersion.version == Article.latest_version
    )


def _like(text: str) -> str:
    escaped = text.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%{escaped}%"


def _matching(text: str) -> list[ColumnElement[bool]]:
    words = text.strip().lower()
    if not words:
        return []
    pattern = _like(words)
    return [
        or_(
            func.lower(ArticleVersion.article_id).like(pattern, escape=LIKE_ESCAPE),
            func.lower(ArticleVersion.title).like(pattern, escape=LIKE_ESCAPE),
        )
    ]


def pick_articles(
    session: Session,
    actor: str,
    text: str = "",
    *,
    published: bool = False,
    include: Iterable[str] = (),
    limit: int = PICKER_LIMIT,
) -> Choices:
    """Articles whose id or title contains ``text`` (any case), at most ``limit``, by id,
    plus those of ``include`` that exist; drafts need an editing role, published ones
    any role that reads."""
    authorize(session, actor, Action.READ if published else Action.VIEW_DRAFTS)
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidInput(f"search at most {MAX_QUERY_CHARS} characters")
    if not 1 <= limit <= 500:
        raise InvalidInput("a picker shows 1 to 500 articles")
    base = _versions(published)
    where = _matching(text)
    rows = session.execute(base.where(*where).order_by(ArticleVersion.article_id).limit(limit))
    items = {a: Choice(a, title, state) for a, title, state in rows}
    wanted = [a for a in dict.fromkeys(include) if a and a not in items]
    if wanted:
        extra = session.execute(base.where(ArticleVersion.article_id.in_(wanted)))
        items.update({a: Choice(a, title, state) for a, title, state in extra})
    total = session.scalar(select(func.count()).select_from(base.where(*where).subquery()))
    return Choices(items, int(total or 0))


def pick_open_versions(
    session: Session, actor: str, text: str = "", *, limit: int = PICKER_LIMIT
) -> tuple[list[ArticleVersion], int]:
    """Versions not yet published (draft, in review, approved) whose article id or title
    contains ``text``, at most ``limit`` by id and version, and how many match in all."""
    authorize(session, actor, Action.VIEW_DRAFTS)
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidInput(f"search at most {MAX_QUERY_CHARS} characters")
    where = [ArticleVersion.state.in_([str(s) for s in OPEN_STATES]), *_matching(text)]
    rows = session.scalars(
        select(ArticleVersion)
        .where(*where)
        .order_by(ArticleVersion.article_id, ArticleVersion.version)
        .limit(limit)
    ).all()
    total = session.scalar(select(func.count()).select_from(ArticleVersion).where(*where))
    return list(rows), int(total or 0)
