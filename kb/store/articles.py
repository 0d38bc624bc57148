"""Reading and writing articles and their versions (storage only, no permission checks).

The lifecycle rules and role checks are in ``review``; this module only knows
how versions are stored: a new article starts as version 1 in ``draft``; a
draft may be changed in place, guarded by its ``revision`` (optimistic
locking: a save made against an older revision fails with ``Conflict`` naming
who changed it); any other version is immutable. Article ids are unique ignoring
case. Storing a whole import batch is ``kb.store.batches``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from kb.errors import Conflict, InvalidInput, NotFound
from kb.model import EVER_PUBLISHED, ArticleContent, ArticleType, Audience, State
from kb.store.tables import Article, ArticleVersion
from kb.store.translations import refuse_missing_translations

CONTENT_FIELDS = (
    "title",
    "body",
    "question",
    "similar_questions",
    "lang",
    "tags",
    "audience",
    "owner",
    "effective_from",
    "effective_to",
    "review_due",
    "translation_of",
)


def utcnow() -> datetime:
    """The current time in UTC (timezone-aware)."""
    return datetime.now(UTC)


def to_content(row: ArticleVersion) -> ArticleContent:
    """The editable content of a stored version."""
    return ArticleContent(
        id=row.article_id,
        type=ArticleType(row.article.type),
        title=row.title,
        body=row.body,
        lang=row.lang,
        tags=list(row.tags or []),
        audience=Audience(row.audience),
        owner=row.owner,
        effective_from=row.effective_from,
        effective_to=row.effective_to,
        review_due=row.review_due,
        question=row.question,
        similar_questions=list(row.similar_questions or []),
        translation_of=row.translation_of or "",
    )


def content_columns(content: ArticleContent) -> dict[str, object]:
    """The stored columns of a content (JSON-ready lists, its hash)."""
    values = {f: getattr(content, f) for f in CONTENT_FIELDS}
    values["audience"] = str(content.audience)
    values["tags"] = list(content.tags)
    values["similar_questions"] = list(content.similar_questions)
    values["content_hash"] = content.content_hash()
    return values


def get_article(session: Session, article_id: str) -> Article:
    """The article with this id, or NotFound."""
    article = session.get(Article, article_id)
    if article is None:
        raise NotFound(f"no article '{article_id}'")
    return article


def get_version(session: Session, article_id: str, version: int) -> ArticleVersion:
    """One version of an article, or NotFound."""
    row = session.scalar(
        select(ArticleVersion).where(
            ArticleVersion.article_id == article_id, ArticleVersion.version == version
        )
    )
    if row is None:
        raise NotFound(f"article '{article_id}' has no version {version}")
    return row


def latest_version(session: Session, article_id: str) -> ArticleVersion:
    """The newest version of an article."""
    article = get_article(session, article_id)
    return get_version(session, article_id, article.latest_version)


def _case_twin_message(article_id: str, taken: str, where: str = "") -> str:
    if taken == article_id:
        return f"article '{article_id}' already exists"
    origin = f" ({where})" if where else ""
    return (
        f"article id '{article_id}'{origin} differs only by case from the existing article "
        f"'{taken}'; ids are unique ignoring case: use '{taken}' or another id"
    )


def refuse_taken_ids(session: Session, ids: list[tuple[str, str]]) -> None:
    """Conflict if an existing article has one of these ids, ignoring case.

    ``ids`` are (id, where it comes from, for the message) pairs of new articles.
    """
    wanted = {article_id.lower(): (article_id, where) for article_id, where in ids}
    keys = list(wanted)
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        taken = session.scalar(select(Article.id).where(func.lower(Article.id).in_(chunk)))
        if taken is not None:
            article_id, where = wanted[taken.lower()]
            raise Conflict(_case_twin_message(article_id, taken, where))


def refuse_case_twins(ids: list[tuple[str, str]]) -> None:
    """InvalidInput if two of these (id, where) differ only by case (equal ids are one)."""
    first: dict[str, tuple[str, str]] = {}
    for article_id, where in ids:
        seen = first.setdefault(article_id.lower(), (article_id, where))
        if seen[0] != article_id:
            raise InvalidInput(
                f"article ids '{seen[0]}' ({seen[1]}) and '{article_id}' ({where}) differ "
                "only by case; ids are unique ignoring case"
            )


def create_article(
    session: Session,
    content: ArticleContent,
    actor: str,
    source: str = "",
    *,
    known_new: bool = False,
    flush: bool = True,
) -> ArticleVersion:
    """Store a new article as version 1, a draft.

    ``known_new`` skips the existence check when the caller has made it for a
    whole batch; ``flush=False`` leaves the INSERTs to one flush of the batch.
    """
    content.validate()
    refuse_missing_translations(session, [content])
    if not known_new:
        refuse_taken_ids(session, [(content.id, "")])
    now = utcnow()
    article = Article(
        id=content.id, type=str(content.type), created_at=now, created_by=actor, latest_version=0
    )
    session.add(article)
    return add_version(session, article, content, actor, source=source, flush=flush)


def add_version(
    session: Session,
    article: Article,
    content: ArticleContent,
    actor: str,
    *,
    source: str = "",
    base: ArticleVersion | None = None,
    state: State = State.DRAFT,
    flush: bool = True,
) -> ArticleVersion:
    """Append a new version (a draft by default) to an existing article, based on ``base``.

    Its ``editors`` are the authors of its content (``authors_building_on``). Its
    revision continues the article's highest revision, so a revision number names one
    saved state of one draft: a save made against a draft that was submitted meanwhile
    cannot match a newer draft by accident.
    """
    content.validate()
    refuse_missing_translations(session, [content])
    if str(content.type) != article.type:
        raise InvalidInput(
            f"article '{article.id}' is a {article.type}; its type cannot change to {content.type}"
        )
    revision = 1
    if article.latest_version:
        highest = session.scalar(
            select(func.max(ArticleVersion.revision)).where(ArticleVersion.article_id == article.id)
        )
        revision = (highest or 0) + 1
    now = utcnow()
    article.latest_version += 1
    row = ArticleVersion(
        article=article,
        version=article.latest_version,
        state=str(state),
        revision=revision,
        source=source,
        based_on=base.version if base is not None else None,
        created_by=actor,
        created_at=now,
        updated_by=actor,
        updated_at=now,
        editors=authors_building_on(base, actor),
        **content_columns(content),
    )
    session.add(row)
    if flush:
        session.flush()
    return row


def authors_building_on(base: ArticleVersion | None, actor: str) -> list[str]:
    """Who wrote a new version that ``actor`` makes from ``base``: the four-eyes authors.

    What a reviewer judges is the change since the last published version. A base that
    was published at some point was reviewed (or bootstrap-published) already, so the new
    version's authors are its editors alone. A base that never was (a draft, a version in
    review, approved or rejected) is part of the change under review: its authors stay
    authors of every version built on it, however little the new version changes. So
    re-saving someone's rejected text never makes it "yours", nor theirs reviewable by them.
    """
    if base is None or base.state in EVER_PUBLISHED:
        return [actor]
    return [actor, *(name for name in base.editors or [] if name != actor)]


def update_draft(
    session: Session,
    row: ArticleVersion,
    content: ArticleContent,
    actor: str,
    expected_revision: int,
) -> ArticleVersion:
    """Change a draft in place if nobody saved it since ``expected_revision``.

    The check and the write are one UPDATE, so two concurrent saves cannot both
    succeed; the loser gets a Conflict naming who saved the draft and when.
    """
    content.validate()
    if content.id != row.article_id:
        raise InvalidInput("the article id cannot be changed")
    refuse_missing_translations(session, [content])
    if row.state != State.DRAFT:
        raise Conflict(
            f"article '{row.article_id}' version {row.version} is {row.state}, not a draft; "
            "it can no longer be changed"
        )
    editors = list(row.editors or [])
    if actor not in editors:
        editors.append(actor)
    values = content_columns(content)
    values.update(
        revision=expected_revision + 1, updated_by=actor, updated_at=utcnow(), editors=editors
    )
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(ArticleVersion)
        .where(
            ArticleVersion.id == row.id,
            ArticleVersion.revision == expected_revision,
            ArticleVersion.state == str(State.DRAFT),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        session.rollback()
        fresh = session.get(ArticleVersion, row.id)
        if fresh is not None:
            session.refresh(fresh)
        who = fresh.updated_by if fresh else "someone"
        when = fresh.updated_at.isoformat(timespec="seconds") if fresh else "meanwhile"
        raise Conflict(
            f"article '{row.article_id}' version {row.version} was changed by {who} at {when} "
            f"(you edited revision {expected_revision}); reload it and apply your edit again"
        )
    session.refresh(row)
    return row


def is_effective(row: ArticleVersion, on: date) -> bool:
    """True when ``on`` lies within the version's effective dates."""
    if row.effective_from and on < row.effective_from:
        return False
    return not (row.effective_to and on > row.effective_to)


