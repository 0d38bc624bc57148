"""Dense search of the postgres store through pgvector HNSW indexes (issue 15), on a real
PostgreSQL with pgvector 0.8 (``pgserver``, ``tests.pg``); nothing is mocked.

Migration 0015 and the store's first write give the vector columns a fixed dimension and
the indexes; above ``exact_below`` chunks a view searches through them (iterative scans, so
a selective filter still yields ``top_k`` rows) and must find what the exact scan finds.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pytest
from alembic import command
from haystack import Document

from kb.search.filters import SearchFilters
from kb.search.postgres import ANN_INDEXES, PostgresSearchIndex, where_sql
from kb.search.sentences import SENTENCE_META
from kb.search.store import IndexUpdate
from kb.store.db import Database, alembic_config
from tests.kb.search.conftest import fresh_database

DIM = 16
PUBLIC_EVERY = 50  # 2% of the chunks are public: a public search filters out 98%


def _unit(rng: np.random.Generator, rows: int) -> np.ndarray:
    matrix = rng.normal(size=(rows, DIM)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def _chunks(count: int, seed: int = 7) -> list[Document]:
    """``count`` chunks (one article each) with random unit vectors, every
    ``PUBLIC_EVERY``-th public, every third with three sentence vectors."""
    rng = np.random.default_rng(seed)
    vectors = _unit(rng, count)
    docs = []
    for i, vector in enumerate(vectors):
        meta: dict = {
            "article_id": f"a{i}",
            "version": 1,
            "audience": "public" if i % PUBLIC_EVERY == 0 else "internal",
            "type": "faq",
            "lang": "zh",
            "tags": [],
        }
        if i % 3 == 0:
            meta[SENTENCE_META] = _unit(rng, 3).tolist()
        docs.append(Document(id=f"c{i}", content=f"第{i}条", meta=meta, embedding=vector.tolist()))
    return docs


def _indexes(store: PostgresSearchIndex) -> set[str]:
    with store._cursor() as cur:
        cur.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%%_hnsw'")
        return {r[0] for r in cur.fetchall()}


def _column(store: PostgresSearchIndex, table: str) -> tuple[int, str]:
    """``(dimension or -1, storage)`` of ``table``'s vector column."""
    with store._cursor() as cur:
        cur.execute(
            "SELECT atttypmod, attstorage FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attname = 'embedding'",
            (table,),
        )
        typmod, storage = cur.fetchone()
        return int(typmod), str(storage)


@pytest.fixture
def empty(pg_server_url: str, request: pytest.FixtureRequest) -> Iterator[PostgresSearchIndex]:
    """A migrated, empty store in a database of its own (HNSW from the first chunk on)."""
    db = Database(fresh_database(pg_server_url, f"kb_hnsw_{request.node.name[:40].lower()}"))
    db.migrate()
    yield PostgresSearchIndex(db, exact_below=0)
    db.dispose()


@pytest.fixture(scope="module")
def big(pg_server_url: str) -> Iterator[PostgresSearchIndex]:
    """3,000 chunks, 1,000 of them with sentences, searched through HNSW."""
    db = Database(fresh_database(pg_server_url, "kb_hnsw_big"))
    db.migrate()
    store = PostgresSearchIndex(db, exact_below=0)
    store.apply(IndexUpdate(chunks=_chunks(3000), model_id="test", dim=DIM, full=True))
    with store._cursor() as cur:
        cur.execute("ANALYZE search_chunks; ANALYZE search_sentences")
    yield store
    db.dispose()


def test_the_first_write_fixes_the_dimension_and_creates_the_indexes(
    empty: PostgresSearchIndex,
) -> None:
    assert _indexes(empty) == set()
    assert _column(empty, "search_chunks")[0] == -1  # any dimension until a model is known
    empty.apply(IndexUpdate(chunks=_chunks(20), model_id="test", dim=DIM, full=True))
    assert _indexes(empty) == {name for name, _ in ANN_INDEXES}
    for _, table in ANN_INDEXES:
        assert _column(empty, table) == (DIM, "p")  # fixed, and still stored inline


def test_a_full_rebuild_with_another_dimension_retypes_the_columns(
    empty: PostgresSearchIndex,
) -> None:
    empty.apply(IndexUpdate(chunks=_chunks(20), model_id="test", dim=DIM, full=True))
    wider = [
        Document(
            id=d.id,
            content=d.content,
            meta={"article_id": d.meta["article_id"]},
            embedding=[*d.embedding, *([0.0] * DIM)],
        )
        for d in _chunks(20)
    ]
    empty.apply(IndexUpdate(chunks=wider, model_id="wide", dim=2 * DIM, full=True))
    assert _column(empty, "search_chunks") == (2 * DIM, "p")
    assert _indexes(empty) == {name for name, _ in ANN_INDEXES}
    hits = empty.snapshot().dense_search(np.asarray(wider[3].embedding), 1)
    assert hits[0][0].id == "c3"


