"""The per-key token bucket: burst, refill, Retry-After, keys independent, off switch."""

from __future__ import annotations

import pytest

from kb.api.errors import RateLimited
from kb.api.ratelimit import AuthFailureLimiter, RateLimiter


class Clock:
    """A clock the test moves by hand (the limiter's arithmetic, not time, is under test)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refusal_with_retry_after() -> None:
    clock = Clock()
    limiter = RateLimiter(6, clock=clock)  # 6 per minute: one token every 10 s
    for _ in range(6):
        limiter.check("a")
    with pytest.raises(RateLimited) as refused:
        limiter.check("a")
    assert refused.value.retry_after == 10
    clock.now += 4
    with pytest.raises(RateLimited) as again:
        limiter.check("a")
    assert again.value.retry_after == 6
    clock.now += 6
    limiter.check("a")


def test_keys_have_separate_buckets() -> None:
    limiter = RateLimiter(1, clock=Clock())
    limiter.check("a")
    limiter.check("b")
    with pytest.raises(RateLimited):
        limiter.check("a")


def test_refill_never_exceeds_the_burst() -> None:
    clock = Clock()
    limiter = RateLimiter(3, clock=clock)
    clock.now += 3600
    for _ in range(3):
        limiter.check("a")
    with pytest.raises(RateLimited):
        limiter.check("a")


def test_zero_turns_the_limit_off() -> None:
    limiter = RateLimiter(0, clock=Clock())
    for _ in range(1000):
        limiter.check("a")
    assert not limiter.enabled


def test_forgets_full_buckets_when_many_keys() -> None:
    clock = Clock()
    limiter = RateLimiter(60, clock=clock, max_keys=10)
    for i in range(10):
        limiter.check(f"k{i}")
    clock.now += 120
    limiter.check("new")
    assert len(limiter._buckets) == 1


def test_failed_authentications_refill_per_address() -> None:
    clock = Clock()
    limiter = AuthFailureLimiter(2, clock=clock)  # one failure back every 30 s
    for _ in range(2):
        limiter.refuse_if_exhausted("10.0.0.1")
        limiter.failed("10.0.0.1")
    with pytest.raises(RateLimited) as refused:
        limiter.refuse_if_exhausted("10.0.0.1")
    assert refused.value.retry_after == 30
    limiter.refuse_if_exhausted("10.0.0.2")  # another address has its own allowance
    limiter.failed("10.0.0.1")  # failures while refused do not dig a deeper hole
    clock.now += 30
    limiter.refuse_if_exhausted("10.0.0.1")


def test_no_failure_limit_when_zero() -> None:
    limiter = AuthFailureLimiter(0, clock=Clock())
    for _ in range(100):
        limiter.failed("a")
    limiter.refuse_if_exhausted("a")


@pytest.fixture
def pg_db(postgres_url: str):
    """A migrated PostgreSQL knowledge base (real server)."""
    from kb.store.db import Database

    database = Database(postgres_url)
    database.migrate()
    yield database
    database.dispose()


def _age(db, seconds: int) -> None:
    """Move every bucket's last take ``seconds`` into the past (the database's clock)."""
    from sqlalchemy import text

    with db.engine.begin() as connection:
        connection.execute(
            text("UPDATE rate_buckets SET updated = updated - make_interval(secs => :s)"),
            {"s": seconds},
        )


def test_database_buckets_burst_refill_and_retry_after(pg_db) -> None:
    from kb.api.ratelimit_db import DatabaseBuckets

    buckets = DatabaseBuckets(pg_db, 3, "key")  # one token every 20 s
    for _ in range(3):
        buckets.check("a")
    with pytest.raises(RateLimited) as refused:
        buckets.check("a")
    assert 19 <= refused.value.retry_after <= 20
    assert buckets.seconds_until_token("a") >= 19
    buckets.check("b")  # keys apart
    assert DatabaseBuckets(pg_db, 3, "auth").seconds_until_token("a") == 0  # scopes apart
    _age(pg_db, 21)
    assert buckets.seconds_until_token("a") == 0
    buckets.check("a")
    with pytest.raises(RateLimited):
        buckets.check("a")
    _age(pg_db, 3600)
    for _ in range(3):  # refilled to the burst, not beyond
        buckets.check("a")
    with pytest.raises(RateLimited):
        buckets.check("a")


def test_database_buckets_hold_across_replicas_under_concurrency(pg_db) -> None:
    """Two replicas (two engines, as two processes have), eight threads at once: the burst
    is granted, and beyond it only what refilled meanwhile (one token every 6 s), never
    each replica's burst."""
    import threading
    import time

    from kb.api.ratelimit_db import DatabaseBuckets
    from kb.store.db import Database

    replicas = [Database(pg_db.url) for _ in range(2)]
    limiters = [DatabaseBuckets(db, 10, "key") for db in replicas]
    granted: list[int] = []
    barrier = threading.Barrier(8)

    def hammer(limiter: DatabaseBuckets) -> None:
        barrier.wait()
        for _ in range(5):
            try:
                limiter.check("bot")
                granted.append(1)
            except RateLimited:
                pass

    threads = [threading.Thread(target=hammer, args=(limiters[i % 2],)) for i in range(8)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    refilled = int((time.monotonic() - started) / 6)
    for db in replicas:
        db.dispose()
    assert 10 <= len(granted) <= 10 + refilled < 20


def test_idle_buckets_are_pruned(pg_db, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy import select

    from kb.api import ratelimit_db
    from kb.store.tables import RateBucket

    monkeypatch.setattr(ratelimit_db, "PRUNE_EVERY", 3)
    buckets = ratelimit_db.DatabaseBuckets(pg_db, 5, "auth")
    buckets.spend("10.0.0.1")
    buckets.spend("10.0.0.2")
    _age(pg_db, 120)
    buckets.spend("10.0.0.3")  # the third take prunes the two idle rows
    with pg_db.session() as session:
        names = sorted(session.scalars(select(RateBucket.name)))
    assert names == ["auth:10.0.0.3"]


def test_sqlite_keeps_the_buckets_in_memory(tmp_path) -> None:
    from kb.api.ratelimit_db import buckets_for
    from kb.config import sqlite_url
    from kb.store.db import Database

    database = Database(sqlite_url(tmp_path / "kb.sqlite3"))
    assert isinstance(buckets_for(database, 5, "key"), RateLimiter)
    database.dispose()
