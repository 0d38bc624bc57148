"""What a process's ``Runtime`` saves by owning the search resources (issue 15).

Builds the sample knowledge base (``articles/``) into a temporary ``KB_HOME`` with the real
model, then, in this one process:

1. one ``Runtime``: answers every sample question (``tests/data/sample_questions.jsonl``)
   twice through ``Suggester(searcher=runtime.searcher)``, then builds what the API builds on
   demand (a second ``Searcher`` for the golden checker) on ``runtime.resources``;
2. the same second searcher on a fresh ``SearchResources`` (what each part would load if it
   did not share: its own tokenizer, reader, index version and FAQ question index).

Prints how many backends, tokenizers, readers and question indexes each run built, the
answers' p50/p95, and the time and resident memory the second searcher's first search cost.

    .venv/bin/python benchmarks/runtime_resources.py
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import kb  # noqa: E402,F401 - offline defaults
from kb.answer.suggest import Suggester  # noqa: E402
from kb.config import Config  # noqa: E402
from kb.quality.evaluation import load_queries, percentile  # noqa: E402
from kb.runtime import Runtime  # noqa: E402
from kb.search.filters import SearchFilters  # noqa: E402
from kb.search.resources import SearchResources  # noqa: E402
from kb.search.retrieval import Searcher  # noqa: E402
from tests.kb.indexing import build_index, sample_articles  # noqa: E402

QUESTIONS = REPO / "tests" / "data" / "sample_questions.jsonl"
PUBLIC = SearchFilters.build(audience="public")


def rss_mb() -> float:
    """Current resident memory of this process, MB (from /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def counts(resources: SearchResources) -> str:
    """The pools' build counts, as printed."""
    return (
        f"backends {resources.backends.created}, tokenizers {resources.tokenizers.created}, "
        f"readers {resources.readers.created}, question indexes "
        f"{resources.question_indexes.built}"
    )


def second_searcher(config: Config, resources: SearchResources, question: str) -> str:
    """Build a searcher on ``resources`` and time its first search; the printed figures."""
    before, started = rss_mb(), time.perf_counter()
    Searcher(config, resources=resources).search(question, PUBLIC)
    seconds = time.perf_counter() - started
    return f"first search {seconds:.2f} s, +{rss_mb() - before:.0f} MB; {counts(resources)}"


def main() -> None:
    """Build the knowledge base, run both cases and print the figures."""
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    questions = [q.query for q in load_queries(QUESTIONS)]
    with tempfile.TemporaryDirectory(prefix="kb-bench-runtime-") as tmp:
        config = Config(home=Path(tmp) / "home")
        build_index(sample_articles(), config, cache_path=Path(tmp) / "embeddings.sqlite3")
        runtime = Runtime(config)
        suggester = Suggester(config, searcher=runtime.searcher)
        times = []
        for _round in range(2):
            for question in questions:
                started = time.perf_counter()
                suggester.suggest(question, PUBLIC, log=False)
                times.append((time.perf_counter() - started) * 1000)
        print(f"{len(times)} answers through one runtime: {counts(runtime.resources)}")
        print(f"  p50 {percentile(times, 50):.0f} ms, p95 {percentile(times, 95):.0f} ms")
        print(f"  RSS {rss_mb():.0f} MB")
        shared = second_searcher(config, runtime.resources, questions[0])
        print(f"second searcher on the runtime's resources: {shared}")
        fresh = second_searcher(config, SearchResources(), questions[0])
        print(f"second searcher on fresh resources: {fresh}")
        runtime.close()


if __name__ == "__main__":
    main()
