"""Importing articles through the workflow (``kb import PATH [--publish] --as NAME``).

Without ``publish`` the articles are stored as drafts (author or admin); an article's
open draft is updated only if the importer saved it last (else ``Conflict``: an import
never overwrites someone else's edit). With
``publish`` (admin only) each imported article ends up published with exactly
the imported content, recorded as ``bootstrap_publish`` by that admin, with
no pretence that a review happened. Publishing without review is for loading an
empty knowledge base only (no article published yet, checked under the write
lock); into a knowledge base that serves articles already it is refused, unless
the admin gives a ``bootstrap_reason`` (``kb import --publish --bootstrap --reason``),
which every publication event of the import records. How each article is
published: a draft is published directly; if the newest version is already
published with that content nothing changes; if it is in any other state, a draft
copy is made and published. Publications
supersede the previously published versions and write index outbox rows, all
in the caller's transaction. Everything is batched (no per-article queries).

``import_in_batches`` (what ``kb import`` runs) commits every ``import_batch_size``
articles, so a large import never holds the database's write lock for long: the
API's reads and log writes go on in between. Each committed batch is complete (its
versions, publications, outbox rows and audit events); an import that stops part way
(killed, a database error) leaves the batches committed before it, and running the
same import again completes it, the articles already imported being unchanged (with
``publish``, only the first batch checks that the knowledge base is empty: the later
ones continue the same load; a rerun of a stopped load publishing into the now
non-empty knowledge base needs a ``bootstrap_reason``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from kb.errors import Conflict, InvalidInput
from kb.model import ArticleContent, State
from kb.store import outbox
from kb.store.articles import add_version, to_content, utcnow
from kb.store.batches import store_contents
from kb.store.db import Database
from kb.store.tables import Article, ArticleVersion
from review import audit
from review.locking import lock_for_write
from review.permissions import Action, authorize
from review.versions import created_event

logger = logging.getLogger(__name__)

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
    transactions: int = 0

    def add(self, other: ImportResult) -> None:
        """Add another batch's counts to these."""
        for name in (f.name for f in fields(self)):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def import_in_batches(
    db: Database,
    actor: str,
    items: Sequence[tuple[ArticleContent, str]],
    *,
    publish: bool = False,
    batch_size: int = 500,
    bootstrap_reason: str | None = None,
    before_commit: Callable[[Session], object] | None = None,
) -> ImportResult:
    """``import_articles`` in one transaction per ``batch_size`` articles (see the module
    docstring for what an import that stops part way leaves). ``before_commit`` runs at the
    end of each batch's transaction (``review.publishing.index_in_transaction``: the batch's
    publications reach a search index in the database with it, or the batch rolls back)."""
    if batch_size < 1:
        raise InvalidInput(f"setting 'import_batch_size' must be at least 1, got {batch_size}")
    total = ImportResult()
    for start in range(0, max(len(items), 1), batch_size):
        began = time.perf_counter()
        with db.session() as session:
            part = import_articles(
                session,
                actor,
                items[start : start + batch_size],
                publish=publish,
                bootstrap_reason=bootstrap_reason,
                continuing_load=start > 0,
            )
            if before_commit is not None:
                before_commit(session)
        logger.debug(
            "import: articles %d-%d committed in %.3f s",
            start + 1,
            start + len(items[start : start + batch_size]),
            time.perf_counter() - began,
        )
        total.add(part)
    return total


def import_articles(
    session: Session,
    actor: str,
    items: Sequence[tuple[ArticleContent, str]],
    *,
    publish: bool = False,
    bootstrap_reason: str | None = None,
    continuing_load: bool = False,
) -> ImportResult:
    """Store (content, source) pairs as drafts, and publish them if ``publish``.

    Publishing needs the admin role and an empty knowledge base, or a non-blank
    ``bootstrap_reason`` (audited with each publication). ``continuing_load`` marks a
    later batch of one load whose first batch found the knowledge base empty.
    """
    if bootstrap_reason is not None and not bootstrap_reason.strip():
        raise InvalidInput("--bootstrap needs a reason (--reason): why publish without review")
    publish = publish or bootstrap_reason is not None
    user = authorize(session, actor, Action.BOOTSTRAP_PUBLISH if publish else Action.IMPORT)
    lock_for_write(session)
    if publish and bootstrap_reason is None and not continuing_load:
        _refuse_unless_empty(session)
    summary, written = store_contents(session, list(items), user.name)
    sources = {content.id: source for content, source in items}
    events = [_import_event(row, user.name, sources.get(row.article_id, "")) for row in written]
    result = ImportResult(
        summary.created, summary.new_versions, summary.updated_drafts, summary.unchanged
    )
    result.transactions = 1
    if publish:
        ids = list(dict.fromkeys(content.id for content, _ in items))
        reason = f"; reason: {bootstrap_reason.strip()}" if bootstrap_reason else ""
        result.published = _bootstrap_publish(
            session, user.name, ids, written, events, BOOTSTRAP_NOTE + reason
        )
    audit.append_many(session, events)
    return result


def published_count(session: Session) -> int:
    """How many articles are published (served or waiting for their effective date)."""
    query = select(func.count()).select_from(Article).where(Article.published_version.is_not(None))
    return session.scalar(query) or 0


