"""How often does practice scoring agree with a person? The share of written replies
whose verdict (good, partial, wrong_figure, off_topic) matches the expected one.

Reads ``tests/data/practice_replies.jsonl`` (``dev``: 52 replies to questions of the sample
knowledge base, written with their expected verdict before the scorer was run on them,
then used to tune it once) and ``practice_replies_holdout.jsonl`` (``holdout``: 16
replies written after that tuning, scored once; see tests/data/README.md) and scores
each against its article's answer in ``articles/`` with
``kb.quality.practice_scoring.score_reply``. Prints the agreement overall and per expected verdict,
the confusion table, and (``--show``) every disagreement.

    .venv/bin/python benchmarks/practice_scoring.py [--set dev|holdout] [--show]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kb.formats.markdown import parse_markdown  # noqa: E402
from kb.quality.practice_scoring import VERDICTS, score_reply  # noqa: E402

SETS = {
    "dev": REPO / "tests" / "data" / "practice_replies.jsonl",
    "holdout": REPO / "tests" / "data" / "practice_replies_holdout.jsonl",
}
ARTICLES = REPO / "articles"


def answers() -> dict[str, str]:
    """Article id -> body, for every article file in the sample knowledge base."""
    found = {}
    for path in sorted(ARTICLES.glob("*/*.md")):
        article = parse_markdown(path.read_text(encoding="utf-8"), path.name)
        found[article.id] = article.body
    return found


def main() -> None:
    """Score every set of replies and print the agreement."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", action="store_true", help="print every disagreement")
    parser.add_argument("--set", choices=[*SETS, "all"], default="all", help="which replies")
    args = parser.parse_args()
    bodies = answers()
    chosen = list(SETS) if args.set == "all" else [args.set]
    for name in chosen:
        print(f"== {name}: {SETS[name].relative_to(REPO)}")
        report(bodies, SETS[name], args.show)


def report(bodies: dict[str, str], path: Path, show: bool) -> None:
    """Score the replies of one set and print the agreement and the confusion table."""
    cases = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    confusion: Counter[tuple[str, str]] = Counter()
    for case in cases:
        scored = score_reply(bodies[case["article_id"]], case["reply"])
        confusion[(case["expected"], scored.verdict)] += 1
        if show and scored.verdict != case["expected"]:
            print(f"{case['article_id']}: expected {case['expected']}, got {scored.verdict} "
                  f"(score {scored.score}): {case['reply']}")  # fmt: skip
    agree = sum(n for (want, got), n in confusion.items() if want == got)
    print(f"replies: {len(cases)}; verdict agreement: {agree}/{len(cases)} "
          f"= {agree / len(cases):.1%}")  # fmt: skip
    for want in VERDICTS:
        total = sum(n for (w, _g), n in confusion.items() if w == want)
        if total:
            print(f"  {want:13s} {confusion[(want, want)]}/{total}")
    print("confusion (expected -> kb):")
    for (want, got), n in sorted(confusion.items()):
        print(f"  {want:13s} -> {got:13s} {n}")


if __name__ == "__main__":
    main()
