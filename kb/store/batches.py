"""Storing an import batch of articles as drafts, with a few statements per 500 articles.

``review.importing`` calls ``store_contents`` after its permission checks; the rules for
one article (new article, changed draft, new version) are those of ``kb.store.articles``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session

from kb.errors import Conflict
from kb.model import ArticleContent, State
from kb.store.articles import (
    add_version,
    content_columns,
    refuse_case_twins,
    refuse_taken_ids,
    update_draft,
    utcnow,
)
from kb.store.tables import Article, ArticleVersion
from kb.store.translations import refuse_missing_translations


@dataclass
class StoreSummary:
    """What storing an import batch did."""

    created: int = 0
    new_versions: int = 0
    updated_drafts: int = 0
    unchanged: int = 0


def _existing_articles(session: Session, ids: list[str]) -> dict[str, Article]:
    found: dict[str, Article] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found.update(
            (a.id, a) for a in session.scalars(select(Article).where(Article.id.in_(chunk)))
        )
    return found


def store_contents(
    session: Session, contents: list[tuple[ArticleContent, str]], actor: str
) -> tuple[StoreSummary, list[ArticleVersion]]:
    """Store (content, source) pairs as drafts in the session's transaction.

    A new id becomes a new article (inserted in bulk); a known id with an open
    draft has that draft updated (unless the content is the same; Conflict, before
    anything is written, if someone else saved that draft last); a known id
    whose newest version has the same content hash is left alone; otherwise a
    new draft version is added. Returns the summary and the draft versions written (not the
    unchanged ones), in input order.
    """
    summary = StoreSummary()
    refuse_case_twins([(c.id, src) for c, src in contents])
    for content, _ in contents:
        content.validate()
    refuse_missing_translations(session, [c for c, _ in contents])
    existing = _existing_articles(session, [c.id for c, _ in contents])
    current_rows = _current_rows(session, list(existing.values()))
    _refuse_overwriting_others(current_rows, contents, actor)
    new = [(c, src) for c, src in contents if c.id not in existing]
    refuse_taken_ids(session, [(c.id, src) for c, src in new])
    written_by_id = {row.article_id: row for row in _insert_new_articles(session, new, actor)}
    summary.created = len(new)
    for content, source in contents:
        article = existing.get(content.id)
        if article is None:
            continue
        latest = current_rows[article.id]
        if latest.content_hash == content.content_hash():
            summary.unchanged += 1
        elif latest.state == State.DRAFT:
            written_by_id[content.id] = update_draft(
                session, latest, content, actor, latest.revision
            )
            summary.updated_drafts += 1
        else:
            written_by_id[content.id] = add_version(
                session, article, content, actor, source=source, base=latest
            )
            summary.new_versions += 1
    session.flush()
    written = [written_by_id[c.id] for c, _ in contents if c.id in written_by_id]
    return summary, written


def _refuse_overwriting_others(
    current_rows: dict[str, ArticleVersion],
    contents: list[tuple[ArticleContent, str]],
    actor: str,
) -> None:
    """Conflict if the import would replace a draft someone else saved last: an import
    changes a draft without naming the revision it read, so it may only replace the
    importer's own work (two people never overwrite each other's edits)."""
    for content, source in contents:
        row = current_rows.get(content.id)
        if row is None or row.state != State.DRAFT or row.updated_by == actor:
            continue
        if row.content_hash == content.content_hash():
            continue
        when = row.updated_at.isoformat(timespec="seconds") if row.updated_at else "earlier"
        raise Conflict(
            f"{source or content.id}: article '{row.article_id}' version {row.version} is a "
            f"draft last saved by {row.updated_by} at {when} (revision {row.revision}); the "
            f"import would overwrite it: edit that draft instead (kb edit --revision "
            f"{row.revision}), or import once it is submitted"
        )


def _insert_new_articles(
    session: Session, contents: list[tuple[ArticleContent, str]], actor: str
) -> list[ArticleVersion]:
    """Insert new articles as version-1 drafts with bulk INSERTs; return the rows."""
    if not contents:
        return []
    now = utcnow()
    article_rows, version_rows = [], []
    for content, source in contents:
        content.validate()
        article_rows.append(
            {
                "id": content.id,
                "type": str(content.type),
                "created_at": now,
                "created_by": actor,
                "latest_version": 1,
                "published_version": None,
            }
        )
        version_rows.append(
            {
                "article_id": content.id,
                "version": 1,
                "state": str(State.DRAFT),
                "revision": 1,
                "source": source,
                "based_on": None,
                "created_by": actor,
                "created_at": now,
                "updated_by": actor,
                "updated_at": now,
                "editors": [actor],
                **content_columns(content),
            }
        )
    session.execute(insert(Article), article_rows)
    session.execute(insert(ArticleVersion), version_rows)
    ids = [c.id for c, _ in contents]
    rows: list[ArticleVersion] = []
    for start in range(0, len(ids), 500):
        rows.extend(
            session.scalars(
                select(ArticleVersion).where(
                    ArticleVersion.article_id.in_(ids[start : start + 500])
                )
            )
        )
    return rows


def _current_rows(session: Session, articles: list[Article]) -> dict[str, ArticleVersion]:
    """Per article, the version an import builds on: its open draft, else its newest version.

    An article has at most one draft, but it need not be the newest version (a
    rollback copy in review can be newer), so drafts are looked up by state.
    """
    rows: dict[str, ArticleVersion] = {}
    for start in range(0, len(articles), 500):
        chunk = articles[start : start + 500]
        newest = [
            (ArticleVersion.article_id == a.id) & (ArticleVersion.version == a.latest_version)
            for a in chunk
        ]
        drafts = ArticleVersion.article_id.in_([a.id for a in chunk]) & (
            ArticleVersion.state == str(State.DRAFT)
        )
        for row in session.scalars(select(ArticleVersion).where(or_(*newest, drafts))):
            current = rows.get(row.article_id)
            if current is None or current.state != State.DRAFT:
                rows[row.article_id] = row
    return rows
