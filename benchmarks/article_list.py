"""How fast is the editors' article list (review.catalog.list_articles) at 10,000 articles?

Builds a fresh SQLite knowledge base in a temporary directory: N published FAQ entries
(bootstrap import, as ``kb import --publish``) plus N/5 drafts (a plain import), owners,
tags, review and expiry dates spread over them; then times one page (50 rows, with the
total and the counts per state) for each filter a user can set, median of 5 runs.

    .venv/bin/python benchmarks/article_list.py            # 10,000 + 2,000 articles
    .venv/bin/python benchmarks/article_list.py --n 2000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kb.model import ArticleContent, ArticleType, Audience  # noqa: E402
from kb.store.db import Database  # noqa: E402
from review import importing, users  # noqa: E402
from review.catalog import ArticleFilter, View, list_articles  # noqa: E402

TOPICS = ["退款", "延误", "丢件", "改地址", "保价", "发票", "会员", "投诉"]
OWNERS = ["ann", "bob", "cai", "dan"]
TODAY = date(2026, 11, 30)


def entry(i: int) -> ArticleContent:
    topic = TOPICS[i % len(TOPICS)]
    return ArticleContent(
        id=f"bench-{i:05d}",
        type=ArticleType.FAQ,
        title=f"{topic}问题{i}",
        question=f"{topic}问题{i}：我的订单该怎么处理？",
        body=f"关于{topic}第{i}条：请在APP中提交申请，客服将在24小时内处理。\n" * 5,
        tags=[topic, f"批次{i % 50}"],
        owner=OWNERS[i % len(OWNERS)],
        audience=Audience.INTERNAL if i % 7 == 0 else Audience.PUBLIC,
        review_due=TODAY + timedelta(days=(i % 120) - 30),
        effective_to=TODAY + timedelta(days=(i % 400)) if i % 3 == 0 else None,
    )


def build(home: Path, n: int) -> Database:
    db = Database(f"sqlite:///{home / 'kb.sqlite3'}")
    db.migrate()
    with db.session() as session:
        users.add_user(session, None, "root", ["admin"])
    with db.session() as session:
        users.add_user(session, "root", "ann", ["author"])
        users.add_user(session, "root", "rex", ["reviewer", "publisher"])
    started = time.perf_counter()
    published = [(entry(i), "bench") for i in range(n)]
    with db.session() as session:
        importing.import_articles(session, "root", published, publish=True)
    drafts = [(entry(i), "bench") for i in range(n, n + n // 5)]
    with db.session() as session:
        importing.import_articles(session, "ann", drafts)
    print(f"set-up: {n + n // 5:,} articles in {time.perf_counter() - started:.1f} s")
    return db


CASES = {
    "everything, first page": ArticleFilter(),
    "everything, page 100": ArticleFilter(),
    "state = draft": ArticleFilter(state="draft"),
    "my drafts": ArticleFilter(view=View.MY_DRAFTS),
    "audience internal + owner": ArticleFilter(audience="internal", owner="bob"),
    "tag": ArticleFilter(tag="批次7"),
    "review overdue": ArticleFilter(review_due_within=0),
    "expiring within 30 days": ArticleFilter(expiring_within=30),
    "text search (body)": ArticleFilter(text="第9876条"),
    "text search, no match": ArticleFilter(text="没有这种内容"),
}


def time_case(db: Database, name: str, chosen: ArticleFilter, runs: int = 5) -> tuple[float, int]:
    offset = 99 * 50 if "page 100" in name else 0
    times, total = [], 0
    for _ in range(runs):
        with db.session() as session:
            started = time.perf_counter()
            page = list_articles(session, "ann", chosen, offset=offset, limit=50, today=TODAY)
            times.append((time.perf_counter() - started) * 1000)
            total = page.total
    return statistics.median(times), total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="published articles")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = build(Path(tmp), args.n)
        print(f"{'filter':<30} {'matches':>8} {'median ms':>10}")
        for name, chosen in CASES.items():
            ms, total = time_case(db, name, chosen)
            print(f"{name:<30} {total:>8,} {ms:>10.1f}")
        db.dispose()


if __name__ == "__main__":
    main()
