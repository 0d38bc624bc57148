"""Keeping the search index in line with the published articles.

The index serves every *published* version: future-effective and expired ones too,
with ``effective_from`` / ``effective_to`` in each chunk's meta, because retrieval
filters on the query's date (publication is an event, the passing of a date is not).
The index manifest records ``{article_id: version}``; comparing it with the database
tells what to do:

- an article published in a version the index does not hold: (re)index it;
- an article in the index with no published version any more (archived): remove it;
- everything else is left alone: its chunks, vectors and BM25 tokens are reused.

A published article that gives no chunk (an empty body, only headings; see
``ingest.unindexable``) is recorded beside the index with its version and the reason,
counts as current at that version, and is listed in every report: after any update,
each published article has at least one chunk or is reported unindexable.

Re-indexed articles go through the indexing pipeline, whose embedding cache computes
only chunks whose text changed, so publishing one changed paragraph costs one
embedding. With no index yet, or ``full=True``, everything is rebuilt.

Two entry points, both serialised by a lock file beside the index's write lock
(``sync.lock``: the whole read-plan-embed-write cycle must be exclusive, while
``write.lock`` only covers the write; both are released by the OS if the process dies):

- ``sync_index(db, config)``: compares the whole published set (``kb ingest``,
  ``kb reindex --full``) and then marks the ``IndexEvent`` outbox rows it has covered
  as processed;
- ``IndexSync``: the ``kb.store.outbox.IndexUpdater`` of the review side's contract.
  ``apply(session, changes)`` updates only the articles named by the pending outbox
  events (from the database's current state, so a redelivered or stale event is
  harmless); ``kb.store.outbox.dispatch`` marks them processed when it returns. Front ends
  give it to their ``kb.runtime.Runtime`` so that publishing, archiving and
  rolling back update the index right after the commit.
"""

from __future__ import annotations

import fcntl
import json
import logging
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.unindexable import (
    MISSING,
    Unindexable,
    read_record,
    updated_record,
    write_record,
)
from ingest.write import StoreTarget
from kb.config import Config
from kb.embedders import make_backend
from kb.errors import Conflict
from kb.model import ArticleContent, State
from kb.search.bm25 import TokenizerPool
from kb.search.index import FORMAT_VERSION, MANIFEST_FILE, IndexStore
from kb.search.resources import SearchResources
from kb.store.articles import published_versions, to_content
from kb.store.db import Database
from kb.store.outbox import IndexChange, mark_processed, pending_changes
from kb.store.tables import ArticleVersion

logger = logging.getLogger(__name__)

SYNC_LOCK = "sync.lock"


@dataclass(frozen=True)
class SyncReport:
    """What bringing the index in line did."""

    indexed: int  # articles (re)indexed, each with at least one chunk
    removed: int  # articles taken out of the index
    unchanged: int  # published articles already current in the index
    chunks: int  # chunks written for the (re)indexed articles
    computed: int  # embeddings actually computed (the rest came from the cache)
    events: int  # outbox events marked processed
    version: str | None  # the live index version afterwards
    created: bool  # whether a new index version was written
    full: bool  # whether the index was rebuilt from scratch
    seconds: float
    #: every published article with no chunk: article_id, version, reason
    unindexable: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The report as a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class _Plan:
    """The articles to (re)index and to remove, against the live index."""

    upsert: list[tuple[ArticleContent, int]]
    remove: list[str]
    unchanged: int
    full: bool
    gone: list[str]  # recorded unindexable articles no longer published


def store_target(
    session: Session, config: Config, tokenizers: TokenizerPool | None = None
) -> StoreTarget | None:
    """With ``search_store: postgres``, the store in the session's database, written in
    the session's own transaction (a publication's, when the caller is one); None for the
    local store. Its BM25 tokenizer comes from ``tokenizers`` (the process's pool)."""
    if config.search_store == "local":
        return None
    from kb.search.postgres import PostgresSearchIndex

    bind = session.connection()
    user_dict = str(config.jieba_user_dict or "")
    index = PostgresSearchIndex(
        bind.engine, None if user_dict in ("", ".") else user_dict, tokenizers=tokenizers
    )
    return StoreTarget(index, bind.connection.driver_connection)


