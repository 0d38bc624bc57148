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
