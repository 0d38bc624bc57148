"""Per-key rate limiting: a token bucket per API key, in the memory of each worker.

A key may send ``per_minute`` requests in a burst and then one every
``60 / per_minute`` seconds. A refused request raises ``RateLimited`` with the
whole seconds to wait (the ``Retry-After`` header). ``per_minute <= 0`` turns the
limit off. Each worker process keeps its own buckets: with ``--workers N`` a key
may reach up to N times the limit, so set ``api_rate_limit_per_minute`` per worker.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from kb.api.errors import RateLimited


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets keyed by API key name; thread-safe."""

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
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self.max_keys:
                    self._forget_full(now)
                bucket = self._buckets[key] = _Bucket(self.capacity, now)
            else:
                elapsed = max(0.0, now - bucket.updated)
                bucket.tokens = min(self.capacity, bucket.tokens + elapsed * self.rate)
                bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return
            wait = max(1, math.ceil((1.0 - bucket.tokens) / self.rate))
        raise RateLimited(
            f"rate limit of {self.per_minute} requests per minute exceeded; retry after {wait} s",
            retry_after=wait,
        )

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled completely (they carry no information)."""
        for name in [
            k
            for k, b in self._buckets.items()
            if b.tokens + (now - b.updated) * self.rate >= self.capacity
        ]:
            del self._buckets[name]
