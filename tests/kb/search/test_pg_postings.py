"""The postgres store's lexical postings (``search_postings``, migration 0016), on a real
PostgreSQL (``pgserver``, ``tests.pg``); nothing is mocked.

Each posting carries its chunk's ``seq`` and length, so lexical search sums BM25 over the
postings alone; the rankings and scores must stay those of the in-memory BM25 (bm25s) over
the same tokens, with the filters in the SQL, through writes, replacements and the
migration both ways.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import numpy as np
import pytest
from alembic import command
from haystack import Document

from kb.search.filters import SearchFilters
from kb.search.postgres import PostgresSearchIndex
from kb.search.store import IndexUpdate
from kb.store.db import Database, alembic_config
from tests.kb.search.conftest import fresh_database

DIM = 8
WORDS = ["退款", "快递", "丢失", "积分", "过期", "会员", "发票", "售后", "客服", "地址"]
QUERIES = ["快递丢了怎么退款", "积分过期", "会员发票 售后客服", "地址 地址 快递", "没有的词汇"]
FILTERS = [
    None,
    SearchFilters.build(audience="public"),
    SearchFilters.build(audience="internal", types=["faq"]),
    SearchFilters.build(audience="internal", tags=["甲"]),
]


def _chunks(count: int, seed: int = 3) -> list[Document]:
    """``count`` chunks of 2 per article, texts of common and rarer words, mixed filters."""
    rng = np.random.default_rng(seed)
    docs = []
    for i in range(count):
        words = rng.choice(WORDS, size=int(rng.integers(2, 12)), p=_weights())
        vector = rng.normal(size=DIM)
        meta = {
            "article_id": f"a{i // 2}",
            "version": 1,
            "audience": "public" if i % 3 else "internal",
            "type": "faq" if i % 2 else "doc",
            "lang": "zh",
            "tags": ["甲"] if i % 4 == 0 else [],
        }
        docs.append(
            Document(
                id=f"a{i // 2}:{i % 2}",
                content="，".join(words) + "。",
                meta=meta,
                embedding=(vector / np.linalg.norm(vector)).tolist(),
            )
        )
    return docs


def _weights() -> np.ndarray:
    weights = np.arange(len(WORDS), 0, -1, dtype=float)
    return weights / weights.sum()


@pytest.fixture
def store(pg_server_url: str, request: pytest.FixtureRequest) -> Iterator[PostgresSearchIndex]:
    """A store of 120 chunks in a database of its own."""
    db = Database(fresh_database(pg_server_url, f"kb_post_{request.node.name[:40].lower()}"))
    db.migrate()
    pg = PostgresSearchIndex(db, check_interval_ms=0)
    pg.apply(IndexUpdate(chunks=_chunks(120), model_id="test", dim=DIM, full=True))
    yield pg
    db.dispose()


def _postings(pg: PostgresSearchIndex) -> Counter[tuple[str, str, int, int]]:
    """``(chunk id, term, tf, length)`` of every stored posting."""
    with pg._cursor() as cur:
        cur.execute(
            "SELECT c.id, p.term, p.tf, p.length FROM search_postings p "
            "JOIN search_chunks c ON c.seq = p.seq"
        )
        return Counter(cur.fetchall())


def _expected_postings(pg: PostgresSearchIndex) -> Counter[tuple[str, str, int, int]]:
    """The postings the chunks' stored jieba tokens call for."""
    with pg._cursor() as cur:
        cur.execute("SELECT id, terms FROM search_texts")
        rows = cur.fetchall()
    out: Counter[tuple[str, str, int, int]] = Counter()
    for chunk_id, terms in rows:
        tokens = terms.split(" ") if terms else []
        for term, tf in Counter(tokens).items():
            out[(chunk_id, term, tf, len(tokens))] += 1
    return out


