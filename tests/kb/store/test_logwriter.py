"""The usage writer (``kb.store.logwriter``) against a real SQLite database that another
connection holds locked, as a large ``kb import`` does (issue 13, item 2).

The writer's database has a 0.2 s busy timeout so that "database is locked" is raised
quickly and the retry path runs; nothing is mocked.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kb.store.db import Database
from kb.store.logwriter import UsageWriter
from kb.store.tables import ApiKey, QueryLog

HANG_GUARD_S = 60  # a hang guard only, not a speed target


def row(question: str = "退款多久到账") -> dict:
    return {
        "request_id": uuid.uuid4().hex,
        "channel": "api",
        "requester": "key:bot",
        "audience": "public",
        "question": question,
        "answered": True,
        "handoff": False,
        "confidence": 0.9,
        "reason": "",
        "cited_article_ids": ["faq-1"],
        "latency_ms": 12.0,
    }


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'kb.sqlite3'}", busy_timeout_s=0.2)
    database.migrate()
    yield database
    database.dispose()


@contextmanager
def locked(db: Database) -> Iterator[None]:
    """Hold SQLite's write lock from another connection (as a writing import does)."""
    other = sqlite3.connect(db.engine.url.database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def logged(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(QueryLog))


def submitted_in_background(writer: UsageWriter, count: int) -> bool:
    """Queue ``count`` rows from another thread; True when every call returned and succeeded.

    The join's 60 s bound only guards against a hang; it is not a speed target.
    """
    results: list[bool] = []
    caller = threading.Thread(
        target=lambda: results.extend(writer.log_query(row()) for _ in range(count))
    )
    caller.start()
    caller.join(timeout=60)
    return not caller.is_alive() and len(results) == count and all(results)


def test_rows_queue_while_locked_and_are_written_after(db: Database) -> None:
    writer = UsageWriter(db)
    with locked(db):
        # the caller never waits for the lock: all 50 calls return while it is still held
        # (a caller that waited would only return after the lock is released below)
        assert submitted_in_background(writer, 50)
        time.sleep(0.6)  # the writer meets "database is locked" and retries
        assert logged(db) == 0
        assert writer.pending() == 50
    assert writer.flush(timeout=HANG_GUARD_S)
    assert logged(db) == 50
    assert writer.dropped == 0
    writer.close()


def test_full_queue_drops_counts_and_never_blocks(db: Database) -> None:
    drops: list[int] = []
    writer = UsageWriter(db, capacity=5, batch_size=5, on_drop=drops.append)
    with locked(db):
        accepted = [writer.log_query(row()) for _ in range(30)]
    assert accepted.count(False) == writer.dropped == sum(drops) > 0
    assert writer.flush(timeout=HANG_GUARD_S)
    assert logged(db) == accepted.count(True)
    writer.close()


def test_close_writes_what_is_queued(db: Database) -> None:
    writer = UsageWriter(db)
    for _ in range(7):
        writer.log_query(row())
    writer.close()
    assert logged(db) == 7
    assert not writer.log_query(row())  # closed: refused, counted
    assert writer.dropped == 1


def test_close_gives_up_after_its_timeout(db: Database) -> None:
    writer = UsageWriter(db)
    with locked(db):
        writer.log_query(row())
        writer.close(timeout=0.5)
        assert writer._thread is not None
        # still locked: a thread that never gave up would be alive after this hang guard
        # (close's own join of timeout + 5 s could end first on a slow, loaded machine)
        writer._thread.join(HANG_GUARD_S)
        assert not writer._thread.is_alive()  # gave up, stopped
    assert writer.dropped == 1
    assert logged(db) == 0


def test_key_touch_is_written_in_the_background(db: Database) -> None:
    from review import users
    from review.keys import create_key

    with db.session() as session:
        users.add_user(session, None, "root", ["admin"])
    with db.session() as session:
        create_key(session, "root", "bot", "suggest", "public")
    with db.session() as session:
        key_id = session.scalar(select(ApiKey.id))
    writer = UsageWriter(db)
    with locked(db):
        assert writer.touch_key(key_id)
    assert writer.flush(timeout=HANG_GUARD_S)
    with db.session() as session:
        assert session.get(ApiKey, key_id).last_used_at is not None
    writer.close()
