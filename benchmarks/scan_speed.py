"""The proven 8-bit scans of issue 16 against the float32 computations they replace.

Opens an index home as ``benchmarks/suggest_speed.py`` does and, for the sample questions
(``tests/data/sample_questions.jsonl``), in one process:

- FAQ matcher, dense side: every question's cosine (the computation before) against the
  8-bit scans of ``kb.search.faq`` (``_DenseScorer``): whether the ranked FAQs (ids,
  scores, matched question, cosine) are identical, how many rankings needed every cosine
  after all, and the CPU per question of each, ``--repeat`` times;
- chunk scan: ``VectorIndex.nearest`` (proven through the 8-bit copy) against the float32
  ``search`` for k = 40 and 160 (the dense retriever's fetches): same rows or not, CPU;
- sentence scan (``pooled_search``'s ``4 k`` sentences, k = 40 and 160): the 8-bit scan of
  every window returning ``2 x 4 k`` rows (``QuantizedRows``, before) against
  ``VectorIndex.candidates`` (the rescored 4-bit scan, after): the time to build each copy,
  its bytes, how many of the exact best ``4 k`` and ``8 k`` windows each returns, how many
  rows the two share, CPU per question.

    .venv/bin/python benchmarks/scan_speed.py /tmp/faqspeed/h100k --cache CACHE
    .venv/bin/python benchmarks/scan_speed.py --tight-clusters    # synthetic, no home

``--tight-clusters``: the harsh case of the sentence scan, 4,000 vectors around 10 centres
(noise 0.4 and 1.0 of a unit vector), 30 questions x k = 1, 10, 40: how often the exact best
``k`` rows are among the ``2 k`` candidates of the 8-bit scan and of the rescored 4-bit scan.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import kb  # noqa: E402 - offline defaults
import kb.search.dense  # noqa: E402
from kb.config import Config  # noqa: E402
from kb.embedders import EmbedderSpec  # noqa: E402
from kb.language import base_language, detect_language  # noqa: E402
from kb.quality.evaluation import load_queries  # noqa: E402
from kb.search import faq  # noqa: E402
from kb.search.crosslang import neutral_query, neutral_scores  # noqa: E402
from kb.search.dense import QUANTIZED_FETCH, QuantizedRows, VectorIndex, as_matrix  # noqa: E402
from kb.search.filters import SearchFilters  # noqa: E402
from kb.search.index import IndexSnapshot  # noqa: E402
from kb.search.resources import SearchResources  # noqa: E402
from kb.search.retrieval import Searcher, build_query_pipeline  # noqa: E402

QUESTIONS = REPO / "tests" / "data" / "sample_questions.jsonl"


def cpu_ms(run: Callable[[], object], n: int) -> float:
    """Process CPU per item of ``run()`` over ``n`` items, ms."""
    started = time.process_time()
    run()
    return (time.process_time() - started) * 1000 / n


def _each(fn: Callable[..., object], items: list) -> list:
    """``fn`` applied to each item (a tuple of arguments, or one argument)."""
    return [fn(*item) if isinstance(item, tuple) else fn(item) for item in items]


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("home", type=Path, nargs="?")
    parser.add_argument("--cache", type=Path, help="embedding cache (with a home)")
    parser.add_argument(
        "--tight-clusters", action="store_true", help="only the synthetic clustered case"
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--real-vectors",
        type=Path,
        help="an embedding cache (read only) whose every vector is a row of a second "
        "sentence-scan recall check, on the model's own vectors",
    )
    args = parser.parse_args()
    if args.tight_clusters:
        for noise in (0.4, 1.0):
            tight_clusters(noise)
        return
    if args.home is None or args.cache is None:
        parser.error("an index home and --cache are needed (or --tight-clusters)")
    config = Config(home=args.home)
    resources = SearchResources()
    pipeline = build_query_pipeline(config, cache_path=str(args.cache), resources=resources)
    searcher = Searcher(config, pipeline=pipeline, resources=resources)
    searcher.warm_up()
    matcher = pipeline.get_component("faq")
    assert isinstance(matcher, faq.FaqMatcher)
    snap = searcher.reader.snapshot()
    assert isinstance(snap, IndexSnapshot)
    index = matcher.question_index(snap)
    backend = resources.backends.get(EmbedderSpec.from_config(config))
    asked = [
        (
            np.asarray(backend.embed_query(q.query), dtype=np.float32),
            detect_language(q.query),
            SearchFilters.build(audience=q.audience),
        )
        for q in load_queries(QUESTIONS)
    ]

    def rank(best: Iterator, filters: SearchFilters) -> list:
        served = faq._Served(snap, filters, 2 * matcher.top_k)
        return matcher._rank(snap, index, faq._Ranking(index, best), served)

    def every(query: np.ndarray, lang: str, filters: SearchFilters) -> list:
        unit, _ = neutral_query(query, index.basis)
        dense, raw = neutral_scores(index.vectors @ unit, index.along, query, index.basis)
        if lang:
            dense = np.where(index.langs == base_language(lang), raw, dense)
        best = ((i, float(dense[i]), float(raw[i])) for i in faq._best_first(dense))
        return rank(best, filters)

    scored_all = 0
    full_scores = faq._DenseScorer.scores

    def counted(self: faq._DenseScorer, rows: np.ndarray | None = None) -> tuple:
        nonlocal scored_all
        scored_all += rows is None
        return full_scores(self, rows)

    faq._DenseScorer.scores = counted  # type: ignore[method-assign]

    def scanned(query: np.ndarray, lang: str, filters: SearchFilters) -> list:
        scorer = faq._DenseScorer(index, query, lang, matcher.neutral)
        return rank(scorer.best_first(), filters)

    def key(docs: list) -> list:
        return [(d.id, d.score, d.meta.get("matched_question"), d.meta.get("cosine")) for d in docs]

    same = sum(key(every(*a)) == key(scanned(*a)) for a in asked)
    print(f"# {len(snap):,} chunks, {len(index):,} FAQ questions in {len(index.parts)} parts")
    print(f"# FAQ rankings identical: {same}/{len(asked)}; every cosine needed: {scored_all}")
    print("| what | run | CPU ms per question |")
    print("|---|---|---|")
    for run in range(args.repeat):
        for name, fn in (("FAQ dense, every cosine", every), ("FAQ dense, 8-bit scans", scanned)):
            ms = cpu_ms(partial(_each, fn, asked), len(asked))
            print(f"| {name} | {run + 1} | {ms:.2f} |")
    vectors = snap._vectors
    vectors.prepare_scans()
    units = [neutral_query(q, snap.language_basis())[0] for q, _, _ in asked]
    for k in (40, 160):
        same = sum(
            set(vectors.nearest(q, k)) == {r for r, _ in vectors.search(q, k)} for q in units
        )
        print(f"# chunk scan k={k}: same rows as the float32 scan {same}/{len(units)}")
        for run in range(args.repeat):
            proven = cpu_ms(partial(_each, partial(vectors.nearest, k=k), units), len(units))
            flat = cpu_ms(partial(_each, partial(vectors.search, k=k), units), len(units))
            what = f"chunk scan k={k}, float32 / proven 8-bit"
            print(f"| {what} | {run + 1} | {flat:.2f} / {proven:.2f} |")
    sentence_scans(snap._sentences.index, units, args.repeat)
    if args.real_vectors:
        raw = [as_matrix(q[None, :], len(q))[0] for q, _, _ in asked]
        real_recall(args.real_vectors, {"raw": raw, "neutral": units})


def sentence_scans(windows: VectorIndex, units: list[np.ndarray], repeat: int) -> None:
    """The sentence scan before (8-bit, every window) and after (``candidates``)."""
    started = time.process_time()
    windows._fast = None
    windows.prepare_scans()
    fast_s = time.process_time() - started
    started = time.process_time()
    coarse = QuantizedRows(windows._blocks, windows.dim, bounded=False)
    coarse_s = time.process_time() - started
    assert windows._fast is not None
    print(
        f"# sentence windows {len(windows):,}: 4-bit copy built in {fast_s:.2f} s CPU, "
        f"{windows._fast.index.code_size * len(windows) / 1e6:.1f} MB; 8-bit copy "
        f"{coarse_s:.2f} s, {coarse.index.code_size * len(windows) / 1e6:.1f} MB"
    )

    def before(query: np.ndarray, k: int) -> list[int]:
        return coarse.search(query, QUANTIZED_FETCH * 4 * k)[0].tolist()

    def after(query: np.ndarray, k: int) -> list[int]:
        return windows.candidates(query, 4 * k)

    for k in (40, 160):
        exact = [[r for r, _ in windows.search(q, 8 * k)] for q in units]
        for name, fn in (("8-bit", before), ("4-bit rescored", after)):
            got = [set(fn(q, k)) for q in units]
            held4 = [len(g & set(e[: 4 * k])) / (4 * k) for g, e in zip(got, exact, strict=True)]
            held8 = [len(g & set(e)) / (8 * k) for g, e in zip(got, exact, strict=True)]
            print(
                f"# sentences k={k}, {name}: exact best {4 * k} held for "
                f"{sum(h == 1 for h in held4)}/{len(units)} (recall {np.mean(held4):.5f}), "
                f"exact best {8 * k}: recall {np.mean(held8):.5f}"
            )
        shared = [len(set(before(q, k)) & set(after(q, k))) / (8 * k) for q in units]
        print(f"# sentences k={k}: rows shared by before and after {np.mean(shared):.5f}")
        for run in range(repeat):
            old = cpu_ms(partial(_each, partial(before, k=k), units), len(units))
            new = cpu_ms(partial(_each, partial(after, k=k), units), len(units))
            what = f"sentence scan k={k}, 8-bit / 4-bit rescored"
            print(f"| {what} | {run + 1} | {old:.2f} / {new:.2f} |")


def real_recall(cache: Path, queries: dict[str, list[np.ndarray]]) -> None:
    """Recall of both sentence scans with every vector of ``cache`` as the rows (the
    threshold of the 4-bit scan lowered to their number)."""
    with sqlite3.connect(f"file:{cache}?mode=ro", uri=True) as db:
        found = db.execute("SELECT vector FROM embeddings ORDER BY text_sha256").fetchall()
    stacked = np.stack([np.frombuffer(v, dtype=np.float32) for (v,) in found])
    rows = as_matrix(stacked, stacked.shape[1])
    kb.search.dense.QUANTIZED_SCAN_MIN_ROWS = len(rows)
    windows = VectorIndex.build(rows, rows.shape[1])
    windows.prepare_scans()
    coarse = QuantizedRows(windows._blocks, windows.dim, bounded=False)
    print(f"# the model's vectors: {len(rows):,} rows of {cache}")
    for name, units in queries.items():
        for k in (40, 160):
            exact = [{r for r, _ in windows.search(q, 4 * k)} for q in units]
            old = [set(coarse.search(q, QUANTIZED_FETCH * 4 * k)[0].tolist()) for q in units]
            new = [set(windows.candidates(q, 4 * k)) for q in units]
            print(
                f"# {name} queries, k={k}: exact best {4 * k} held by the 8-bit scan for "
                f"{sum(e <= o for e, o in zip(exact, old, strict=True))}/{len(units)}, by the "
                f"4-bit rescored scan for {sum(e <= n for e, n in zip(exact, new, strict=True))}"
                f"/{len(units)} (recall "
                f"{np.mean([len(e & n) / len(e) for e, n in zip(exact, new, strict=True)]):.5f})"
            )


def tight_clusters(noise: float, rows: int = 4000, seed: int = 9) -> None:
    """Exact best ``k`` held by the ``2 k`` candidates of both sentence scans on vectors
    around 10 centres (``noise`` x a random unit vector; one dimension stretched)."""
    rng = np.random.default_rng(seed)

    def units(n: int) -> np.ndarray:
        m = rng.normal(size=(n, 384)).astype(np.float32)
        return m / np.linalg.norm(m, axis=1, keepdims=True)

    centres = units(10)
    vectors = centres[rng.integers(0, 10, rows)] + noise * units(rows)
    vectors[:, 5] *= 3
    vectors = as_matrix(vectors / np.linalg.norm(vectors, axis=1, keepdims=True), 384)
    kb.search.dense.QUANTIZED_SCAN_MIN_ROWS = 1000
    index = VectorIndex.build(vectors, 384)
    index.prepare_scans()
    coarse = QuantizedRows(index._blocks, 384, bounded=False)
    queries = np.concatenate([vectors[:20] + 0.3 * units(20), units(10)])
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    held = {"8-bit": 0, "4-bit rescored": 0}
    for query in queries:
        for k in (1, 10, 40):
            best = set(np.lexsort((np.arange(rows), -(vectors @ query)))[:k].tolist())
            held["8-bit"] += best <= set(coarse.search(query, QUANTIZED_FETCH * k)[0].tolist())
            held["4-bit rescored"] += best <= set(index.candidates(query, k))
    pairs = 3 * len(queries)
    print(
        f"# tight clusters, noise {noise}: exact best k among the 2k candidates for "
        + ", ".join(f"{held[name]}/{pairs} ({name})" for name in held)
    )


if __name__ == "__main__":
    main()
