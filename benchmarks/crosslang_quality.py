"""Agent assist in every language: what the real Suggester answers, and whether it is right.

Indexes every article under ``articles/`` (``_history`` skipped, as ``kb import`` does)
with the real pipeline and the bundled model into a temporary home, then asks each
question of the labelled sets through ``Suggester.suggest`` (public audience unless a line
says ``"audience": "internal"``; as of the labels' day, 2026-11-22) and prints, per set,
split and kind:

- ``right``: the share of in-KB questions answered with a right article first (the first
  citation's article is in ``relevant``): *answered-and-right*;
- ``answered``: the share of in-KB questions answered at all (not handed off);
- ``precision``: of the answered in-KB questions, the share answered right;
- ``hand-off``: for off-topic lines (``"relevant": []``), the share handed off;
- ``preferred``: for lines with ``preferred`` (an article with a translation in the
  question's language), the share of answered ones whose first citation is preferred.

Sets: ``tests/data/assist_crosslang.jsonl`` (English and cross-language, with ``split``
and ``kind``), ``tests/data/sample_questions.jsonl`` (99 questions) and
``tests/kb/data/calibration_dev.jsonl`` (40 answerable + 20 off-topic Chinese ones).
Embeddings go through ``--cache`` (default ``~/.cache/kb-bench/embeddings.sqlite3``), so a
rerun costs only the query embeddings.

    .venv/bin/python benchmarks/crosslang_quality.py            # the table
    .venv/bin/python benchmarks/crosslang_quality.py --misses   # and every wrong line
    .venv/bin/python benchmarks/crosslang_quality.py --explain dev  # why, line by line
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import kb  # noqa: E402,F401 - offline defaults before any model import
from kb.config import Config  # noqa: E402
from kb.search.filters import SearchFilters  # noqa: E402

SETS = {
    "crosslang": REPO / "tests" / "data" / "assist_crosslang.jsonl",
    "sample": REPO / "tests" / "data" / "sample_questions.jsonl",
    "calibration_dev": REPO / "tests" / "kb" / "data" / "calibration_dev.jsonl",
}
AS_OF = "2026-11-22"
HEADER = (
    "| set | split | kind | n | right | answered | precision | hand-off | preferred |\n"
    "|---|---|---|---|---|---|---|---|---|"
)


def default_cache() -> Path:
    """The benchmarks' shared embedding cache."""
    base = Path(os.environ.get("KB_BENCH_CACHE", Path.home() / ".cache" / "kb-bench"))
    return base / "embeddings.sqlite3"


def read_lines(path: Path) -> list[dict[str, Any]]:
    """The labelled lines of one set."""
    text = path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def outcome(suggester: Any, line: dict[str, Any]) -> dict[str, Any]:
    """Ask one question; what came back, judged against its labels."""
    filters = SearchFilters.build(audience=line.get("audience"), as_of=AS_OF)
    answer = suggester.suggest(line["query"], filters, log=False)
    first = answer.citations[0].article_id if answer.citations and not answer.handoff else None
    return {
        **line,
        "answered": first is not None,
        "first": first,
        "right": first in line["relevant"],
        "confidence": round(answer.confidence, 3),
        "top": answer.results[0].article_id if answer.results else None,
    }


def share(part: int, whole: int) -> str:
    """``part / whole`` to three places, or a dash."""
    return f"{part / whole:.3f}" if whole else "–"


def row(name: str, split: str, kind: str, rows: list[dict[str, Any]]) -> str:
    """One table row over ``rows``."""
    inkb = [r for r in rows if r["relevant"]]
    off = [r for r in rows if not r["relevant"]]
    answered = [r for r in inkb if r["answered"]]
    right = [r for r in answered if r["right"]]
    pref = [r for r in answered if r.get("preferred")]
    pref_ok = [r for r in pref if r["first"] in r["preferred"]]
    cells = [
        name,
        split,
        kind,
        str(len(rows)),
        share(len(right), len(inkb)),
        share(len(answered), len(inkb)),
        share(len(right), len(answered)),
        share(sum(not r["answered"] for r in off), len(off)),
        share(len(pref_ok), len(pref)),
    ]
    return "| " + " | ".join(cells) + " |"


def groups(name: str, rows: list[dict[str, Any]]) -> list[str]:
    """Rows per split and kind, per split, and overall."""
    keyed: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        split, kind = r.get("split", "all"), r.get("kind", "all")
        keyed[(split, kind)].append(r)
        if kind != "all":
            keyed[(split, "all")].append(r)
        if split != "all":
            keyed[("all", "all")].append(r)
    return [row(name, s, k, keyed[(s, k)]) for s, k in sorted(keyed)]


def build(home: Path, cache: Path, **pipeline_args: Any) -> Any:
    """Index ``articles/`` into ``home`` (once) and return a warmed-up Suggester on it whose
    query pipeline takes ``pipeline_args`` (``kb.search.retrieval.build_query_pipeline``)."""
    from ingest.pipeline import index_files
    from kb.answer.suggest import Suggester
    from kb.search.retrieval import Searcher, build_query_pipeline

    config = Config(home=home)
    if not config.effective_index_dir.exists():
        index_files([REPO / "articles"], config, full=True, cache_path=cache)
    pipeline = build_query_pipeline(config, **pipeline_args)  # type: ignore[arg-type]
    suggester = Suggester(config, searcher=Searcher(config, pipeline=pipeline))
    suggester.warm_up()
    return suggester


