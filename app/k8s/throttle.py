"""Pacing calls: a token bucket (as client-go's default QPS 5 / burst 10 limiter) and a backoff."""

from __future__ import annotations

import asyncio
import random
import time


class TokenBucket:
    """``burst`` calls at once, then ``qps`` per second; waiters are served in arrival order.

    A ``qps`` of 0 or less disables the limit.
    """

    def __init__(self, qps: float = 5.0, burst: int = 10) -> None:
        self.qps = qps
        self.burst = max(1, burst)
        self._tokens = float(self.burst)
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.qps)
        self._stamp = now

    async def acquire(self) -> None:
        if self.qps <= 0:
            return
        async with self._lock:  # held while sleeping, so later callers queue behind earlier ones
            self._refill()
            while self._tokens < 1:
                await asyncio.sleep((1 - self._tokens) / self.qps)
                self._refill()
            self._tokens -= 1


class Backoff:
    """Exponential delays with jitter (half to full of the current step), capped at ``ceiling``."""

    def __init__(self, initial: float, ceiling: float) -> None:
        self.initial, self.ceiling, self.current = initial, ceiling, initial

    def next(self) -> float:
        delay = self.current * random.uniform(0.5, 1.0)
        self.current = min(self.ceiling, self.current * 2)
        return delay

    def reset(self) -> None:
        self.current = self.initial
