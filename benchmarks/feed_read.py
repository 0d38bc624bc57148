"""How long does reading the change feed take in a large knowledge base?

The app reads the feed on every page run (the sidebar's unread notice), so it must stay
cheap. Builds a knowledge base of ``--articles`` published FAQs (bootstrap import, some
with an effective date in the future or an end date in the past), ``--agents`` agents,
publishes ``--changes`` new versions through the review workflow (every other one
must-read), has half the agents acknowledge every entry, then times (median of
``--repeat``) ``review.feed.entries`` for an agent (unread only, as the sidebar does,
including the refresh of effective and expiry entries) and ``review.feed.overview`` for
a supervisor. Real SQLite in a temporary directory.

    .venv/bin/python benchmarks/feed_read.py [--articles 10000] [--agents 50] [--changes 100]
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

from kb.model import ArticleContent, ArticleType  # noqa: E402
from kb.store.db import Database  # noqa: E402
from review import editing, feed, importing, users, workflow  # noqa: E402


def faq(i: int, days: int, version: int = 1) -> ArticleContent:
    """FAQ ``i``; every 100th starts in ``days`` days, (others) every 101st ended ``days`` ago."""
    today = date.today()
    start = today + timedelta(days=days) if i % 100 == 0 else None
    end = today - timedelta(days=days) if i % 101 == 0 and start is None else None
    return ArticleContent(
        id=f"faq-{i:05d}", type=ArticleType.FAQ, title=f"问题{i}", question=f"订单{i}怎么办？",
        body=f"退货期限为{6 + version}天。请在APP中提交申请（{i}）。\n",
        effective_from=start, effective_to=end,
    )  # fmt: skip


def build(db: Database, articles: int, agents: int, changes: int) -> None:
    """The knowledge base, the people, the publications and the acknowledgements."""
    with db.session() as session:
        users.add_user(session, None, "root", ["admin"])
    with db.session() as session:
        for name, role in (("ann", "author"), ("rex", "reviewer"), ("pia", "publisher")):
            users.add_user(session, "root", name, [role])
        users.add_user(session, "root", "sue", ["supervisor"])
        for n in range(agents):
            users.add_user(session, "root", f"agent{n:03d}", ["agent"])
    with db.session() as session:
        items = [(faq(i, 3), "bench") for i in range(articles)]
        importing.import_articles(session, "root", items, publish=True)
    for n in range(changes):
        article_id = f"faq-{n * 7 % articles:05d}"
        with db.session() as session:
            editing.new_draft(session, "ann", article_id, faq(n * 7 % articles, 3, version=2))
        with db.session() as session:
            workflow.submit(session, "ann", article_id)
            workflow.approve(session, "rex", article_id)
            workflow.publish(session, "pia", article_id, importance=("normal", "must_read")[n % 2])
    with db.session() as session:
        ids = [i.id for i in feed.entries(session, "sue")]
        for n in range(0, agents, 2):
            for entry_id in ids:
                feed.ack(session, f"agent{n:03d}", entry_id)


def timed(call, repeat: int) -> float:
    """Median milliseconds of ``call()``."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    """Build, then time the agent's and the supervisor's reads."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'kb.sqlite3'}")
        db.migrate()
        started = time.perf_counter()
        build(db, args.articles, args.agents, args.changes)
        print(f"built {args.articles} articles, {args.agents} agents, {args.changes} changes "
              f"in {time.perf_counter() - started:.1f} s")  # fmt: skip

        def agent_read() -> None:
            with db.session() as session:
                feed.entries(session, "agent001", unread_only=True)

        def supervisor_read() -> None:
            with db.session() as session:
                feed.overview(session, "sue")

        with db.session() as session:
            entries = len(feed.entries(session, "sue"))
        print(f"feed entries: {entries} (incl. effective/expired written on the first read)")
        print(f"agent's unread feed (sidebar notice): {timed(agent_read, args.repeat):.1f} ms")
        print(f"supervisor's overview: {timed(supervisor_read, args.repeat):.1f} ms")
        db.dispose()


if __name__ == "__main__":
    main()
