"""Rate limits counted in the database, so that they hold across API replicas.

The same token buckets as ``kb.api.ratelimit`` (``per_minute`` burst, one token every
``60 / per_minute`` seconds), one row of ``rate_buckets`` each, refilled and taken
from under its row lock (``INSERT ... ON CONFLICT DO UPDATE``) in a short transaction
of its own, timed by the database's clock (replicas on machines whose clocks differ
agree). Used when the database is PostgreSQL (``buckets_for``); on SQLite, a single
machine, each worker keeps its buckets in memory. A bucket idle for a minute is full
again: such rows carry no information and are deleted now and then.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert

from kb.api.ratelimit import Buckets, RateLimiter, refused, seconds_to_wait
from kb.store.db import Database
from kb.store.tables import RateBucket

#: Every this many takes, a replica deletes the buckets idle for over a minute.
PRUNE_EVERY = 1000


class DatabaseBuckets:
    """Token buckets in the ``rate_buckets`` table of a PostgreSQL database; thread-safe."""

    def __init__(self, db: Database, per_minute: int, scope: str) -> None:
        """Count in ``db``; ``scope`` keeps apart the limits sharing the table."""
        self.db = db
        self.per_minute = per_minute
        self.capacity = float(max(per_minute, 0))
        self.scope = scope
        self._takes = itertools.count(1)

    @property
    def enabled(self) -> bool:
        """False when the limit is switched off (``per_minute <= 0``)."""
        return self.per_minute > 0

    def check(self, key: str) -> None:
        """Take one token for ``key``, or raise ``RateLimited`` with the seconds to wait."""
        if not self.enabled:
            return
        tokens = self._take(key, strict=True)
        if tokens < 1.0:
            raise refused(self.per_minute, seconds_to_wait(tokens, self.per_minute))

    def seconds_until_token(self, key: str) -> int:
        """0 when ``key`` has a token now (none is taken), else the whole seconds to wait."""
        if not self.enabled:
            return 0
        with self.db.engine.connect() as connection:
            row = connection.execute(
                select(RateBucket.tokens, RateBucket.updated, func.clock_timestamp()).where(
                    RateBucket.name == self._name(key)
                )
            ).first()
        if row is None:
            return 0
        tokens = self._refilled(row.tokens, row.updated, row[2])
        return 0 if tokens >= 1.0 else seconds_to_wait(tokens, self.per_minute)

    def spend(self, key: str) -> None:
        """Take one token for ``key`` if it has one (never raises)."""
        if self.enabled:
            self._take(key, strict=False)

    def _take(self, key: str, *, strict: bool) -> float:
        """Refill and take one token in one short transaction; the tokens there were.

        ``strict``: take only a whole token (a refused request spends nothing). The
        refill locks the row until the commit, so replicas take turns; the commit does
        not wait for the disk (a crash may forget a few takes, never grant a burst)."""
        name = self._name(key)
        with self.db.engine.begin() as connection:
            connection.execute(text("SET LOCAL synchronous_commit TO OFF"))
            tokens = connection.execute(self._refill(name)).scalar_one()
            if tokens >= 1.0 or not strict:
                connection.execute(
                    update(RateBucket)
                    .where(RateBucket.name == name)
                    .values(tokens=func.greatest(0.0, RateBucket.tokens - 1.0))
                )
            if next(self._takes) % PRUNE_EVERY == 0:
                _prune(connection)
        return float(tokens)

    def _refill(self, name: str) -> Any:
        """Insert a full bucket, or refill the existing one by the time since its last
        take (the database's clock); returning its tokens."""
        now = func.clock_timestamp()
        elapsed = func.greatest(0.0, func.extract("epoch", now - RateBucket.updated))
        refilled = func.least(self.capacity, RateBucket.tokens + elapsed * self.capacity / 60.0)
        statement = insert(RateBucket).values(name=name, tokens=self.capacity, updated=now)
        return statement.on_conflict_do_update(
            index_elements=["name"], set_={"tokens": refilled, "updated": now}
        ).returning(RateBucket.tokens)

    def _refilled(self, tokens: float, updated: datetime, now: datetime) -> float:
        elapsed = max(0.0, (now - updated).total_seconds())
        return min(self.capacity, tokens + elapsed * self.capacity / 60.0)

    def _name(self, key: str) -> str:
        return f"{self.scope}:{key}"[:200]


def _prune(connection: Connection) -> None:
    """Delete the buckets nobody took from for over a minute (they are full again)."""
    cutoff = func.clock_timestamp() - text("interval '61 seconds'")
    connection.execute(delete(RateBucket).where(RateBucket.updated < cutoff))


def buckets_for(db: Database, per_minute: int, scope: str) -> Buckets:
    """Where to count one limit: the database on PostgreSQL (every replica shares it),
    else this worker's memory."""
    if db.engine.dialect.name == "postgresql":
        return DatabaseBuckets(db, per_minute, scope)
    return RateLimiter(per_minute)