def published_versions(session: Session) -> list[ArticleVersion]:
    """The published version of every article (effective or not)."""
    return list(
        session.scalars(
            select(ArticleVersion)
            .where(ArticleVersion.state == str(State.PUBLISHED))
            .order_by(ArticleVersion.article_id)
        )
    )


def served_versions(session: Session, on: date) -> list[ArticleVersion]:
    """What agents and bots may be shown on ``on``: published and effective."""
    return [row for row in published_versions(session) if is_effective(row, on)]


def published_version(session: Session, article_id: str) -> ArticleVersion | None:
    """The published version of ``article_id`` (effective or not), or None if it has none."""
    return session.scalar(
        select(ArticleVersion).where(
            ArticleVersion.article_id == article_id,
            ArticleVersion.state == str(State.PUBLISHED),
        )
    )


def find_version(session: Session, article_id: str, version: int) -> ArticleVersion | None:
    """One version of an article, or None when it is not stored (``get_version`` raises)."""
    return session.scalar(
        select(ArticleVersion).where(
            ArticleVersion.article_id == article_id, ArticleVersion.version == version
        )
    )


def published_tags(session: Session) -> list[str]:
    """Every tag of a published article, sorted and without repeats."""
    rows = session.scalars(
        select(ArticleVersion.tags).where(ArticleVersion.state == str(State.PUBLISHED))
    )
    return sorted({tag for tags in rows for tag in tags or []})
