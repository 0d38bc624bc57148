"""Suggest at 100,000 chunks: the dense search of issue 16 against the one before, in one run.

Opens an index built by ``benchmarks/suggest_latency.py`` (its ``latency-N`` home, reused:
building 100,000 chunks takes 20+ minutes on a busy machine) and asks every sample question
(``tests/data/sample_questions.jsonl``) ``--repeat`` times through ``Suggester.suggest``,
alternating per question between

- **before**: float32 candidate scans (``kb.search.dense.QUANTIZED_SCAN_MIN_ROWS`` out of
  reach) and a filtered dense search that fetches ``top_k`` first
  (``kb.search.index.FILTERED_FETCH = 1``);
- **after**: the defaults (quantised candidate scans from 100,000 rows on: float16 in
  speed2, 8-bit since speed3; ``4 x top_k`` at once: one round where the code before needed
  a second one of ``4 x top_k``).

It prints wall and process-CPU p50/p95 of each, the query embedding alone for the same
questions (the target is suggest p95 <= 2x the embedding's), how often both return the same
top-5 citations, and the process's resident memory.

    .venv/bin/python benchmarks/suggest_latency.py --sizes 100000 --repeat 1   # builds once
    .venv/bin/python benchmarks/suggest_scale.py ~/.cache/kb-bench/latency/latency-100000
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import kb  # noqa: E402 - offline defaults
import kb.search.dense  # noqa: E402
import kb.search.index  # noqa: E402
from kb.config import Config  # noqa: E402
from kb.embedders import EmbedderSpec  # noqa: E402
from kb.quality.evaluation import load_queries, percentile  # noqa: E402
from kb.search.filters import SearchFilters  # noqa: E402
from kb.search.resources import SearchResources  # noqa: E402

QUESTIONS = REPO / "tests" / "data" / "sample_questions.jsonl"
VARIANTS = {
    "before": (10**12, 1),
    "after": (
        kb.search.dense.QUANTIZED_SCAN_MIN_ROWS,
        kb.search.index.FILTERED_FETCH,
    ),
}


def rss_mb() -> float:
    """This process's resident memory now, MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def use(variant: str) -> None:
    """Switch the dense search to ``variant``."""
    kb.search.dense.QUANTIZED_SCAN_MIN_ROWS, kb.search.index.FILTERED_FETCH = VARIANTS[variant]


def cited(suggestion: object) -> list[str]:
    """A suggestion's first five citations: article and the start of the passage."""
    data = suggestion.to_dict() if hasattr(suggestion, "to_dict") else {}
    return [f"{c['article_id']}:{c.get('passage', '')[:40]}" for c in data["citations"][:5]]


def row(name: str, wall: list[float], cpu: list[float]) -> str:
    """One table row of p50/p95 figures."""
    return (
        f"| {name} | {len(wall)} | {percentile(wall, 50):.1f} | {percentile(wall, 95):.1f} | "
        f"{percentile(cpu, 50):.1f} | {percentile(cpu, 95):.1f} |"
    )


def main() -> None:
    """Print the comparison."""
    from kb.answer.suggest import Suggester
    from kb.search.retrieval import Searcher, build_query_pipeline

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("home", type=Path, help="a latency-N home of suggest_latency.py")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--cache", type=Path, help="embedding cache (default: beside home)")
    parser.add_argument("--control", action="store_true", help="'before' twice: its self-agreement")
    args = parser.parse_args()
    if args.control:
        VARIANTS["after"] = VARIANTS["before"]
    cache = args.cache or args.home.parent.parent / "embeddings.sqlite3"
    config = Config(home=args.home)
    resources = SearchResources()  # what the process's runtime would hold
    pipeline = build_query_pipeline(config, cache_path=str(cache), resources=resources)
    searcher = Searcher(config, pipeline=pipeline, resources=resources)
    suggester = Suggester(config, searcher=searcher)
    suggester.warm_up()
    backend = resources.backends.get(EmbedderSpec.from_config(config))
    queries = load_queries(QUESTIONS)
    for variant in VARIANTS:  # warm both (the float16 copies are made at first use)
        use(variant)
        suggester.suggest(queries[0].query, SearchFilters.build(audience="public"), log=False)
    times: dict[str, tuple[list[float], list[float]]] = {
        name: ([], []) for name in (*VARIANTS, "embedding")
    }
    same = total = 0
    for q in queries * args.repeat:
        filters = SearchFilters.build(audience=q.audience)
        tops = []
        for variant in VARIANTS:
            use(variant)
            t0, c0 = time.perf_counter(), time.process_time()
            tops.append(cited(suggester.suggest(q.query, filters, log=False)))
            times[variant][0].append((time.perf_counter() - t0) * 1000)
            times[variant][1].append((time.process_time() - c0) * 1000)
        t0, c0 = time.perf_counter(), time.process_time()
        backend.embed_query(q.query)
        times["embedding"][0].append((time.perf_counter() - t0) * 1000)
        times["embedding"][1].append((time.process_time() - c0) * 1000)
        same += len(set(tops[0]) & set(tops[1]))
        total += max(len(tops[0]), 1)
    size = f"{len(searcher.snapshot()):,} chunks"
    print(f"# {size}; load {os.getloadavg()[0]:.1f}; {os.cpu_count()} CPUs; RSS {rss_mb():.0f} MB")
    print(
        "| what | requests | p50 ms | p95 ms | CPU p50 ms | CPU p95 ms |\n|---|---|---|---|---|---|"
    )
    for name, (wall, cpu) in times.items():
        print(row(name, wall, cpu))
    emb95 = percentile(times["embedding"][1], 95)
    for variant in VARIANTS:
        ratio = percentile(times[variant][1], 95) / emb95
        print(f"# {variant}: CPU p95 / embedding CPU p95 = {ratio:.2f}")
    print(f"# top-5 citations shared by before and after: {same / total:.3f}")


if __name__ == "__main__":
    main()
