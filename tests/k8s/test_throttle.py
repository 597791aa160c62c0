"""The token bucket and the backoff, on a fake clock."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from app.k8s import throttle
from app.k8s.throttle import Backoff, TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    # the throttle module's own clock and sleep only: other tasks of the loop keep the real ones
    monkeypatch.setattr(throttle, "time", SimpleNamespace(monotonic=fake.monotonic))
    monkeypatch.setattr(throttle, "asyncio", SimpleNamespace(Lock=asyncio.Lock, sleep=fake.sleep))
    return fake


async def test_burst_then_qps(clock: FakeClock) -> None:
    bucket = TokenBucket(qps=5, burst=10)
    for _ in range(10):
        await bucket.acquire()
    assert clock.slept == []
    await bucket.acquire()
    await bucket.acquire()
    assert clock.slept == [0.2, 0.2]
    clock.now += 10  # idle time refills up to the burst, not beyond
    clock.slept.clear()
    for _ in range(11):
        await bucket.acquire()
    assert clock.slept == [0.2]


async def test_zero_qps_disables_the_limit(clock: FakeClock) -> None:
    bucket = TokenBucket(qps=0, burst=1)
    for _ in range(100):
        await bucket.acquire()
    assert clock.slept == []


def test_backoff_doubles_with_jitter_up_to_the_ceiling() -> None:
    backoff = Backoff(0.5, 3.0)
    delays = [backoff.next() for _ in range(6)]
    steps = [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]
    assert all(step / 2 <= delay <= step for delay, step in zip(delays, steps, strict=True))
    backoff.reset()
    assert backoff.next() <= 0.5