def test_migration_0015_creates_and_drops_the_indexes(empty: PostgresSearchIndex) -> None:
    empty.apply(IndexUpdate(chunks=_chunks(30), model_id="test", dim=DIM, full=True))
    config = alembic_config(empty.engine)
    command.downgrade(config, "0014")
    assert _indexes(empty) == set()
    assert _column(empty, "search_chunks") == (-1, "p")
    assert _column(empty, "search_sentences") == (-1, "p")
    command.upgrade(config, "0015")  # a store with data: its dimension from search_state
    assert _indexes(empty) == {name for name, _ in ANN_INDEXES}
    assert _column(empty, "search_sentences") == (DIM, "p")
    assert empty.chunk_count() == 30  # the rows survive both ways


def _plan(store: PostgresSearchIndex, filters: SearchFilters | None) -> str:
    cond, params = where_sql(filters)
    query = _unit(np.random.default_rng(1), 1)[0]
    with store._cursor() as cur:
        cur.execute(
            f"EXPLAIN SELECT c.id FROM search_chunks c WHERE {cond} "
            "ORDER BY c.embedding <#> %(q)s LIMIT 20",
            params | {"q": query},
        )
        return "\n".join(r[0] for r in cur.fetchall())


@pytest.fixture
def no_seqscan(big: PostgresSearchIndex) -> Iterator[PostgresSearchIndex]:
    """The big store with sequential scans disabled for its database's new sessions: for a
    filter passing 2% of 3,000 chunks the planner rightly scans them exactly (~60 rows),
    so the iterative index scan is tested by taking that choice away."""
    name = big.engine.url.database
    with big._cursor() as cur:
        cur.execute(f'ALTER DATABASE "{name}" SET enable_seqscan = off')
    big.engine.dispose()
    yield big
    with big._cursor() as cur:
        cur.execute(f'ALTER DATABASE "{name}" RESET enable_seqscan')
    big.engine.dispose()


def test_the_planner_searches_through_the_hnsw_index(big: PostgresSearchIndex) -> None:
    """Without this the tests below would compare an exact scan with itself."""
    assert "ix_search_chunks_embedding_hnsw" in _plan(big, SearchFilters.build(audience="internal"))


@pytest.mark.parametrize("weight", [0.0, 0.5])
def test_a_selective_filter_still_gets_its_k_rows(
    no_seqscan: PostgresSearchIndex, weight: float
) -> None:
    """98% of the chunks filtered out: the iterative scan goes on until 20 pass; without it
    HNSW returns its candidate list (ef_search rows) minus the filtered ones (~2)."""
    big = no_seqscan
    public = SearchFilters.build(audience="public")
    assert "ix_search_chunks_embedding_hnsw" in _plan(big, public)
    rng = np.random.default_rng(3)
    for query in _unit(rng, 5):
        ann = big.dense_rows(query, 20, public, weight)
        exact = big.dense_rows(query, 20, public, weight, exact=True)
        assert len(ann) == 20
        assert all(int(chunk_id[1:]) % PUBLIC_EVERY == 0 for chunk_id, _ in ann)
        assert len({c for c, _ in ann} & {c for c, _ in exact}) >= 19


@pytest.mark.parametrize("weight", [0.0, 0.5])
def test_hnsw_finds_what_the_exact_scan_finds(big: PostgresSearchIndex, weight: float) -> None:
    """Recall@10 over 30 queries at least 0.99, the same scores, ranked by (score, seq)."""
    rng = np.random.default_rng(5)
    found = 0
    for query in _unit(rng, 30):
        ann = big.dense_rows(query, 10, None, weight)
        exact = big.dense_rows(query, 10, None, weight, exact=True)
        found += len({c for c, _ in ann} & {c for c, _ in exact})
        scores = dict(exact)
        for chunk_id, score in ann:
            if chunk_id in scores:
                assert score == pytest.approx(scores[chunk_id], abs=1e-6)
        assert [s for _, s in ann] == sorted((s for _, s in ann), reverse=True)
    assert found / 300 >= 0.99


def test_views_search_exactly_below_the_threshold(pg_server_url: str) -> None:
    """A store of fewer than ``exact_below`` chunks ranks ties in insertion order."""
    db = Database(fresh_database(pg_server_url, "kb_hnsw_ties"))
    db.migrate()
    try:
        store = PostgresSearchIndex(db, exact_below=1000)
        same = _chunks(1)[0].embedding
        twins = [replace(d, embedding=list(same)) for d in _chunks(12)]
        store.apply(IndexUpdate(chunks=twins, model_id="test", dim=DIM, full=True))
        hits = store.snapshot().dense_search(np.asarray(same), 5)
        assert [doc.id for doc, _ in hits] == [d.id for d in twins[:5]]
    finally:
        db.dispose()


def test_every_new_connection_is_taught_the_vector_type(big: PostgresSearchIndex) -> None:
    """CI regression: the store remembered taught connections by ``id()``; once the pool
    was disposed a new connection could be allocated at a closed one's address, be taken for
    taught, and fail with "cannot adapt type 'ndarray'". Many pool generations make such a
    reuse all but certain with the old bookkeeping; every search must still work."""
    query = _unit(np.random.default_rng(11), 1)[0]
    expected = big.dense_rows(query, 5, None, 0.0, exact=True)
    for _ in range(40):
        big.engine.dispose()
        gc.collect()
        assert big.dense_rows(query, 5, None, 0.0, exact=True) == expected