def _manifest(store: IndexStore, target: StoreTarget | None) -> dict[str, Any] | None:
    """The live version's manifest (``articles``, ``model_id``) of the configured store."""
    if target is not None:
        return target.index.manifest(target.connection)
    return readable(live_manifest(store))


def index_store(config: Config, tokenizers: TokenizerPool | None = None) -> IndexStore:
    """The index store of ``config`` (its tokenizer from ``tokenizers``, the process's pool)."""
    return IndexStore.from_config(config, tokenizers=tokenizers)


def live_manifest(store: IndexStore) -> dict[str, Any] | None:
    """The manifest of the live index version (read alone, without loading the index)."""
    for _attempt in range(3):
        name = store.current_version()
        if name is None:
            return None
        try:
            text = (store.versions_dir / name / MANIFEST_FILE).read_text(encoding="utf-8")
        except FileNotFoundError:
            continue  # replaced meanwhile by another writer's retention: read the pointer again
        return json.loads(text)
    return None


@contextmanager
def sync_lock(index_dir: Path, timeout: float) -> Iterator[None]:
    """Hold ``<index_dir>/sync.lock`` exclusively; ``Conflict`` after ``timeout`` seconds."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with (index_dir / SYNC_LOCK).open("a") as f:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise Conflict(
                        f"another index update is running ({f.name}); try again later"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _published(session: Session, scope: Collection[str] | None) -> list[ArticleVersion]:
    """Published versions of every article, or of the articles in ``scope``."""
    if scope is None:
        return published_versions(session)
    rows: list[ArticleVersion] = []
    ids = sorted(scope)
    for start in range(0, len(ids), 500):
        rows.extend(
            session.scalars(
                select(ArticleVersion)
                .where(ArticleVersion.article_id.in_(ids[start : start + 500]))
                .where(ArticleVersion.state == str(State.PUBLISHED))
            )
        )
    return rows


def readable(manifest: dict[str, Any] | None) -> dict[str, Any] | None:
    """``manifest`` if this kb reads its index format, else None: an index of another
    format (built by an older kb) cannot be updated in place and is rebuilt whole."""
    if manifest is None or manifest.get("format") == FORMAT_VERSION:
        return manifest
    logger.warning(
        "index %s has format %s, this kb writes format %d: rebuilding it whole",
        manifest.get("version"),
        manifest.get("format"),
        FORMAT_VERSION,
    )
    return None


def _check_model(manifest: dict[str, Any], model_id: str) -> None:
    """An incremental update must use the embedding model the index was built with."""
    if manifest.get("model_id") != model_id:
        raise Conflict(
            f"the index was built with {manifest.get('model_id')}, the embedder setting is "
            f"now {model_id}: rebuild it with `kb reindex --full`"
        )


def _plan(
    session: Session,
    manifest: dict[str, Any] | None,
    recorded: dict[str, Unindexable],
    scope: Collection[str] | None,
    full: bool,
) -> _Plan:
    """Compare the published versions (of ``scope``, or all) with the live index.

    An article recorded unindexable at its published version is current, as is one the
    index holds at that version.
    """
    full = full or manifest is None
    indexed: dict[str, int] = {} if full or manifest is None else dict(manifest["articles"])
    if not full:
        indexed.update((a, entry.version) for a, entry in recorded.items() if a not in indexed)
    rows = _published(session, None if full else scope)
    upsert = [(to_content(r), r.version) for r in rows if indexed.get(r.article_id) != r.version]
    published = {r.article_id for r in rows}
    candidates = indexed if scope is None else [a for a in scope if a in indexed]
    gone = sorted(a for a in candidates if a not in published)
    remove = [a for a in gone if manifest is not None and a in manifest["articles"]]
    return _Plan(upsert, remove, len(rows) - len(upsert), full, gone)


@dataclass(frozen=True)
class _Outcome:
    """What running a plan did."""

    chunks: int
    computed: int
    version: str | None
    created: bool
    unindexable: list[Unindexable] = field(default_factory=list)  # found in this run


def _apply_plan(
    plan: _Plan,
    config: Config,
    store: IndexStore,
    cache_path: str | Path | None,
    progress: bool,
    target: StoreTarget | None = None,
    resources: SearchResources | None = None,
) -> _Outcome:
    """Run the pipeline for the plan (into ``target`` when given, else the local files),
    built on ``resources`` (the process's models and index readers)."""
    from ingest.pipeline import build_indexing_pipeline, run_pipeline  # loads Haystack

    before = (_manifest(store, target) or {}).get("version")
    if not plan.upsert and not plan.remove and not plan.full:
        return _Outcome(0, 0, before, False)
    pipeline = build_indexing_pipeline(
        config, cache_path=cache_path, progress=progress, resources=resources
    )
    if plan.full and not plan.upsert:  # nothing published: an empty, ready index
        embedder: Any = pipeline.get_component("embedder")  # a kb embedder component
        if target is not None:
            from kb.search.store import IndexUpdate

            empty = IndexUpdate(model_id=embedder.model_id, dim=embedder.dim, full=True)
            return _Outcome(0, 0, target.index.write(empty, target.connection)[0], True)
        result = store.write_version([], model_id=embedder.model_id, dim=embedder.dim, full=True)
        return _Outcome(0, 0, result.version, True)
    # Re-indexed articles lose their old chunks even if the new version gives none.
    replaced = [content.id for content, _ in plan.upsert]
    report = run_pipeline(
        pipeline,
        {"articles": plan.upsert},
        full=plan.full,
        remove_article_ids=[*plan.remove, *replaced],
        target=target,
    )
    created = report.version != before
    return _Outcome(report.chunks, report.computed, report.version, created, report.unindexable)


def _verify(
    plan: _Plan, store: IndexStore, outcome: _Outcome, target: StoreTarget | None = None
) -> list[Unindexable]:
    """The invariant, checked on the live manifest: every article of the plan is in the
    index at its version or found unindexable. Returns the unindexable ones, with any
    article missing for another reason added (``MISSING``, logged as an error)."""
    found = list(outcome.unindexable)
    if not plan.upsert:
        return found
    live = (_manifest(store, target) or {}).get("articles", {})
    known = {entry.article_id for entry in found}
    for content, version in plan.upsert:
        if live.get(content.id) != version and content.id not in known:
            logger.error("article %s v%d: no chunk reached the index", content.id, version)
            found.append(Unindexable(content.id, version, MISSING))
    return found


def _record_unindexable(
    index_dir: Path, recorded: dict[str, Unindexable], plan: _Plan, found: list[Unindexable]
) -> dict[str, Unindexable]:
    """Update ``<index_dir>/unindexable.json`` after a run; return the new record."""
    touched = [content.id for content, _ in plan.upsert] + plan.gone
    after = updated_record({} if plan.full else recorded, touched=touched, found=found)
    if after != recorded:
        write_record(index_dir, after)
    for entry in found:  # the report lists them too
        logger.info(
            "article %s v%d is not indexed: %s", entry.article_id, entry.version, entry.reason
        )
    return after


def update_index(
    session: Session,
    config: Config,
    *,
    scope: Collection[str] | None = None,
    full: bool = False,
    progress: bool = False,
    cache_path: str | Path | None = None,
    resources: SearchResources | None = None,
) -> SyncReport:
    """Bring the index in line with the published versions (all, or the ids in ``scope``).

    The caller holds the sync lock. Without an index, or with ``full``, everything
    published is indexed. Marks no outbox events (see ``sync_index`` and ``IndexSync``).
    ``resources``: the process's models, tokenizers and index readers (``Runtime.resources``;
    default: a new set), so a reader of this process serves the new version at once.
    """
    started = time.perf_counter()
    resources = resources if resources is not None else SearchResources()
    store = index_store(config, resources.tokenizers)
    target = store_target(session, config, resources.tokenizers)
    manifest = None if full else _manifest(store, target)
    if manifest is not None:
        _check_model(manifest, make_backend(config).model_id)
    recorded = read_record(store.index_dir)
    plan = _plan(session, manifest, recorded, scope, full)
    outcome = _apply_plan(plan, config, store, cache_path, progress, target, resources)
    found = _verify(plan, store, outcome, target)
    record = _record_unindexable(store.index_dir, recorded, plan, found)
    indexed = len(plan.upsert) - len(found)
    logger.info(
        "index %s: %d article(s) indexed, %d removed, %d embedding(s) computed",
        outcome.version,
        indexed,
        len(plan.remove),
        outcome.computed,
    )
    return SyncReport(
        indexed=indexed,
        removed=len(plan.remove),
        unchanged=plan.unchanged,
        chunks=outcome.chunks,
        computed=outcome.computed,
        events=0,
        version=outcome.version,
        created=outcome.created,
        full=plan.full,
        seconds=round(time.perf_counter() - started, 3),
        unindexable=[entry.as_dict() for _, entry in sorted(record.items())],
    )


def sync_index(
    db: Database,
    config: Config,
    *,
    full: bool = False,
    progress: bool = False,
    cache_path: str | Path | None = None,
    lock_timeout: float = 300.0,
    resources: SearchResources | None = None,
) -> SyncReport:
    """Bring the whole index in line with the published set, then mark the outbox processed.

    Only the events pending *before* the published set was read are marked, so an
    article published meanwhile keeps its event for the next run.

    :param full: rebuild from scratch (unchanged chunks still come from the cache).
    :param progress: progress bar while embedding (on a terminal).
    :param cache_path: the embedding cache; None: ``<home>/cache/embeddings.sqlite3``.
    :param lock_timeout: seconds to wait for another update to finish (then ``Conflict``).
    :param resources: the process's models and index readers (``Runtime.resources``).
    """
    started = time.perf_counter()
    with sync_lock(config.effective_index_dir, lock_timeout):
        with db.session() as session:
            event_ids = [c.event_id for c in pending_changes(session)]
            report = update_index(
                session,
                config,
                full=full,
                progress=progress,
                cache_path=cache_path,
                resources=resources,
            )
        with db.session() as session:
            mark_processed(session, event_ids)
    values = report.as_dict() | {
        "events": len(event_ids),
        "seconds": round(time.perf_counter() - started, 3),
    }
    return SyncReport(**values)


class IndexSync:
    """The ingest side of ``kb.store.outbox.IndexUpdater``: applies outbox events to the index.

    ``apply`` updates the articles the events name from the database's current state
    (idempotent; a stale event is harmless) and builds the whole index if there is none
    yet. It raises on failure, so ``kb.store.outbox.dispatch`` redelivers the events later.
    """

    def __init__(
        self,
        config: Config,
        *,
        progress: bool = False,
        cache_path: str | Path | None = None,
        lock_timeout: float = 60.0,
        resources: SearchResources | None = None,
    ) -> None:
        """Store the settings used for every batch of events; index with ``resources``
        (the process's models and index readers, ``Runtime.resources``; default: a new set
        kept for every batch)."""
        self.config = config
        self.resources = resources if resources is not None else SearchResources()
        self.progress = progress
        self.cache_path = cache_path
        self.lock_timeout = lock_timeout
        self.last_report: SyncReport | None = None

    def apply(self, session: Session, changes: Sequence[IndexChange]) -> None:
        """Make the index reflect ``changes`` (the articles' current published state)."""
        if not changes:
            return
        scope = {change.article_id for change in changes}
        with sync_lock(self.config.effective_index_dir, self.lock_timeout):
            self.last_report = update_index(
                session,
                self.config,
                scope=scope,
                progress=self.progress,
                cache_path=self.cache_path,
                resources=self.resources,
            )
