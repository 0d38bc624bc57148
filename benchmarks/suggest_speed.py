"""Suggest at N chunks against the query embedding alone, memory and (optionally) a profile.

Opens an index home built by ``benchmarks/suggest_latency.py`` (its ``latency-N`` directory,
reused as it is), loads it as ``kb serve`` would (``Suggester.warm_up``), then asks every
sample question (``tests/data/sample_questions.jsonl``) ``--repeat`` times through
``Suggester.suggest``, each followed by the query embedding alone of the same question. It
prints:

- seconds to load the index and the model (``warm_up``) and the resident memory after it;
- wall and process-CPU p50/p95 of suggest and of the embedding, and the ratio of the CPU
  p95s (issue 16's target: suggest p95 <= 2x the embedding's);
- resident memory after the requests (``VmRSS``) and its peak (``VmHWM``);
- with ``--profile N``: the N functions with the most own time and the N kb functions with
  the most cumulative time, per request (timed figures are then inflated by the profiler);
- with ``--dump FILE``: each question's top-5 citations (article and passage start) and
  confidence as JSON, to compare two code versions (``--compare FILE``).

    .venv/bin/python benchmarks/suggest_speed.py /tmp/sp2-bench/latency/latency-100000
    .venv/bin/python benchmarks/suggest_speed.py HOME --profile 25 --repeat 1
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from suggest_latency import print_profile  # noqa: E402
from suggest_scale import row  # noqa: E402

import kb  # noqa: E402,F401 - offline defaults
from kb.config import Config  # noqa: E402
from kb.embedders import EmbedderSpec  # noqa: E402
from kb.quality.evaluation import load_queries, percentile  # noqa: E402
from kb.search.filters import SearchFilters  # noqa: E402
from kb.search.resources import SearchResources  # noqa: E402

QUESTIONS = REPO / "tests" / "data" / "sample_questions.jsonl"


def memory_mb(field: str) -> float:
    """This process's ``VmRSS`` or ``VmHWM`` now, MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def outcome(suggestion: object) -> dict[str, object]:
    """What must not change between two code versions: top-5 citations and confidence."""
    data = suggestion.to_dict() if hasattr(suggestion, "to_dict") else {}
    cites = [f"{c['article_id']}:{c.get('passage', '')[:40]}" for c in data["citations"][:5]]
    return {"citations": cites, "confidence": round(float(data.get("confidence") or 0), 6)}


def main() -> None:
    """Print the figures."""
    from kb.answer.suggest import Suggester
    from kb.search.retrieval import Searcher, build_query_pipeline

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("home", type=Path, help="a latency-N home of suggest_latency.py")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--cache", type=Path, help="embedding cache (default: beside home)")
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    parser.add_argument("--dump", type=Path, help="write each question's outcome here (JSON)")
    parser.add_argument("--compare", type=Path, help="compare the outcomes with this dump")
    args = parser.parse_args()
    cache = args.cache or args.home.parent.parent / "embeddings.sqlite3"
    config = Config(home=args.home)
    started = time.perf_counter()
    resources = SearchResources()  # what the process's runtime would hold
    pipeline = build_query_pipeline(config, cache_path=str(cache), resources=resources)
    searcher = Searcher(config, pipeline=pipeline, resources=resources)
    suggester = Suggester(config, searcher=searcher)
    suggester.warm_up()
    load_s, load_rss = time.perf_counter() - started, memory_mb("VmRSS")
    backend = resources.backends.get(EmbedderSpec.from_config(config))  # the pipeline's own
    queries = load_queries(QUESTIONS)
    for q in queries[:2]:
        suggester.suggest(q.query, SearchFilters.build(audience=q.audience), log=False)
    times: dict[str, tuple[list[float], list[float]]] = {"suggest": ([], []), "embedding": ([], [])}
    outcomes: list[dict[str, object]] = []
    profiler = cProfile.Profile() if args.profile else None
    for q in queries * args.repeat:
        filters = SearchFilters.build(audience=q.audience)
        if profiler is not None:
            profiler.enable()
        t0, c0 = time.perf_counter(), time.process_time()
        suggestion = suggester.suggest(q.query, filters, log=False)
        times["suggest"][0].append((time.perf_counter() - t0) * 1000)
        times["suggest"][1].append((time.process_time() - c0) * 1000)
        if profiler is not None:
            profiler.disable()
        outcomes.append({"query": q.query, **outcome(suggestion)})
        t0, c0 = time.perf_counter(), time.process_time()
        backend.embed_query(q.query)
        times["embedding"][0].append((time.perf_counter() - t0) * 1000)
        times["embedding"][1].append((time.process_time() - c0) * 1000)
    size = f"{len(searcher.snapshot()):,} chunks"
    print(f"# {size}; load {os.getloadavg()[0]:.1f}; {os.cpu_count()} CPUs")
    print(f"# index + model loaded (warm_up) in {load_s:.1f} s; RSS then {load_rss:.0f} MB")
    print(f"# RSS after the requests {memory_mb('VmRSS'):.0f} MB, peak {memory_mb('VmHWM'):.0f} MB")
    print("| what | requests | p50 ms | p95 ms | CPU p50 ms | CPU p95 ms |")
    print("|---|---|---|---|---|---|")
    for name, (wall, cpu) in times.items():
        print(row(name, wall, cpu))
    ratio = percentile(times["suggest"][1], 95) / percentile(times["embedding"][1], 95)
    print(f"# suggest CPU p95 / embedding CPU p95 = {ratio:.2f}")
    if args.dump:
        args.dump.write_text(json.dumps(outcomes, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.compare:
        before = json.loads(args.compare.read_text(encoding="utf-8"))
        same = sum(a == b for a, b in zip(before, outcomes, strict=False))
        print(f"# outcomes identical to {args.compare.name}: {same}/{len(outcomes)}")
    if profiler is not None:
        print_profile(profiler, len(outcomes), args.profile)


if __name__ == "__main__":
    main()
