"""Rate limiting: token buckets in the memory of each worker.

Two uses: per API key (every request takes a token: ``RateLimiter.check``), and per
client address for failed authentication (``AuthFailureLimiter``: a failure takes a
token; an address without tokens is refused before its key is even looked at).

A bucket holds ``per_minute`` tokens (the burst) and refills one every
``60 / per_minute`` seconds. A refused request raises ``RateLimited`` with the
whole seconds to wait (the ``Retry-After`` header). ``per_minute <= 0`` turns the
limit off.

Where the buckets live (``Buckets``): on SQLite, in the memory of each worker
(``RateLimiter``): with ``--workers N`` a key may reach up to N times the limit, so
set the limits per worker. On PostgreSQL, in the database (``kb.api.ratelimit_db``):
the limits hold across every worker and replica.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from kb.api.errors import RateLimited


class Buckets(Protocol):
    """Token buckets keyed by name, wherever they are kept."""

    per_minute: int

    @property
    def enabled(self) -> bool:
        """False when the limit is switched off."""
        ...

    def check(self, key: str) -> None:
        """Take one token for ``key``, or raise ``RateLimited``."""
        ...

    def seconds_until_token(self, key: str) -> int:
        """0 when ``key`` has a token now (none is taken), else the seconds to wait."""
        ...

    def spend(self, key: str) -> None:
        """Take one token for ``key`` if it has one (never raises)."""
        ...


def refused(per_minute: int, wait: int) -> RateLimited:
    """The error of a request beyond ``per_minute``, to retry after ``wait`` seconds."""
    return RateLimited(
        f"rate limit of {per_minute} requests per minute exceeded; retry after {wait} s",
        retry_after=wait,
    )


def seconds_to_wait(tokens: float, per_minute: int) -> int:
    """Whole seconds until a bucket holding ``tokens`` has one (at least 1)."""
    return max(1, math.ceil((1.0 - tokens) * 60.0 / per_minute))


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets keyed by name (an API key, a client address); thread-safe."""

    def __init__(
        self, per_minute: int, clock: Callable[[], float] = time.monotonic, max_keys: int = 10_000
    ) -> None:
        """Store the limit; ``clock`` is injectable for tests of the arithmetic."""
        self.per_minute = per_minute
        self.capacity = float(max(per_minute, 0))
        self.rate = self.capacity / 60.0
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """False when the limit is switched off (``per_minute <= 0``)."""
        return self.per_minute > 0

    def check(self, key: str) -> None:
        """Take one token for ``key``, or raise ``RateLimited`` with the seconds to wait."""
        if not self.enabled:
            return
        with self._lock:
            bucket = self._refilled(key, self.clock())
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return
            wait = self._wait(bucket)
        raise refused(self.per_minute, wait)

    def seconds_until_token(self, key: str) -> int:
        """0 when ``key`` has a token now (none is taken), else the whole seconds to wait."""
        if not self.enabled:
            return 0
        with self._lock:
            bucket = self._refilled(key, self.clock())
            return 0 if bucket.tokens >= 1.0 else self._wait(bucket)

    def spend(self, key: str) -> None:
        """Take one token for ``key`` if it has one (never raises)."""
        if not self.enabled:
            return
        with self._lock:
            bucket = self._refilled(key, self.clock())
            bucket.tokens = max(0.0, bucket.tokens - 1.0)

    def _wait(self, bucket: _Bucket) -> int:
        return seconds_to_wait(bucket.tokens, self.per_minute)

    def _refilled(self, key: str, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._forget_full(now)
            return self._buckets.setdefault(key, _Bucket(self.capacity, now))
        elapsed = max(0.0, now - bucket.updated)
        bucket.tokens = min(self.capacity, bucket.tokens + elapsed * self.rate)
        bucket.updated = now
        return bucket

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled completely (they carry no information)."""
        for name in [
            k
            for k, b in self._buckets.items()
            if b.tokens + (now - b.updated) * self.rate >= self.capacity
        ]:
            del self._buckets[name]


class AuthFailureLimiter:
    """Failed authentication attempts per client address (a flood of bad keys is throttled).

    ``refuse_if_exhausted`` runs before a key is verified: an address that used up its
    allowance of failures gets 429 (whatever key it sends) until a token refills.
    ``failed`` spends one token. Other addresses are unaffected.
    """

    def __init__(
        self,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        buckets: Buckets | None = None,
    ) -> None:
        """Store the allowance of failures per minute per address (``<= 0``: no limit);
        ``buckets``: where to count (default: this worker's memory)."""
        self.buckets: Buckets = buckets or RateLimiter(per_minute, clock=clock)

    def refuse_if_exhausted(self, address: str) -> None:
        """Raise ``RateLimited`` when ``address`` has no failed attempt left."""
        wait = self.buckets.seconds_until_token(address)
        if wait:
            raise RateLimited(
                f"too many failed authentication attempts from this address; retry after {wait} s",
                retry_after=wait,
            )

    def failed(self, address: str) -> None:
        """Count one failed authentication attempt from ``address``."""
        self.buckets.spend(address)