def _refuse_unless_empty(session: Session) -> None:
    """Conflict unless no article is published: publishing without review loads an
    empty knowledge base only."""
    published = published_count(session)
    if published:
        raise Conflict(
            f"publishing without review only loads an empty knowledge base, and {published} "
            "article(s) are published already: import as drafts and submit them for review, "
            "or (admin) add --bootstrap --reason '...' to publish anyway, audited"
        )


def _import_event(row: ArticleVersion, actor: str, source: str) -> audit.Event:
    """A new draft version (created == updated time) or a changed draft, imported from
    ``source`` (the file of this import, not the one the draft was first made from)."""
    source = source or row.source
    if row.created_at == row.updated_at:
        return created_event(row, actor, Action.IMPORT, f"imported from {source}")
    event = created_event(row, actor, Action.IMPORT, f"draft updated from {source}")
    event.from_state = str(State.DRAFT)
    return event


def _chunks(values: list) -> Iterable[list]:
    for start in range(0, len(values), BATCH):
        yield values[start : start + BATCH]


def _newest_rows(session: Session, ids: list[str]) -> dict[str, ArticleVersion]:
    """The newest version of each article, by article id."""
    newest = select(ArticleVersion).join(
        Article,
        and_(
            Article.id == ArticleVersion.article_id,
            Article.latest_version == ArticleVersion.version,
        ),
    )
    found: dict[str, ArticleVersion] = {}
    for chunk in _chunks(ids):
        found.update(
            (r.article_id, r) for r in session.scalars(newest.where(Article.id.in_(chunk)))
        )
    return found


def _published_rows(session: Session, ids: list[str]) -> dict[str, ArticleVersion]:
    """The published version of each article that has one, by article id."""
    found: dict[str, ArticleVersion] = {}
    for chunk in _chunks(ids):
        live = select(ArticleVersion).where(
            ArticleVersion.article_id.in_(chunk), ArticleVersion.state == str(State.PUBLISHED)
        )
        found.update((r.article_id, r) for r in session.scalars(live))
    return found


def _publication_targets(
    session: Session, actor: str, ids: list[str], written: list[ArticleVersion]
) -> tuple[list[ArticleVersion], list[audit.Event]]:
    """The draft to publish for each article (a copy where the newest version is not a
    draft; none where it is published already), and the audit events of the copies."""
    latest = {row.article_id: row for row in written}
    latest.update(_newest_rows(session, [i for i in ids if i not in latest]))
    targets, events = [], []
    for article_id in ids:
        row = latest[article_id]
        if row.state == State.PUBLISHED:
            continue
        if row.state != State.DRAFT:
            row = add_version(session, row.article, to_content(row), actor, base=row)
            note = f"copy of version {row.based_on} for bootstrap publication"
            events.append(created_event(row, actor, Action.IMPORT, note))
        targets.append(row)
    return targets, events


def _set_state(session: Session, rows: list[ArticleVersion], state: State, actor: str) -> None:
    """Move rows to ``state`` with one UPDATE per batch, keeping the loaded objects in step."""
    now = utcnow()
    for chunk in _chunks([r.id for r in rows]):
        session.execute(
            update(ArticleVersion)
            .where(ArticleVersion.id.in_(chunk))
            .values(state=str(state), updated_by=actor, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    for row in rows:
        set_committed_value(row, "state", str(state))
        set_committed_value(row, "updated_by", actor)
        set_committed_value(row, "updated_at", now)


def _event(row: ArticleVersion, to_state: State, actor: str, comment: str) -> audit.Event:
    return audit.Event(
        actor=actor,
        action=Action.BOOTSTRAP_PUBLISH,
        article_id=row.article_id,
        version=row.version,
        from_state=row.state,
        to_state=str(to_state),
        comment=comment,
        content_hash=row.content_hash,
    )


def _bootstrap_publish(
    session: Session,
    actor: str,
    ids: list[str],
    written: list[ArticleVersion],
    events: list[audit.Event],
    publication_note: str = BOOTSTRAP_NOTE,
) -> int:
    """Publish the imported content of each article; append the audit events to ``events``.

    Batched: a few statements per 500 articles, whatever the number of articles.
    """
    targets, copies = _publication_targets(session, actor, ids, written)
    events.extend(copies)
    brand_new = {r.article_id for r in written if r.version == 1 and r.created_at == r.updated_at}
    previous = _published_rows(
        session, [r.article_id for r in targets if r.article_id not in brand_new]
    )
    superseded = [previous[r.article_id] for r in targets if r.article_id in previous]
    for row in targets:
        if row.article_id in previous:
            note = f"superseded by version {row.version}"
            events.append(_event(previous[row.article_id], State.SUPERSEDED, actor, note))
        events.append(_event(row, State.PUBLISHED, actor, publication_note))
    session.flush()
    _set_state(session, superseded, State.SUPERSEDED, actor)
    _set_state(session, targets, State.PUBLISHED, actor)
    for chunk in _chunks([r.article_id for r in targets]):
        session.execute(
            update(Article)
            .where(Article.id.in_(chunk))
            .values(published_version=Article.latest_version)
            .execution_options(synchronize_session=False)
        )
    for row in targets:
        article = session.identity_map.get(session.identity_key(Article, row.article_id))
        if article is not None:
            set_committed_value(article, "published_version", row.version)
    outbox.record_changes(session, [(r.article_id, outbox.UPSERT, r.version) for r in targets])
    return len(targets)
