"""Benchmark: the postgres store's lexical search before and after migration 0016
(``search_postings``), on the same tables in one run (issue 15, branch pglex2).

For each ``--sizes`` (chunks: the sample articles plus synthetic ones, in a kept pgserver
database, ``benchmarks/pg_corpus.py``): the store at revision 0015 with migration 0014's
lexical SQL (``BEFORE_SQL``, postings in ``search_terms`` joined to the chunks' filter
index), then migration 0016 applied (timed), then the store's own lexical SQL. Each time:
the lexical search alone (p50/p95 ms over the sample questions, public filter, k 20 as
retrieval asks) and whole suggestions (``Suggester.suggest``, each question's audience, 2
warm-up questions; before: ``main_language`` counted at every call, as the view did before
this branch). The top 20 after must equal the top 20 before (ids, order, scores to 1e-9
relative).

    .venv/bin/python benchmarks/pg_postings.py --sizes 10000 100000 --pgdata /tmp/pglex2/pg/data
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import kb  # noqa: E402,F401 - offline defaults
from kb.config import Config  # noqa: E402
from kb.quality.evaluation import load_queries, percentile  # noqa: E402
from kb.search.bm25 import K1, B  # noqa: E402
from kb.search.filters import SearchFilters  # noqa: E402
from kb.search.postgres import PostgresSearchIndex, PostgresSearchView, where_sql  # noqa: E402

K = 20  # kb.search.retrieval.CANDIDATES: what the BM25 retriever asks for

# The lexical SQL of migrations 0014/0015 (kb.search.postgres before 0016)
BEFORE_SQL = """
WITH st AS (SELECT chunk_count::float8 AS n,
        GREATEST(total_length / NULLIF(chunk_count, 0), 1e-9) AS avgdl
    FROM search_state WHERE id = 1),
q AS (SELECT t AS term, count(*)::float8 AS times
    FROM unnest(%(terms)s::text[]) AS t GROUP BY t),
df AS (SELECT term, count(*)::float8 AS df FROM search_terms
    WHERE term = ANY(%(terms)s::text[]) GROUP BY term),
w AS (SELECT q.term, q.times * ln(1 + (st.n - df.df + 0.5) / (df.df + 0.5)) AS idf
    FROM q JOIN df USING (term), st)
SELECT c.id, sum(w.idf * t.tf / (t.tf + %(k1)s * ((1 - %(b)s)
        + %(b)s * c.length / st.avgdl))) AS s, min(c.seq) AS seq
FROM w JOIN search_terms t USING (term)
JOIN search_chunks c ON c.id = t.chunk_id, st
WHERE {cond}
GROUP BY c.id HAVING sum(w.idf * t.tf) > 0
ORDER BY s DESC, seq LIMIT %(k)s
"""


class BeforeStore(PostgresSearchIndex):
    """The store as before this branch: the lexical SQL of revision 0015, and a view that
    counts its chunks' languages at every ``main_language`` call."""

    def snapshot(self) -> PostgresSearchView:
        """The live view, its main language forgotten (counted again when asked)."""
        view = super().snapshot()
        view._main_language = None
        return view

    def lexical_rows(
        self, tokens: Any, top_k: int, filters: SearchFilters | None
    ) -> list[tuple[str, float]]:
        """Migration 0014's lexical SQL on ``search_terms``."""
        if not tokens:
            return []
        cond, params = where_sql(filters)
        params |= {"terms": list(tokens), "k": top_k, "k1": K1, "b": B}
        with self._cursor() as cur:
            cur.execute(BEFORE_SQL.format(cond=cond), params)
            return [(r[0], float(r[1])) for r in cur.fetchall()]


def lexical(store: PostgresSearchIndex, queries: list[list[str]]) -> tuple[list, list[float]]:
    """Each question's top ``K`` (public filter) and ms per search."""
    filters = SearchFilters.build(audience="public")
    tops, wall = [], []
    for tokens in queries:
        t0 = time.perf_counter()
        tops.append(store.lexical_rows(tokens, K, filters))
        wall.append((time.perf_counter() - t0) * 1000)
    return tops, wall


