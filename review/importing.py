"""Importing articles through the workflow (``kb import PATH [--publish] --as NAME``).

Without ``publish`` the articles are stored as drafts (author or admin). With
``publish`` (admin only) each imported article ends up published with exactly
the imported content, recorded as ``bootstrap_publish`` by that admin, with
no pretence that a review happened: a draft is published directly; if the
newest version is already published with that content nothing changes; if it
is in any other state, a draft copy is made and published. Publications
supersede the previously published versions and write index outbox rows, all
in the caller's transaction. Everything is batched (no per-article queries).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from kb.articles import add_version, store_contents, to_content
from kb.model import ArticleContent, State
from kb.tables import Article, ArticleVersion
from review import audit, index
from review.locking import lock_for_write
from review.permissions import Action, authorize
from review.versions import created_event
from review.workflow import publish_rows

BATCH = 500
BOOTSTRAP_NOTE = "bootstrap publication by import (no review took place)"


@dataclass
class ImportResult:
    """What an import did."""

    created: int = 0
    new_versions: int = 0
    updated_drafts: int = 0
    unchanged: int = 0
    published: int = 0


def import_articles(
    session: Session,
    actor: str,
    items: Sequence[tuple[ArticleContent, str]],
    *,
    publish: bool = False,
) -> ImportResult:
    """Store (content, source) pairs as drafts, and publish them if ``publish``."""
    user = authorize(session, actor, Action.BOOTSTRAP_PUBLISH if publish else Action.IMPORT)
    lock_for_write(session)
    summary, written = store_contents(session, list(items), user.name)
    events = [_import_event(row, user.name) for row in written]
    result = ImportResult(
        summary.created, summary.new_versions, summary.updated_drafts, summary.unchanged
    )
    if publish:
        ids = list(dict.fromkeys(content.id for content, _ in items))
        result.published = _bootstrap_publish(session, user.name, ids, events)
    audit.append_many(session, events)
    return result


def _import_event(row: ArticleVersion, actor: str) -> audit.Event:
    """A new draft version (created == updated time) or a changed draft."""
    if row.created_at == row.updated_at:
        return created_event(row, actor, Action.IMPORT, f"imported from {row.source}")
    event = created_event(row, actor, Action.IMPORT, f"draft updated from {row.source}")
    event.from_state = str(State.DRAFT)
    return event


def _chunks(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), BATCH):
        yield values[start : start + BATCH]


def _load(
    session: Session, ids: list[str]
) -> tuple[dict[str, Article], dict[str, ArticleVersion], dict[str, ArticleVersion]]:
    """Articles, their newest versions and their published versions, by article id."""
    articles: dict[str, Article] = {}
    latest: dict[str, ArticleVersion] = {}
    published: dict[str, ArticleVersion] = {}
    newest = select(ArticleVersion).join(
        Article,
        and_(
            Article.id == ArticleVersion.article_id,
            Article.latest_version == ArticleVersion.version,
        ),
    )
    for chunk in _chunks(ids):
        found = session.scalars(select(Article).where(Article.id.in_(chunk)))
        articles.update((a.id, a) for a in found)
        rows = session.scalars(newest.where(Article.id.in_(chunk)))
        latest.update((r.article_id, r) for r in rows)
        live = select(ArticleVersion).where(
            ArticleVersion.article_id.in_(chunk), ArticleVersion.state == str(State.PUBLISHED)
        )
        published.update((r.article_id, r) for r in session.scalars(live))
    return articles, latest, published


def _bootstrap_publish(
    session: Session, actor: str, ids: list[str], events: list[audit.Event]
) -> int:
    """Publish the newest content of each article; append the audit events to ``events``."""
    session.flush()
    articles, latest, published = _load(session, ids)
    changes = []
    for article_id in ids:
        row = latest[article_id]
        if row.state == State.PUBLISHED:
            continue
        article = articles[article_id]
        if row.state != State.DRAFT:
            copy = add_version(
                session, article, to_content(row), actor, based_on=row.version, flush=False
            )
            note = f"copy of version {row.version} ({row.state}) for bootstrap publication"
            events.append(created_event(copy, actor, Action.IMPORT, note))
            row = copy
        previous = published.get(article_id)
        events.extend(
            publish_rows(article, previous, row, actor, Action.BOOTSTRAP_PUBLISH, BOOTSTRAP_NOTE)
        )
        changes.append((article_id, index.UPSERT, row.version))
    session.flush()
    index.record_changes(session, changes)
    return len(changes)
