"""Benchmark: how long each `kb import` transaction holds the database's write lock.

Imports N generated FAQ entries (default 10,000) into a fresh SQLite knowledge base
with ``review.importing.import_in_batches`` and prints the total time and the median and
largest transaction time for the given batch size (the ``import_batch_size`` setting).

    .venv/bin/python benchmarks/import_transactions.py --batch-size 500 --publish
    .venv/bin/python benchmarks/import_transactions.py --batch-size 10000 --publish  # one
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "benchmarks"))

from import_faq import write_entries  # noqa: E402

from kb.formats.importer import read_articles  # noqa: E402
from kb.store.db import Database  # noqa: E402
from review import users  # noqa: E402
from review.importing import import_articles  # noqa: E402


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--publish", action="store_true", help="bootstrap-publish as well")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "faq.jsonl"
        write_entries(source, args.n)
        db = Database(f"sqlite:///{Path(tmp) / 'kb.sqlite3'}")
        db.migrate()
        with db.session() as session:
            users.add_user(session, None, "admin", ["admin"])
        batch = read_articles([source], max_bytes=1 << 31)
        items = [(i.article, i.source) for i in batch.items]
        seconds = []
        for start in range(0, len(items), args.batch_size):  # as import_in_batches does
            began = time.perf_counter()
            with db.session() as session:
                chunk = items[start : start + args.batch_size]
                import_articles(
                    session, "admin", chunk, publish=args.publish, continuing_load=start > 0
                )
            seconds.append(time.perf_counter() - began)
        db.dispose()
    print(
        f"{args.n:,} entries{' with --publish' if args.publish else ''}, "
        f"{args.batch_size:,} per transaction: {sum(seconds):.2f} s in {len(seconds)} "
        f"transaction(s); each {statistics.median(seconds):.3f} s median, "
        f"{max(seconds):.3f} s max"
    )


if __name__ == "__main__":
    main()
