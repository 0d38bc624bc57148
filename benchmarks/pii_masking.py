"""How well does ``kb.privacy`` mask personal data? Precision and recall per class.

Reads the labelled PII sets in tests/data: ``pii_tune.jsonl`` (the rules were tuned on
it), ``pii_holdout.jsonl`` (written before the masker, never tuned on) and
``pii_holdout2.jsonl`` (written after the first rules and scored before any change for
it; its misses were fixed afterwards, see docs/benchmarks.md), ``pii_holdout3.jsonl``
(written after the adversarial run of issue 13, scored before the fallback class and
the HK/TW/permit ids were added). Each line is
``{"text": ..., "pii": [{"type": "mobile", "value": "<substring of text>"}]}``; look-alike
negatives have ``"pii": []``.

Scoring is span-level. A labelled value is *found* when every letter and digit of it
lies inside spans the masker reports (for the per-class figures: spans of its class).
A reported span is *correct* when it overlaps a labelled value (of its class, per
class). Recall = found / labelled values; precision = correct / reported spans.
"Overall" ignores the class: is the personal data masked at all, and is what is
masked personal data?

    .venv/bin/python benchmarks/pii_masking.py               # every set
    .venv/bin/python benchmarks/pii_masking.py --set holdout # one set
    .venv/bin/python benchmarks/pii_masking.py --scan articles ../shared/datasets/bq-faq
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kb.privacy import MaskingPolicy, find_personal_data  # noqa: E402

SETS = {
    "tune": REPO / "tests" / "data" / "pii_tune.jsonl",
    "holdout": REPO / "tests" / "data" / "pii_holdout.jsonl",
    "holdout2": REPO / "tests" / "data" / "pii_holdout2.jsonl",
    "holdout3": REPO / "tests" / "data" / "pii_holdout3.jsonl",
}
OVERALL = "overall"


@dataclass
class Score:
    """Counts of one class (or overall) and the strings that went wrong."""

    labelled: int = 0
    found: int = 0
    reported: int = 0
    correct: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        """Found / labelled (1.0 with nothing labelled)."""
        return self.found / self.labelled if self.labelled else 1.0

    @property
    def precision(self) -> float:
        """Correct / reported (1.0 with nothing reported)."""
        return self.correct / self.reported if self.reported else 1.0


def load(path: Path) -> list[dict]:
    """The labelled strings of one set."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _gold_spans(item: dict) -> list[tuple[int, int, str]]:
    spans = []
    for pii in item["pii"]:
        start = item["text"].index(pii["value"])
        spans.append((start, start + len(pii["value"]), pii["type"]))
    return spans


def _covered(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    """True when every letter and digit of text[start:end] is inside one of ``spans``."""
    return all(any(s <= i < e for s, e in spans) for i in range(start, end) if text[i].isalnum())


def score(items: list[dict], policy: MaskingPolicy | None = None) -> dict[str, Score]:
    """Scores per class and ``overall`` of the masker on labelled ``items``."""
    scores: dict[str, Score] = {OVERALL: Score()}
    for item in items:
        text = item["text"]
        gold = _gold_spans(item)
        found = find_personal_data(text, policy or MaskingPolicy())
        for start, end, kind in gold:
            same = [(f.start, f.end) for f in found if f.kind == kind]
            for name, spans in ((kind, same), (OVERALL, [(f.start, f.end) for f in found])):
                s = scores.setdefault(name, Score())
                s.labelled += 1
                if _covered(text, start, end, spans):
                    s.found += 1
                else:
                    s.misses.append(f"missed {kind}: {text}")
        for f in found:
            for name, ok in (
                (f.kind, any(f.start < e and s < f.end and k == f.kind for s, e, k in gold)),
                (OVERALL, any(f.start < e and s < f.end for s, e, _ in gold)),
            ):
                s = scores.setdefault(name, Score())
                s.reported += 1
                s.correct += ok
                if not ok and name == OVERALL:
                    s.misses.append(f"wrongly masked {text[f.start : f.end]!r}: {text}")
    return scores


def report(name: str, scores: dict[str, Score], verbose: bool) -> None:
    """Print one set's table."""
    print(f"\n{name}: precision and recall (span-level)")
    print(f"{'class':<10} {'labelled':>8} {'reported':>8} {'recall':>7} {'precision':>9}")
    for kind in [*sorted(k for k in scores if k != OVERALL), OVERALL]:
        s = scores[kind]
        print(f"{kind:<10} {s.labelled:>8} {s.reported:>8} {s.recall:>7.3f} {s.precision:>9.3f}")
    if verbose:
        for line in scores[OVERALL].misses:
            print("  " + line)


def scan(paths: list[Path]) -> None:
    """Print every span masked in the lines of ``paths`` (unlabelled text: look-alikes)."""
    lines = found = 0
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            for line in file.read_text(encoding="utf-8", errors="replace").splitlines():
                lines += 1
                for f in find_personal_data(line):
                    found += 1
                    context = line[max(0, f.start - 12) : f.end + 8]
                    print(f"  {f.kind:<10} {line[f.start : f.end]!r}  in …{context}…")
    print(f"\nscanned {lines} lines: {found} span(s) masked")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", choices=sorted(SETS), action="append", help="default: all")
    parser.add_argument("-v", "--verbose", action="store_true", help="list misses")
    parser.add_argument(
        "--scan", type=Path, nargs="+", help="instead: list what is masked in these files/dirs"
    )
    args = parser.parse_args()
    if args.scan:
        scan(args.scan)
        return
    for name in args.set or list(SETS):
        items = load(SETS[name])
        report(f"{name} ({len(items)} strings)", score(items), args.verbose)


if __name__ == "__main__":
    main()
