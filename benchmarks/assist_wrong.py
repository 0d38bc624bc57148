"""Every answered-but-wrong reply part of the agent-assist sets, and why it was answered.

Runs the labelled sets of ``benchmarks/assist_quality.py`` through the same path
(``kb.answer.message_answer.answer_message`` on a knowledge base built from ``articles/``)
and, for every answered part whose first citation is relevant to no question of its
message, searches the part's question again with the query pipeline's stages kept, and
prints:

- the cited article, the confidence, the bar in force and the evidence features
  (``kb.answer.confidence``);
- the first article after fusion (``kb.search.fusion.RankFusion``), after the language
  preference and after the named-source preference (``kb.search.named``): which stage put
  the cited article first;
- where the relevant articles stood in the fused and the final order, and the first
  articles with each ranking's rank behind them (``bm25``, ``dense``, ``faq_dense``,
  ``faq_lexical``).

``--json`` also writes every part of every message (right, wrong, hand-off) with its
confidence and evidence, to compare two runs line by line.

    .venv/bin/python benchmarks/assist_wrong.py --split dev --cache-dir /tmp/cache-copy
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import kb  # noqa: E402,F401 - offline defaults
from benchmarks.assist_quality import DATA, LABELS_AS_OF, Message, build_kb, load  # noqa: E402
from kb.search.filters import SearchFilters  # noqa: E402
from kb.search.pipelines import run_haystack  # noqa: E402
from kb.search.snapshot import SnapshotRef  # noqa: E402

SETS = ["sample_questions", "assist_long", "assist_offtopic", "assist_crosslang", "assist_multi"]
STAGES = ("fusion", "prefer", "named")
SHOWN = 5


def articles(docs: list[Any]) -> list[str]:
    """The distinct article ids of ``docs``, in order."""
    return list(dict.fromkeys(str(d.meta.get("article_id")) for d in docs))


def stages(suggester: Any, question: str, filters: SearchFilters) -> dict[str, list[Any]]:
    """The chunks after fusion, the language preference and the named-source preference."""
    searcher = suggester.searcher
    snap = searcher.snapshot()
    ref = SnapshotRef(snap)
    out = run_haystack(
        searcher.pipeline,
        {
            "normalizer": {"query": question},
            "bm25": {"snapshot": ref, "filters": filters},
            "dense": {"snapshot": ref, "filters": filters},
            "faq": {"snapshot": ref, "filters": filters},
            "collapse": {"top_k": suggester.config.top_k, "one_per_article": True},
        },
        include_outputs_from=set(STAGES),
    )
    return {s: list(out[s]["documents"]) for s in STAGES}


def ranks_of(docs: list[Any], article: str) -> dict[str, int]:
    """Each ranking's best rank of ``article``'s chunks (``meta["retrieval"]``)."""
    best: dict[str, int] = {}
    for doc in docs:
        if str(doc.meta.get("article_id")) != article:
            continue
        for source, entry in (doc.meta.get("retrieval") or {}).items():
            rank = int(entry.get("rank") or 0) if isinstance(entry, dict) else 0
            if rank and (source not in best or rank < best[source]):
                best[source] = rank
    return best


def describe(docs: list[Any], article: str) -> dict[str, Any]:
    """``article``'s type, language and ranks among ``docs``."""
    meta = next(d.meta for d in docs if str(d.meta.get("article_id")) == article)
    kind, lang = str(meta.get("type")), str(meta.get("lang"))
    return {"article": article, "type": kind, "lang": lang, "ranks": ranks_of(docs, article)}


def position(order: list[str], wanted: set[str]) -> int | None:
    """1-based position of the first wanted article in ``order`` (None: absent)."""
    return next((i for i, a in enumerate(order, 1) if a in wanted), None)


def explain(suggester: Any, part: dict[str, Any], message: Message, name: str) -> dict[str, Any]:
    """The record of one part: what was cited, why, and where the right articles stood."""
    filters = SearchFilters.build(audience=message.audience, as_of=LABELS_AS_OF)
    found = stages(suggester, part["question"], filters)
    relevant = {a for q in message.questions for a in q}
    orders = {s: articles(found[s]) for s in STAGES}
    cited = part["citations"][0]["article_id"] if part.get("answer") else None
    final = found["named"]
    return {
        "set": name,
        "id": message.id,
        "split": message.split,
        "message": message.query,
        "question": part["question"],
        "cited": cited,
        "right": None if cited is None else cited in relevant,
        "relevant": sorted(relevant),
        "confidence": part["confidence"],
        "threshold": part["threshold"],
        "mode": part["mode"],
        "evidence": part["evidence"],
        "first": {s: (orders[s][0] if orders[s] else None) for s in STAGES},
        "relevant_at": {s: position(orders[s], relevant) for s in STAGES},
        "top": [describe(final, a) for a in orders["named"][:SHOWN]],
    }


def print_wrong(record: dict[str, Any]) -> None:
    """One wrong part, readable."""
    ev = record["evidence"]
    keys = ("dense", "margin", "coverage", "faq", "faq_cosine", "fused", "fused_margin", "cross")
    features = ", ".join(f"{k} {ev.get(k, 0):.3f}" for k in keys)
    print(f"\n### {record['set']} {record['id']}: {record['question']!r}")
    print(f"cited {record['cited']} (conf {record['confidence']:.3f} >= {record['threshold']})")
    print(f"relevant {record['relevant']}; at {record['relevant_at']}")
    print(f"first after {record['first']}")
    print(f"evidence: {features}")
    for row in record["top"]:
        print(f"  {row['article']} [{row['type']}, {row['lang']}] {row['ranks']}")


def main() -> None:
    """Print the wrong parts; ``--json``: every part."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=["dev", "test", "all"], default="dev")
    default_cache = Path(os.environ.get("KB_BENCH_CACHE", Path.home() / ".cache" / "kb-bench"))
    parser.add_argument("--cache-dir", type=Path, default=default_cache)
    parser.add_argument("--sets", nargs="*", default=SETS)
    parser.add_argument("--json", type=Path, help="write every part here")
    args = parser.parse_args()
    from kb.answer.message_answer import answer_message
    from kb.answer.suggest import Suggester

    records: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        config = build_kb(Path(tmp), args.cache_dir / "embeddings.sqlite3")
        suggester = Suggester(config)
        suggester.warm_up()
        for name in args.sets:
            path = DATA / f"{name}.jsonl"
            if not path.exists():
                continue
            for message in load(path, args.split):
                filters = SearchFilters.build(audience=message.audience, as_of=LABELS_AS_OF)
                reply = answer_message(suggester, message.query, filters, log=False)
                for part in reply.to_dict().get("parts") or []:
                    record = explain(suggester, part, message, name)
                    records.append(record)
                    if record["right"] is False:
                        print_wrong(record)
    wrong = sum(r["right"] is False for r in records)
    print(f"\n{wrong} wrong of {sum(r['right'] is not None for r in records)} answered parts")
    if args.json:
        args.json.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