#: The ``--tune`` grid: pipeline arguments (``kb.search.retrieval.build_query_pipeline``).
GRID: list[dict[str, Any]] = [
    {"neutral": n, "cross_lexical": c, "prefer_within": 1.0}
    for n in (False, True)
    for c in (0.0, 0.5, 1.0, 1.5)
]
GRID += [{"neutral": True, "cross_lexical": 1.0, "prefer_within": p} for p in (0.95, 0.9, 0.8)]
GRID += [{"neutral": True, "cross_lexical": 1.5, "prefer_within": p} for p in (0.95, 0.9, 0.8)]
#: Issue 11, translation links: prefer linked translations only, or near results too.
GRID += [
    {"neutral": True, "cross_lexical": c, "prefer_within": p, "prefer_unlinked": u}
    for c in (1.0, 1.5)
    for p in (0.95, 0.9)
    for u in (True, False)
]


def tune(home: Path, cache: Path, grid: list[dict[str, Any]]) -> None:
    """Top-1 article right on the dev lines (crosslang dev, calibration_dev answerable)
    over a grid of query pipeline arguments (``kb.search.crosslang``)."""
    dev = [x for x in read_lines(SETS["crosslang"]) if x["split"] == "dev" and x["relevant"]]
    cal = [x for x in read_lines(SETS["calibration_dev"]) if x["relevant"]]
    pref = [x for x in dev if x.get("preferred")]
    print("| arguments | crosslang dev top-1 | calibration_dev top-1 | preferred first |")
    print("|---|---|---|---|")
    for arguments in grid:
        suggester = build(home, cache, **arguments)
        tops = [
            [outcome(suggester, x)["top"] in x["relevant"] for x in lines] for lines in (dev, cal)
        ]
        tops.append([outcome(suggester, x)["top"] in x["preferred"] for x in pref])
        cells = [f"{sum(t) / len(t):.3f}" for t in tops]
        shown = ", ".join(f"{k}={v}" for k, v in arguments.items())
        print(f"| {shown} | " + " | ".join(cells) + " |", flush=True)


def explain(suggester: Any, line: dict[str, Any], depth: int = 6) -> str:
    """One line's answer, its evidence and the first ``depth`` articles with each
    ranking's score, rank and raw cosine: what ``--explain`` prints per line."""
    judged = outcome(suggester, line)
    filters = SearchFilters.build(audience=line.get("audience"), as_of=AS_OF)
    answer = suggester.suggest(line["query"], filters, log=False)
    response = suggester.searcher.search(line["query"], filters, top_k=depth)
    verdict = "hand-off" if not judged["answered"] else ("right" if judged["right"] else "WRONG")
    keys = ("dense", "margin", "coverage", "faq", "cross", "minority", "fused_margin", "body")
    shown = {k: answer.evidence.get(k) for k in keys} | {
        "rr_dense": answer.evidence.get("rr_dense", 0.0)
    }
    out = [
        f"{line['id']} [{line.get('kind', '')}] {verdict} confidence {answer.confidence:.3f}"
        f" (bar {answer.threshold}): {line['query']}",
        f"  relevant {line['relevant']}; evidence {shown}",
    ]
    seen: set[str] = set()
    for doc in response.chunks:
        article = str(doc.meta.get("article_id"))
        if article in seen or len(seen) >= depth:
            continue
        seen.add(article)
        parts = [
            f"{name} {entry['score']:.3f} r{entry['rank']}"
            + (f" cos {entry['cosine']:.3f}" if "cosine" in entry else "")
            for name, entry in (doc.meta.get("retrieval") or {}).items()
        ]
        mark = "*" if article in line["relevant"] else " "
        out.append(
            f"  {mark} {article} ({doc.meta.get('lang')}) fused {doc.score:.3f}: "
            + "; ".join(parts)
        )
    return "\n".join(out)


def calibrate(home: Path, cache: Path) -> None:
    """The cross-language confidence model is now learned with the other one by
    ``benchmarks/train_confidence.py`` (grouped cross-validation on every dev set)."""
    del home, cache
    print("the confidence model is trained by benchmarks/train_confidence.py")


def main() -> None:
    """Print the table (and the misses with ``--misses``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--cache", type=Path, default=default_cache())
    parser.add_argument("--misses", action="store_true", help="print every wrong line")
    parser.add_argument(
        "--tune", action="store_true", help="the kb.search.crosslang grid, dev only"
    )
    parser.add_argument(
        "--grid-from", type=int, default=0, help="with --tune: start at this grid row"
    )
    parser.add_argument("--calibrate", action="store_true", help="fit the cross-language model")
    parser.add_argument(
        "--explain",
        choices=("dev", "test"),
        help="crosslang lines of this split: evidence and the first articles per ranking",
    )
    args = parser.parse_args()
    args.cache.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        if args.tune:
            tune(Path(tmp), args.cache, GRID[args.grid_from :])
            return
        if args.calibrate:
            calibrate(Path(tmp), args.cache)
            return
        suggester = build(Path(tmp), args.cache)
        if args.explain:
            lines = read_lines(SETS["crosslang"])
            for line in [x for x in lines if x["split"] == args.explain]:
                print(explain(suggester, line), flush=True)
            return
        print(HEADER)
        misses = []
        for name in args.sets:
            rows = [outcome(suggester, line) for line in read_lines(SETS[name])]
            print("\n".join(groups(name, rows)))
            wrong = [r for r in rows if r["answered"] != bool(r["relevant"]) or not r["right"]]
            misses += [r for r in wrong if r["relevant"] or r["answered"]]
        if args.misses:
            for r in misses:
                keys = ("id", "query", "first", "top", "confidence", "relevant")
                print(json.dumps({k: r.get(k) for k in keys}, ensure_ascii=False))


if __name__ == "__main__":
    main()