def suggest(store: PostgresSearchIndex, config: Config, questions: list, cache: Path) -> list:
    """ms per whole suggestion on ``store``."""
    from kb.answer.suggest import Suggester
    from kb.search.retrieval import Searcher, build_query_pipeline

    pipeline = build_query_pipeline(config, cache_path=str(cache))
    suggester = Suggester(config, searcher=Searcher(config, reader=store, pipeline=pipeline))
    suggester.warm_up()
    for q in questions[:2]:
        suggester.suggest(q.query, SearchFilters.build(audience=q.audience), log=False)
    wall = []
    for q in questions:
        t0 = time.perf_counter()
        suggester.suggest(q.query, SearchFilters.build(audience=q.audience), log=False)
        wall.append((time.perf_counter() - t0) * 1000)
    return wall


def same(before: list, after: list) -> int:
    """Questions whose top ``K`` is identical (ids, order, scores to 1e-9 relative)."""
    return sum(
        [i for i, _ in a] == [i for i, _ in b]
        and all(abs(x - y) <= 1e-9 * max(1.0, abs(x)) for (_, x), (_, y) in zip(a, b, strict=True))
        for a, b in zip(before, after, strict=True)
    )


def row(size: int, name: str, lex: list[float], sug: list[float] | None) -> None:
    """One table row: p50/p95 of the lexical search and of suggest."""
    sug_cells = f"{percentile(sug, 50):.0f} | {percentile(sug, 95):.0f}" if sug else "– | –"
    print(
        f"| {size} | {name} | {percentile(lex, 50):.1f} | {percentile(lex, 95):.1f} | "
        f"{sug_cells} | {os.getloadavg()[0]:.1f} |",
        flush=True,
    )


def run_size(url: str, size: int, args: argparse.Namespace, questions: list) -> None:
    """Before (0015), migrate, after (0016) on the ``size``-chunk store."""
    from pg_corpus import autocommit, loaded_store, to_revision

    cache = args.cache_dir / "embeddings.sqlite3"
    store = loaded_store(url, size, cache, revision="0015")
    autocommit(store.engine, "VACUUM ANALYZE")
    before = BeforeStore(store.engine)
    tokenizer = before.tokenizer
    queries = [t for t in (tokenizer.tokenize(q.query) for q in questions) if t]
    config = Config(home=Path(tempfile.mkdtemp(prefix="kb-bench-postings-")))
    lexical(before, queries[:5])  # warm the buffers
    tops_before, lex_before = lexical(before, queries)
    sug_before = None if args.skip_suggest else suggest(before, config, questions, cache)
    row(size, "before: 0015, search_terms joined to the chunks", lex_before, sug_before)
    started = time.perf_counter()
    to_revision(store, "0016")
    migrated = time.perf_counter() - started
    autocommit(store.engine, "VACUUM ANALYZE")
    after = PostgresSearchIndex(store.engine)
    lexical(after, queries[:5])
    tops_after, lex_after = lexical(after, queries)
    sug_after = None if args.skip_suggest else suggest(after, config, questions, cache)
    row(size, "after: 0016, search_postings", lex_after, sug_after)
    print(
        f"\n{size} chunks: same top {K} {same(tops_before, tops_after)}/{len(queries)}; "
        f"migration 0016 took {migrated:.1f} s\n",
        flush=True,
    )
    store.engine.dispose()


def main() -> None:
    """Parse the options, then measure each size."""
    from pg_corpus import kept_server
    from retrieval_compare import default_cache_dir
    from suggest_latency import QUESTIONS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--pgdata", type=Path, required=True, help="kept server data dir")
    parser.add_argument("--skip-suggest", action="store_true")
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    args = parser.parse_args()
    _, url = kept_server(args.pgdata)
    questions = load_queries(QUESTIONS)
    print("| chunks | lexical SQL | lexical p50 ms | p95 ms | suggest p50 ms | p95 ms | load |")
    print("|---|---|---|---|---|---|---|", flush=True)
    for size in args.sizes:
        run_size(url, size, args, questions)


if __name__ == "__main__":
    main()