def _assert_like_bm25s(pg: PostgresSearchIndex) -> None:
    """Every query and filter ranks as the in-memory BM25 over the same version."""
    pg.refresh()
    view = pg.snapshot()
    reference = view.materialize()
    compared = 0
    for query in QUERIES:
        for filters in FILTERS:
            got = view.lexical_search(query, 10, filters=filters)
            want = reference.lexical_search(query, 10, filters=filters)
            np.testing.assert_allclose([s for _, s in got], [s for _, s in want], rtol=1e-5)
            _assert_same_up_to_ties(got, want)
            compared += len(got)
    assert compared > 50


def _assert_same_up_to_ties(got: list, want: list) -> None:
    """The same chunks at each score (to 4 decimals: chunks with the same terms score alike
    up to the order of float additions, so their order is not fixed); the chunks tied at the
    last score may differ only in which of them made the cut."""
    groups: dict[float, list[str]] = {}
    for doc, score in got:
        groups.setdefault(round(score, 4), []).append(doc.id)
    wanted: dict[float, set[str]] = {}
    for doc, score in want:
        wanted.setdefault(round(score, 4), set()).add(doc.id)
    last = min(groups, default=0.0)
    for score, ids in groups.items():
        if score != last:
            assert set(ids) == wanted[score]


def test_each_chunk_has_its_postings_with_its_length(store: PostgresSearchIndex) -> None:
    assert _postings(store) == _expected_postings(store)
    assert sum(_postings(store).values()) > 120


def test_lexical_search_ranks_as_bm25s(store: PostgresSearchIndex) -> None:
    _assert_like_bm25s(store)


def test_replacing_and_removing_articles_replaces_their_postings(
    store: PostgresSearchIndex,
) -> None:
    old = _chunks(120)
    changed = Document(
        id=old[0].id,
        content="全新的内容：保修政策。",
        meta={**old[0].meta, "version": 2},
        embedding=old[0].embedding,
    )
    store.apply(IndexUpdate(chunks=[changed], remove_article_ids=["a5", "a6"]))
    postings = _postings(store)
    assert postings == _expected_postings(store)
    ids = {chunk_id for chunk_id, *_ in postings}
    assert old[1].id not in ids  # the article's other chunk went with it
    assert not ids & {"a5:0", "a5:1", "a6:0", "a6:1"}
    assert store.snapshot().lexical_search("保修政策", 3)[0][0].id == old[0].id
    _assert_like_bm25s(store)


def test_migration_0016_copies_the_postings_both_ways(store: PostgresSearchIndex) -> None:
    before = _postings(store)
    config = alembic_config(store.engine)
    command.downgrade(config, "0015")
    with store._cursor() as cur:
        cur.execute("SELECT to_regclass('search_postings'), count(*) FROM search_terms")
        table, rows = cur.fetchone()
    assert table is None and rows == sum(before.values())
    command.upgrade(config, "0016")
    assert _postings(store) == before
    _assert_like_bm25s(store)
    store.apply(IndexUpdate(chunks=_chunks(4, seed=9), model_id="test", dim=DIM))
    assert _postings(store) == _expected_postings(store)  # writes after the migration


def test_the_filter_cut_changes_nothing(store: PostgresSearchIndex) -> None:
    """Filtering only the best-scored chunks first (``lexical_cut``), then every scored
    chunk when too few of them pass, gives the results of filtering every scored chunk."""
    uncut = PostgresSearchIndex(store.engine, check_interval_ms=0, lexical_cut=10**6)
    narrow = PostgresSearchIndex(store.engine, check_interval_ms=0, lexical_cut=1)
    tokenizer = store.tokenizer
    fallbacks = 0
    for query in QUERIES:
        tokens = tokenizer.tokenize(query)
        for filters in FILTERS:
            want = uncut.lexical_rows(tokens, 10, filters)
            assert narrow.lexical_rows(tokens, 10, filters) == want
            assert store.lexical_rows(tokens, 10, filters) == want
            best = uncut.lexical_rows(tokens, 10, None)
            fallbacks += filters is not None and [i for i, _ in want] != [i for i, _ in best]
    assert fallbacks > 0  # the narrow cut had to widen for some filters
    _assert_like_bm25s(narrow)
