"""Query cost budgets: fixed windows of cost points, each starting with its first charge.

A request is charged to several budgets at once (its principal's and its tenant's), all or none:
when one of them cannot pay, none is charged and the request is refused. The counters live in
this process's memory, or in Redis when replicas must share them (`FLEETGRAPH_RATE_LIMIT_URL`, by
default the broadcast URL when that is `redis://`), where one script checks and charges them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.settings import Settings

log = logging.getLogger("fleetgraph.ratelimit")

Limit = tuple[str, int]  # a budget's key and its points per window
PREFIX = "fleetgraph:cost:"
SWEEP_ABOVE = 10_000  # counters kept in memory before the ended windows are dropped


@dataclass(frozen=True)
class Charge:
    remaining: int | None  # the least any of the budgets has left; None when unknown
    refused: str | None = None  # the key of the budget that could not pay
    retry_after: float = 0.0  # seconds until that budget's window ends


class CostBudget(Protocol):
    async def charge(self, limits: Sequence[Limit], cost: int) -> Charge: ...

    async def close(self) -> None: ...


class MemoryCostBudget:
    def __init__(self, window_seconds: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window_seconds
        self.clock = clock
        self._spent: dict[str, tuple[float, int]] = {}  # key: (window start, points spent)

    async def charge(self, limits: Sequence[Limit], cost: int) -> Charge:
        now = self.clock()
        if len(self._spent) > SWEEP_ABOVE:
            self._spent = {k: v for k, v in self._spent.items() if now - v[0] < self.window}
        current = {key: self._current(key, now) for key, _ in limits}
        for key, points in limits:
            start, spent = current[key]
            if spent + cost > points:
                return Charge(None, refused=key, retry_after=max(0.0, start + self.window - now))
        for key, (start, spent) in current.items():
            self._spent[key] = (start, spent + cost)
        return Charge(min(points - current[key][1] - cost for key, points in limits))

    def _current(self, key: str, now: float) -> tuple[float, int]:
        start, spent = self._spent.get(key, (now, 0))
        return (now, 0) if now - start >= self.window else (start, spent)

    async def close(self) -> None:
        return None


# KEYS: the budgets; ARGV: cost, window in ms, then each budget's points.
# Returns {remaining} when charged, {-i, ms left of the window} when budget i cannot pay.
CHARGE = """
local cost = tonumber(ARGV[1])
local remaining = nil
for i, key in ipairs(KEYS) do
  local left = tonumber(ARGV[i + 2]) - tonumber(redis.call('GET', key) or '0') - cost
  if left < 0 then return {-i, redis.call('PTTL', key)} end
  if remaining == nil or left < remaining then remaining = left end
end
for _, key in ipairs(KEYS) do
  redis.call('INCRBY', key, cost)
  if redis.call('PTTL', key) < 0 then redis.call('PEXPIRE', key, ARGV[2]) end
end
return {remaining}
"""


class RedisCostBudget:
    """Shared by every replica that names the same Redis. When Redis cannot be reached, requests
    are let through (and logged): an unreachable counter must not take the API down."""

    def __init__(self, url: str, window_seconds: int) -> None:
        self.window = window_seconds
        self.redis = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.script = self.redis.register_script(CHARGE)

    async def charge(self, limits: Sequence[Limit], cost: int) -> Charge:
        keys = [PREFIX + key for key, _ in limits]
        args = [cost, self.window * 1000, *(points for _, points in limits)]
        try:
            answer = await self.script(keys=keys, args=args)
        except (RedisError, OSError) as exc:
            log.warning("cost budget not charged: Redis is unreachable (%s)", exc)
            return Charge(None)
        first = int(answer[0])
        if first >= 0:
            return Charge(first)
        left_ms = int(answer[1])
        return Charge(None, refused=limits[-first - 1][0], retry_after=max(0.0, left_ms / 1000))

    async def close(self) -> None:
        await self.redis.aclose()


def cost_budget(settings: Settings) -> CostBudget:
    url = settings.rate_limit_url
    if url is None:
        url = settings.broadcast_url if settings.broadcast_url.startswith("redis") else "memory://"
    if url.startswith("redis"):
        return RedisCostBudget(url, settings.tenant_cost_window_seconds)
    return MemoryCostBudget(settings.tenant_cost_window_seconds)

