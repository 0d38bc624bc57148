"""How well does kb find contradictions? Precision and recall on planted cases.

Copies the sample knowledge base (articles/) into a temporary directory, loads it into
a fresh database (bootstrap publication), then for each planted case of
``tests/data/planted_contradictions.jsonl`` saves the case's article as a draft (a new
article, or a new version of the article it ``replaces``), submits it through the
workflow and asks ``kb.quality.contradictions.version_conflicts`` what it contradicts (what
the author and the reviewer are shown). Cases are independent: none is published.

A case is ``{"label": "contradiction" | "near_miss", "category", "article": {...},
"expect": [article ids that state the figure it contradicts], "replaces"?}``. Scoring
is per reported (case, published article) pair: correct when the article is in the
case's ``expect``. Precision = correct pairs / reported pairs; recall = contradiction
cases with at least one expected article reported / contradiction cases. Near-misses
(other member tiers, other products, promotions, different things, equal figures,
periods not in force together, an older version being replaced) expect nothing.

    .venv/bin/python benchmarks/contradictions.py          # the table
    .venv/bin/python benchmarks/contradictions.py --json   # the figures as JSON
    .venv/bin/python benchmarks/contradictions.py --extra 10000  # + generated FAQ entries

``--extra N`` publishes N generated FAQ entries besides the sample (each mentioning 签收
and 申请, words of the planted cases, so the text filter lets them all through: the
worst case for the submit-time check, whose median time is reported). ``kb conflicts``
over the whole knowledge base is timed on the sample only: with thousands of articles
sharing words it compares every pair (quadratic).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kb.formats.importer import read_articles  # noqa: E402
from kb.model import ArticleContent, ArticleType, Audience  # noqa: E402
from kb.quality.contradictions import all_conflicts, version_conflicts  # noqa: E402
from kb.store.db import Database  # noqa: E402
from review import editing, importing, users, workflow  # noqa: E402

CASES = REPO / "tests" / "data" / "planted_contradictions.jsonl"


@dataclass
class Outcome:
    """One case: what was expected and what was reported."""

    case: str
    label: str
    category: str
    expect: list[str]
    reported: list[str] = field(default_factory=list)

    @property
    def correct(self) -> list[str]:
        """Reported articles the case expects."""
        return [r for r in self.reported if r in self.expect]

    @property
    def wrong(self) -> list[str]:
        """Reported articles the case does not expect."""
        return [r for r in self.reported if r not in self.expect]


def load_cases(path: Path = CASES) -> list[dict[str, Any]]:
    """The planted cases."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _content(article: dict[str, Any]) -> ArticleContent:
    def day(value: str | None) -> date | None:
        return date.fromisoformat(value) if value else None

    return ArticleContent(
        id=article["id"],
        type=ArticleType(article["type"]),
        title=article["title"],
        body=article["body"] + "\n",
        lang=article.get("lang", "zh"),
        tags=list(article.get("tags", [])),
        audience=Audience(article.get("audience", "public")),
        question=article.get("question", ""),
        effective_from=day(article.get("effective_from")),
        effective_to=day(article.get("effective_to")),
    ).validate()


def load_sample(directory: Path, articles: Path = REPO / "articles") -> Database:
    """A database in ``directory`` with a copy of the sample articles published."""
    copy = directory / "articles"
    shutil.copytree(articles, copy)
    db = Database(f"sqlite:///{directory / 'kb.sqlite3'}")
    db.migrate()
    with db.session() as session:
        users.add_user(session, None, "admin", ["admin"])
    with db.session() as session:
        users.add_user(session, "admin", "author", ["author"])
    batch = read_articles([copy], max_bytes=1 << 24, max_chars=1 << 24)
    with db.session() as session:
        items = [(i.article, i.source) for i in batch.items]
        importing.import_articles(session, "admin", items, publish=True)
    return db


def generated_faq(n: int) -> list[tuple[ArticleContent, str]]:
    """N FAQ entries with figures (after-sales time limits of numbered orders)."""
    return [
        (
            ArticleContent(
                id=f"gen-{i:05d}",
                type=ArticleType.FAQ,
                title=f"订单{i}的售后时限",
                question=f"订单{i}多久内能申请售后？",
                tags=[f"主题{i % 50}"],
                body=f"订单{i}可在签收后{i % 30 + 1}天内申请售后，"
                f"客服将在{i % 5 + 1}个工作日内回复。\n",
            ),
            "generated",
        )
        for i in range(n)
    ]


