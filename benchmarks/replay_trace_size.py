"""Bytes per suggestion in the query log, with and without the answer-replay trace.

Indexes the sample knowledge base (articles/, the bundled model), asks the 99 sample
questions (tests/data/sample_questions.jsonl) through ``kb.answer.suggest.Suggester`` with a
database, so each is logged as every front end logs it (``kb.store.querylog``), then reports
per suggestion: the bytes of the stored trace (its JSON text, as SQLite keeps it) and
the database file's growth per suggestion (pages, indexes and all; VACUUMed) with the
traces, and again after dropping them (what ``kb prune`` leaves).

    .venv/bin/python benchmarks/replay_trace_size.py
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import select, update  # noqa: E402

from kb.answer.suggest import Suggester  # noqa: E402
from kb.config import Config  # noqa: E402
from kb.store.db import Database  # noqa: E402
from kb.store.tables import QueryLog  # noqa: E402

QUESTIONS = REPO / "tests" / "data" / "sample_questions.jsonl"


def _size(db: Database, path: Path) -> int:
    """The database file's size after a checkpoint and VACUUM (autocommit connection)."""
    db.engine.dispose()
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("VACUUM")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    return path.stat().st_size


def main() -> None:
    """Print bytes per suggestion."""
    from ingest.pipeline import index_files

    questions = [json.loads(line)["query"] for line in QUESTIONS.read_text("utf-8").splitlines()]
    with tempfile.TemporaryDirectory() as tmp:
        config = Config(home=Path(tmp))
        index_files([REPO / "articles"], config, full=True)
        path = Path(tmp) / "log.sqlite3"
        db = Database(f"sqlite:///{path}")
        db.migrate()
        before = _size(db, path)
        suggester = Suggester(config, db=db)
        for question in questions:
            suggester.suggest(question, channel="bench")
        with_traces = _size(db, path)
        with db.session() as session:
            rows = session.scalars(select(QueryLog)).all()
            traces = [len(json.dumps(r.trace, ensure_ascii=False).encode()) for r in rows]
            session.execute(update(QueryLog).values(trace=None))
        without_traces = _size(db, path)
        db.dispose()
    n = len(traces)
    print(f"{n} suggestions logged")
    print(
        f"trace JSON: mean {statistics.mean(traces):.0f} B, median "
        f"{statistics.median(traces):.0f} B, max {max(traces)} B per suggestion"
    )
    print(
        f"database growth per suggestion (VACUUMed): {(with_traces - before) / n:.0f} B with "
        f"the trace, {(without_traces - before) / n:.0f} B once it is pruned"
    )


if __name__ == "__main__":
    main()
