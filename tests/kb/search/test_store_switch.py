"""Taking up a new version of the ``postgres`` store off the request path, safely.

A replica prepares a new version (catalog, language basis, audience map, the FAQ question
index) before serving it, while requests keep the previous view; that view must never
return a chunk the live tables no longer hold (an archived article). Real parts: a real
PostgreSQL with pgvector (``pgserver``), the small knowledge base's real vectors, the
bundled model; the "other process" that publishes is a second store object on its own
connections.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import pytest

from kb.config import Config
from kb.search.bm25 import BM25Index
from kb.search.faq import QuestionIndex, QuestionIndexCache
from kb.search.filters import SearchFilters
from kb.search.local import LocalSearchIndex
from kb.search.postgres import PostgresSearchIndex, PostgresSearchView, update_from_snapshot
from kb.search.resources import SearchResources
from kb.search.retrieval import Searcher
from kb.search.snapshot import SnapshotRef
from kb.search.store import IndexUpdate
from kb.store.db import Database
from kb.text import normalize_for_matching
from tests.pg import PgServer

PUBLIC = SearchFilters.build(audience="public", as_of="2026-11-22")
QUESTION = "钱啥时候能退回来啊"  # answered by faq-refund through a similar question
HANG_GUARD_S = 120  # a wait this long means the code under test blocked (not a speed bound)


@dataclass
class Replica:
    """A writer (another process's store) and a replica's searcher on one database."""

    writer: PostgresSearchIndex
    reader: PostgresSearchIndex
    searcher: Searcher
    resources: SearchResources
    full: IndexUpdate


@pytest.fixture
def replica(small_kb_local: Config, pg_server: PgServer) -> Iterator[Replica]:
    """A fresh database serving the small knowledge base and a warmed-up replica on it
    (the reader checks for new versions on every ``snapshot``)."""
    url = pg_server.migrated_database()
    full = update_from_snapshot(LocalSearchIndex.from_config(small_kb_local).snapshot())
    writer_db, reader_db = Database(url), Database(url)
    writer = PostgresSearchIndex(writer_db)
    writer.apply(full)
    resources = SearchResources()
    reader = PostgresSearchIndex(reader_db, check_interval_ms=0, tokenizers=resources.tokenizers)
    config = replace(small_kb_local, database_url=url, search_store="postgres")
    searcher = Searcher(config, reader=reader, resources=resources)
    searcher.warm_up()
    try:
        yield Replica(writer, reader, searcher, resources, full)
    finally:
        writer_db.dispose()
        reader_db.dispose()
        pg_server.drop(url)


def _articles(searcher: Searcher, view: PostgresSearchView | None = None) -> list[str]:
    response = searcher.search(QUESTION, PUBLIC, top_k=5, snapshot=view)
    return [r.article_id for r in response.results]


def _chunks_of(update: IndexUpdate, article_id: str) -> list:
    return [d for d in update.chunks if d.meta["article_id"] == article_id]


def test_a_held_view_never_returns_an_archived_faq(replica: Replica) -> None:
    held = replica.reader.snapshot()
    assert _articles(replica.searcher, held)[0] == "faq-refund"
    replica.writer.apply(IndexUpdate(remove_article_ids=["faq-refund"]))  # archived elsewhere
    assert "faq-refund" in {d.meta["article_id"] for d in held.documents()}  # still in its catalog
    assert "faq-refund" not in _articles(replica.searcher, held)
    faq = replica.searcher.pipeline.get_component("faq")
    query = replica.searcher.pipeline.get_component("embedder").run(QUESTION)["embedding"]
    ranked = faq.run(QUESTION, query, SnapshotRef(held), PUBLIC)
    assert ranked["dense"] and ranked["lexical"]  # other FAQs still rank
    for documents in ranked.values():
        assert all(d.meta["article_id"] != "faq-refund" for d in documents)


def test_a_new_version_is_prepared_before_it_is_served(replica: Replica) -> None:
    """``snapshot`` hands out the previous view while a background thread prepares the new
    one (its FAQ question index included); requests meanwhile are not held up, and the
    first request on the new view builds nothing."""
    reader, searcher = replica.reader, replica.searcher
    replica.writer.apply(IndexUpdate(remove_article_ids=["faq-refund"]))
    reader.refresh()
    old = reader.snapshot()
    assert "faq-refund" not in _articles(searcher)
    release, entered, seen = threading.Event(), threading.Event(), []

    def slow_preparer(view: PostgresSearchView) -> None:  # runs after the searcher's
        seen.append((view.version, reader.held().version))  # type: ignore[union-attr]
        entered.set()
        release.wait(HANG_GUARD_S)

    reader.on_new_view(slow_preparer)
    built = replica.resources.question_indexes.built
    _settle(reader)  # the checks started by the calls above end before the next version
    new = replica.writer.apply(IndexUpdate(chunks=_chunks_of(replica.full, "faq-refund")))
    assert reader.snapshot() is old  # the new version is found in the background
    try:
        assert entered.wait(HANG_GUARD_S)  # the background thread is preparing it now
        response = searcher.search(QUESTION, PUBLIC, top_k=5)  # while it is being prepared
        assert response.index_version == old.version
        assert "faq-refund" not in [r.article_id for r in response.results]
        assert not release.is_set() and seen == [(new, old.version)]
    finally:
        release.set()
    _settle(reader)
    assert reader.held() is not None and reader.held().version == new  # type: ignore[union-attr]
    assert replica.resources.question_indexes.built == built + 1  # built by the refresher
    assert _articles(searcher)[0] == "faq-refund"
    assert replica.resources.question_indexes.built == built + 1  # not on the request path


def test_the_prepared_view_has_its_language_basis_and_audiences(replica: Replica) -> None:
    replica.writer.apply(IndexUpdate(remove_article_ids=["reg-express"]))
    assert replica.reader.refresh()
    view = replica.reader.held()
    assert view is not None
    assert view._basis is not None and view._audiences is not None  # computed before serving
    assert "reg-express" not in view.article_audiences()


def test_an_explicit_refresh_waits_for_a_background_one_and_takes_up_a_later_commit(
    replica: Replica,
) -> None:
    """A publisher's own ``refresh`` after its commit must serve that commit even while a
    background refresh that read the state before it is still preparing."""
    reader = replica.reader
    _settle(reader)
    preparing, release = threading.Event(), threading.Event()

    def slow_preparer(view: PostgresSearchView) -> None:
        preparing.set()
        release.wait(HANG_GUARD_S)

    reader.on_new_view(slow_preparer)
    first = replica.writer.apply(IndexUpdate(remove_article_ids=["reg-express"]))
    reader.snapshot()  # starts the background refresh of ``first``
    assert preparing.wait(HANG_GUARD_S)
    later = replica.writer.apply(IndexUpdate(remove_article_ids=["faq-refund"]))
    outcome: list[bool] = []
    publisher = threading.Thread(target=lambda: outcome.append(reader.refresh()))
    publisher.start()
    publisher.join(1.0)
    assert publisher.is_alive()  # waits for the background refresh instead of giving up
    release.set()
    publisher.join(HANG_GUARD_S)
    _settle(reader)
    assert outcome == [True]
    assert reader.held().version == later != first  # type: ignore[union-attr]


def test_a_new_version_segments_only_its_new_questions(
    replica: Replica, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replica rebuilds the FAQ question index of each new version; the questions it
    kept reuse the previous build's tokens (a spy on the real tokenizer counts what is
    segmented), and the BM25 scores are those of a build from scratch."""
    faq = replica.searcher.pipeline.get_component("faq")
    tokenizer = replica.resources.tokenizers.get(faq.jieba_user_dict or None)
    _settle(replica.reader)
    before = faq.question_index(replica.reader.snapshot())
    segmented: list[str] = []
    real = tokenizer.tokenize
    monkeypatch.setattr(tokenizer, "tokenize", lambda text: segmented.append(text) or real(text))
    replica.writer.apply(IndexUpdate(remove_article_ids=["faq-refund"]))
    assert replica.reader.refresh()
    without = faq.question_index(replica.reader.held())
    assert without is not before and 0 < len(without) < len(before)
    assert segmented == []  # every question left was segmented for the previous version
    replica.writer.apply(IndexUpdate(chunks=_chunks_of(replica.full, "faq-refund")))
    assert replica.reader.refresh()
    again = faq.question_index(replica.reader.held())
    ids = {d.id for d in _chunks_of(replica.full, "faq-refund")}
    pairs = zip(again.questions, again.chunk_ids, strict=True)
    added = {normalize_for_matching(q) for q, c in pairs if c in ids}
    assert added and len(segmented) == len(set(segmented)) and set(segmented) == added
    assert sorted(again.questions) == sorted(before.questions)
    monkeypatch.undo()
    scratch = BM25Index.build(
        (
            (str(i), tokenizer.tokenize(normalize_for_matching(q)))
            for i, q in enumerate(again.questions)
        ),
        tokenizer,
    )
    assert again.bm25 is not None
    for query in (QUESTION, "快递丢了怎么办"):
        assert np.allclose(again.bm25.scores(query), scratch.scores(query))


def test_a_failing_preparer_still_serves_the_new_version(
    replica: Replica, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(view: PostgresSearchView) -> None:
        raise RuntimeError("boom")

    replica.reader.on_new_view(broken)
    new = replica.writer.apply(IndexUpdate(remove_article_ids=["reg-express"]))
    assert replica.reader.refresh()
    assert replica.reader.held().version == new  # type: ignore[union-attr]
    assert "preparing index version" in caplog.text


def test_a_cached_question_index_is_served_while_another_is_built() -> None:
    cache = QuestionIndexCache()
    ready = _question_index()
    cache.get(("a",), lambda: ready)
    release, started = threading.Event(), threading.Event()

    def slow_build() -> QuestionIndex:
        started.set()
        release.wait(HANG_GUARD_S)
        return _question_index()

    builder = threading.Thread(target=cache.get, args=(("b",), slow_build))
    builder.start()
    try:
        assert started.wait(HANG_GUARD_S)
        got: list[QuestionIndex] = []
        reader = threading.Thread(target=lambda: got.append(cache.get(("a",), _question_index)))
        reader.start()
        reader.join(HANG_GUARD_S / 4)
        assert got == [ready] and not release.is_set()  # served while "b" is still building
    finally:
        release.set()
        builder.join(HANG_GUARD_S)
    assert cache.built == 2


def _question_index() -> QuestionIndex:
    empty = np.zeros((0, 4), dtype=np.float32)
    return QuestionIndex([], [], empty, None, empty, empty, np.zeros(0, dtype=object))


def _settle(reader: PostgresSearchIndex) -> None:
    """Wait for the reader's background check, if one is running."""
    if reader._background is not None:
        reader._background.join(HANG_GUARD_S)