def check_case(db: Database, case: dict[str, Any]) -> list[str]:
    """Save and submit the case's article; the articles it is reported to contradict."""
    content = _content(case["article"])
    with db.session() as session:
        if case.get("replaces"):
            row = editing.new_draft(session, "author", content.id, content)
        else:
            row = editing.create_draft(session, "author", content)
        workflow.submit(session, "author", content.id)
        version = row.version
    with db.session() as session:
        found = version_conflicts(session, content.id, version)
    return list(dict.fromkeys(c.other_id for c in found))


def evaluate(cases: list[dict[str, Any]], extra: int = 0) -> tuple[list[Outcome], dict[str, float]]:
    """Run every case against a fresh copy of the sample knowledge base (plus ``extra``
    generated FAQ entries)."""
    with tempfile.TemporaryDirectory() as tmp:
        db = load_sample(Path(tmp))
        with db.session() as session:  # kb conflicts over the sample only (see --extra)
            began = time.perf_counter()
            baseline = len(all_conflicts(session))
            across_s = time.perf_counter() - began
        if extra:
            with db.session() as session:
                reason = "benchmark: generated entries"
                importing.import_articles(
                    session, "admin", generated_faq(extra), bootstrap_reason=reason
                )
            with db.session() as session:  # kb conflicts over the whole knowledge base
                began = time.perf_counter()
                whole = len(all_conflicts(session))
                print(f"kb conflicts over {extra:,} more articles: {whole} conflict(s), "
                      f"{time.perf_counter() - began:.1f} s")  # fmt: skip
        outcomes, seconds = [], []
        for case in cases:
            outcome = Outcome(case["case"], case["label"], case["category"], case["expect"])
            began = time.perf_counter()
            outcome.reported = check_case(db, case)
            seconds.append(time.perf_counter() - began)
            outcomes.append(outcome)
        db.dispose()
    return outcomes, _figures(outcomes, baseline, across_s, seconds)


def _figures(
    outcomes: list[Outcome], baseline: int, across_s: float, seconds: list[float]
) -> dict[str, float]:
    reported = sum(len(o.reported) for o in outcomes)
    correct = sum(len(o.correct) for o in outcomes)
    planted = [o for o in outcomes if o.label == "contradiction"]
    found = sum(1 for o in planted if o.correct)
    near = [o for o in outcomes if o.label == "near_miss"]
    return {
        "contradictions": len(planted),
        "near_misses": len(near),
        "reported_pairs": reported,
        "correct_pairs": correct,
        "precision": correct / reported if reported else 1.0,
        "recall": found / len(planted) if planted else 1.0,
        "near_misses_flagged": sum(1 for o in near if o.reported),
        "sample_conflicts": baseline,
        "sample_scan_seconds": round(across_s, 3),
        "median_submit_check_seconds": round(sorted(seconds)[len(seconds) // 2], 4),
    }


def main() -> None:
    """Print the figures (and each case's outcome)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--extra", type=int, default=0, help="generated FAQ entries to add")
    args = parser.parse_args()
    outcomes, figures = evaluate(load_cases(), args.extra)
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    for o in outcomes:
        mark = (
            "ok  " if (bool(o.correct) == (o.label == "contradiction") and not o.wrong) else "MISS"
        )
        print(f"{mark} {o.case} {o.label:13} {o.category:26} reported={o.reported}")
    print(
        f"\n{figures['contradictions']} planted contradictions, {figures['near_misses']} "
        f"near-misses: precision {figures['precision']:.2f} "
        f"({figures['correct_pairs']}/{figures['reported_pairs']} reported pairs), "
        f"recall {figures['recall']:.2f}; near-misses flagged: "
        f"{figures['near_misses_flagged']}/{figures['near_misses']}"
    )
    print(
        f"the unmodified sample: {figures['sample_conflicts']} conflict(s) reported by "
        f"kb conflicts ({figures['sample_scan_seconds']} s); submit-time check: median "
        f"{figures['median_submit_check_seconds']} s per version"
    )


if __name__ == "__main__":
    main()
