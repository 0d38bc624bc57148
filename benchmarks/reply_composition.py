"""Sendable replies: how the suggested reply is composed from the retrieved passages.

Indexes the sample knowledge base (``articles/``) plus the planted articles of
``tests/data/assist_compose/`` (newer or older articles that state another figure for
the same thing: a test copy, ``articles/`` is left alone), asks every question of
``tests/data/assist_compose.jsonl`` through ``kb.answer.suggest.Suggester`` (as of the set's
date, with the question's audience) and reports, over the answered questions:

- ``off-article``: share of replies citing an article not labelled relevant;
- ``cited twice``: share of replies citing one article under two citation numbers;
- ``mixed figures``: share of the disagreement questions whose reply states both of the
  labelled disagreeing figures (``figures``: [the figure to keep, the one to drop]);
- ``kept the right figure``: share of them stating the kept figure and not the other;
- ``noted``: share of them whose answer carries a note naming the other source;
- ``best first``: share of replies whose first citation is a labelled best article;
- and the share answered at all.

``--sample`` also indexes ``articles/`` alone and reports answer precision on
``tests/data/sample_questions.jsonl`` (answered, and first citation relevant, as of the
labels' date 2026-11-22) and the CPU time of composing those answers (retrieval
excluded). ``-v`` prints every reply. Only the answer object (``Answer.to_dict()``) is
read, so the script also measures older code (see docs/benchmarks.md for the
before/after command).

    .venv/bin/python benchmarks/reply_composition.py --sample
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kb.answer.suggest import Suggester  # noqa: E402
from kb.config import Config  # noqa: E402
from kb.search.filters import SearchFilters  # noqa: E402

SET = REPO / "tests" / "data" / "assist_compose.jsonl"
PLANTED = REPO / "tests" / "data" / "assist_compose"
SAMPLE = REPO / "tests" / "data" / "sample_questions.jsonl"
SET_AS_OF = date(2026, 11, 30)
SAMPLE_AS_OF = date(2026, 11, 22)
_MARKER = re.compile(r"\[\d+\]")


def load(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of ``path``."""
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def suggester_over(paths: list[Path], home: Path) -> Suggester:
    """A warmed-up suggester over an index of ``paths`` built in ``home``."""
    from ingest.pipeline import index_files

    config = Config(home=home)
    index_files(paths, config, full=True, cache_path=home / "embeddings.sqlite3")
    suggester = Suggester(config)
    suggester.warm_up()
    return suggester


def ask(suggester: Suggester, item: dict[str, Any], as_of: date) -> dict[str, Any]:
    """The answer object for one labelled question."""
    filters = SearchFilters.build(audience=item.get("audience", "public"), as_of=as_of)
    return suggester.suggest(item["query"], filters=filters, log=False).to_dict()


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", _MARKER.sub("", text or ""))


def judge(item: dict[str, Any], data: dict[str, Any]) -> dict[str, bool]:
    """The figures of one answered question (see the module docstring)."""
    cited = [c["article_id"] for c in data.get("citations") or []]
    relevant = set(item["relevant"])
    out = {
        "off_article": any(a not in relevant for a in cited),
        "cited_twice": len(cited) != len(set(cited)),
        "best_first": bool(cited) and cited[0] in set(item["best"]),
    }
    figures = item.get("figures")
    if figures:
        text = _flat(data.get("answer") or "")
        keep, drop = (_flat(f) in text for f in figures)
        noted = {(n.get("other") or {}).get("article_id") for n in data.get("notes") or []}
        out["mixed"] = keep and drop
        out["kept_right"] = keep and not drop
        out["noted"] = bool(set(item.get("other", [])) & noted)
    return out


def share(rows: list[dict[str, bool]], key: str) -> str:
    """``k/n = share`` of the rows that have ``key``."""
    values = [r[key] for r in rows if key in r]
    if not values:
        return "n/a"
    return f"{sum(values)}/{len(values)} = {sum(values) / len(values):.2f}"


def composition(suggester: Suggester, verbose: bool) -> None:
    """Ask the composition set and print its figures."""
    items = load(SET)
    rows = []
    for item in items:
        data = ask(suggester, item, SET_AS_OF)
        if data.get("handoff"):
            if verbose:
                print(f"- {item['id']} {item['query']}: HAND-OFF ({data.get('reason')})")
            continue
        row = judge(item, data)
        rows.append(row)
        if verbose:
            cited = [c["article_id"] for c in data["citations"]]
            flags = ",".join(k for k, v in row.items() if v)
            print(f"- {item['id']} {item['query']} [{data['mode']}] {cited} {flags}")
            print(f"    {data['answer']}")
            for note in data.get("notes") or []:
                print(
                    f"    note: {note['figure']} vs {note['other_figure']} "
                    f"({note['other']['article_id']})"
                )
    print(f"composition set: {len(items)} questions, answered {len(rows)}/{len(items)}")
    for key, label in (
        ("off_article", "reply cites an article not labelled relevant"),
        ("cited_twice", "reply cites an article twice"),
        ("mixed", "reply mixes disagreeing figures"),
        ("kept_right", "reply keeps the right figure only"),
        ("noted", "answer notes the other source"),
        ("best_first", "best article cited first"),
    ):
        print(f"  {label}: {share(rows, key)}")


def precision(suggester: Suggester) -> None:
    """Answer precision on the sample questions."""
    items = load(SAMPLE)
    answered = right = 0
    for item in items:
        data = ask(suggester, item, SAMPLE_AS_OF)
        if data.get("handoff"):
            continue
        answered += 1
        cited = [c["article_id"] for c in data.get("citations") or []]
        right += bool(cited) and cited[0] in set(item["relevant"])
    print(
        f"sample questions: {len(items)}, answered {answered} ({answered / len(items):.2f}), "
        f"first citation relevant {right}/{answered} = {right / max(answered, 1):.3f}"
    )
    composing_time(suggester, items)


def composing_time(suggester: Suggester, items: list[dict[str, Any]], rounds: int = 3) -> None:
    """CPU time of composing the answer alone (``AnswerBuilder.run``, retrieval excluded)."""
    prepared = []
    for item in items:
        filters = SearchFilters.build(audience=item.get("audience", "public"), as_of=SAMPLE_AS_OF)
        response = suggester.searcher.search(item["query"], filters)
        evidence = suggester.evidence(item["query"], response)
        prepared.append((item["query"], response.chunks, evidence))
    times = []
    for _ in range(rounds):
        for question, chunks, evidence in prepared:
            started = time.process_time()
            suggester.builder.run(question, chunks, evidence)
            times.append((time.process_time() - started) * 1000)
    times.sort()
    print(
        f"composing the answer (AnswerBuilder.run, CPU): mean {statistics.mean(times):.2f} ms, "
        f"p95 {times[int(len(times) * 0.95)]:.2f} ms over {len(times)} runs"
    )


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", action="store_true", help="also the sample questions")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every reply")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "compose"
        home.mkdir()
        composition(suggester_over([REPO / "articles", PLANTED], home), args.verbose)
        if args.sample:
            home = Path(tmp) / "sample"
            home.mkdir()
            precision(suggester_over([REPO / "articles"], home))


if __name__ == "__main__":
    main()
