"""How publishing tells the search index what changed: an outbox and an updater protocol.

Contract between review (producer) and ingest (consumer)
--------------------------------------------------------

* In the same transaction that changes what is published, review writes one
  ``IndexEvent`` row per article affected (``kb.store.tables.IndexEvent``):

  - ``upsert`` with ``version``: the article's published version is now this
    one (publish, bootstrap publication, a published rollback). The index must
    serve this version's content and no other version of the article.
  - ``remove`` (``version`` None): the article has no published version any
    more (archive). The index must drop every chunk of the article.

  So an event exists if and only if the change committed; nothing is lost if
  the index is down or slow.
* Effective dates are not events: an ``upsert`` is written when a version is
  published, even if its ``effective_from`` is in the future or its
  ``effective_to`` passes later. The index stores ``effective_from`` /
  ``effective_to`` (and ``audience``) with every chunk and retrieval filters
  on the query date, so what is served is always "published AND effective
  today" (``kb.store.articles.served_versions``) without a re-index at midnight.
* The consumer implements ``IndexUpdater.apply(session, changes)`` and runs
  ``dispatch(db, updater)`` (after a publishing command, on a schedule, or in
  ``kb index update``). ``dispatch`` hands over the unprocessed events in id
  order and marks them processed (``processed_at``) only after ``apply``
  returned; if it raises, they stay pending and are delivered again. Delivery
  is therefore at-least-once: ``apply`` must be idempotent. Within a batch the
  last change per article wins (``latest_per_article``); an ``upsert`` whose
  version is no longer the article's published version may be skipped, as a
  later event carries the newer state.
* Front ends call ``Runtime.apply_index_changes()`` (``kb.runtime``) after
  committing a publishing action: it runs ``dispatch`` with the index updater
  the front end gave its runtime (none: events wait in the outbox for
  ``kb worker`` or ``kb index update``). Nothing registers itself at import.
* With the search index in the same database (``search_store: postgres``), a
  front end calls ``apply_in_transaction(session, updater)`` before the
  publishing transaction commits instead: the index rows change in that very
  transaction (embeddings are computed first, inside it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from kb.store.articles import utcnow
from kb.store.db import Database
from kb.store.tables import IndexEvent

UPSERT = "upsert"
REMOVE = "remove"


@dataclass(frozen=True)
class IndexChange:
    """One pending outbox event: serve ``version`` of the article, or remove it."""

    event_id: int
    article_id: str
    action: str
    version: int | None
    created_at: datetime


@runtime_checkable
class IndexUpdater(Protocol):
    """What the ingest side implements to keep the index in step with publication."""

    def apply(self, session: Session, changes: Sequence[IndexChange]) -> None:
        """Make the index reflect ``changes`` (idempotent; raise to have them redelivered)."""
        ...


def record_changes(session: Session, changes: Sequence[tuple[str, str, int | None]]) -> None:
    """Write outbox rows ``(article_id, action, version)`` in the session's transaction."""
    if not changes:
        return
    now = utcnow()
    session.execute(
        insert(IndexEvent),
        [
            {"article_id": a, "action": act, "version": v, "created_at": now}
            for a, act, v in changes
        ],
    )


def pending_changes(session: Session, limit: int | None = None) -> list[IndexChange]:
    """Unprocessed outbox events, oldest first."""
    query = select(IndexEvent).where(IndexEvent.processed_at.is_(None)).order_by(IndexEvent.id)
    if limit:
        query = query.limit(limit)
    return [
        IndexChange(e.id, e.article_id, e.action, e.version, e.created_at)
        for e in session.scalars(query)
    ]


def latest_per_article(changes: Sequence[IndexChange]) -> list[IndexChange]:
    """The last change of each article, in the order those last changes happened."""
    last: dict[str, IndexChange] = {}
    for change in changes:
        last.pop(change.article_id, None)
        last[change.article_id] = change
    return list(last.values())


def mark_processed(session: Session, event_ids: Sequence[int]) -> None:
    """Mark outbox events processed."""
    now = utcnow()
    for start in range(0, len(event_ids), 500):
        session.execute(
            update(IndexEvent)
            .where(IndexEvent.id.in_(event_ids[start : start + 500]))
            .where(IndexEvent.processed_at.is_(None))
            .values(processed_at=now)
        )


def dispatch(db: Database, updater: IndexUpdater, batch_size: int = 1000) -> int:
    """Deliver pending events to ``updater`` batch by batch; return how many were processed."""
    done = 0
    while True:
        with db.session() as session:
            changes = pending_changes(session, batch_size)
            if not changes:
                return done
            updater.apply(session, changes)
            mark_processed(session, [c.event_id for c in changes])
        done += len(changes)


def apply_in_transaction(session: Session, updater: IndexUpdater) -> int:
    """Deliver the pending events to ``updater`` inside ``session``'s transaction and mark
    them processed there: the index update commits with the change that caused it, or
    neither does (an updater failure rolls the publication back). For a search store in
    the same database (``search_store: postgres``): a version is searchable on every
    replica as soon as its publication commits. Returns how many events were applied."""
    changes = pending_changes(session)
    if changes:
        updater.apply(session, changes)
        mark_processed(session, [c.event_id for c in changes])
    return len(changes)
