"""The REST layer's rate limits: each dialect's documented tiers, counted per client IP.

What the source documents say, and what is served:
- Kubilitics (`/api/v1`, "Rate Limiting"): per IP, by endpoint type. Exec/Shell (`/shell`,
  `/kcli/exec`, `/kcli/stream`, `/pods/{name}/exec`) 10 req/min, burst 10; GET 120 req/min,
  burst 120; every other method 60 req/min, burst 60. `/health` and `/metrics` are excluded.
  The interactive `/shell/stream` counts as a shell, like `/kcli/stream`; the shell's cheap
  `status` and `complete` reads are GETs like any other.
- Provisioner: `RATE_LIMIT_PER_MINUTE` 100 and `RATE_LIMIT_PER_HOUR` 1000, both at once.
- CKS and QAssure: their documents name no rate limit, so both get `DEFAULT_LIMIT` per IP.

The counting is `limits`' moving window: a client may spend a window's whole budget at once
(the documented burst equals each limit) but never more than the limit within any span of the
window's length. Counters live in this process's memory, or in Redis when replicas must share
them; every key is `fleetgraph:rest:{dialect}/{tier}/{client}/...`. When Redis cannot be reached
the request is let through and the outage is logged once: an unreachable counter must not take
the API down.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import ConnectionPool
from redis.exceptions import RedisError

from app.settings import Settings

log = logging.getLogger("fleetgraph.rest.rate_limits")

KEY_PREFIX = "fleetgraph:rest"
DEFAULT_LIMIT = "300/minute"  # per IP, for the dialects whose documents name no limit
READ_METHODS = frozenset({"GET", "HEAD"})
EXEMPT_PATHS = frozenset({"/health", "/metrics"})  # probes and scrapes, in every dialect
_COMPAT_PREFIX = re.compile(r"^/compat/[a-z]+(?=/|$)")
REDIS_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class Verdict:
    """The answer for one request. A verdict with `limit` 0 means no limit applies (an exempt
    path, or counters that cannot be reached) and carries no headers."""

    allowed: bool
    limit: int  # the limit of the tightest item that applies
    remaining: int
    reset: int  # epoch seconds when that window resets
    retry_after: int  # seconds, 0 when allowed

    @classmethod
    def unlimited(cls) -> Verdict:
        return cls(allowed=True, limit=0, remaining=0, reset=0, retry_after=0)

    def headers(self) -> dict[str, str]:
        if self.limit == 0:
            return {}
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers

    def message(self) -> str:
        """The refusal's text, as Kubilitics words it."""
        return f"Rate limit exceeded. Please retry after {self.retry_after} seconds."


@dataclass(frozen=True)
class Tier:
    """A named group of endpoints and the limits they share, in `limits` notation ("10/minute");
    when there are several, a request must fit in all of them."""

    name: str
    limits: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.limits:
            raise ValueError(f"the tier {self.name!r} names no limit")
        for spec in self.limits:
            parse(spec)  # a misspelt limit fails here, not at the first request


@dataclass(frozen=True)
class Policy:
    """Which tier a request falls in: `special` when its path matches `special_paths`, else
    `read` for GET and HEAD, else `other`."""

    other: Tier
    read: Tier | None = None
    special: Tier | None = None
    special_paths: re.Pattern[str] | None = None

    def tier_for(self, method: str, path: str) -> Tier:
        if self.special is not None and self.special_paths is not None and self.special_paths.search(path):
            return self.special
        if self.read is not None and method.upper() in READ_METHODS:
            return self.read
        return self.other


KUBILITICS_EXEC_PATHS = re.compile(
    r"/clusters/[^/]+/(?:shell|shell/stream|kcli/exec|kcli/stream|pods/(?:[^/]+/)?[^/]+/exec)$"
)

POLICIES: Mapping[str, Policy] = {
    "kubilitics": Policy(
        other=Tier("standard", ("60/minute",)),
        read=Tier("get", ("120/minute",)),
        special=Tier("exec", ("10/minute",)),
        special_paths=KUBILITICS_EXEC_PATHS,
    ),
    "provisioner": Policy(other=Tier("api", ("100/minute", "1000/hour"))),
    "cks": Policy(other=Tier("api", (DEFAULT_LIMIT,))),
    "qassure": Policy(other=Tier("api", (DEFAULT_LIMIT,))),
}


def normalized_path(path: str) -> str:
    """The path without its query, trailing slash or `/compat/{dialect}` mount."""
    path = _COMPAT_PREFIX.sub("", path.split("?", 1)[0])
    return path.rstrip("/") or "/"


@lru_cache(maxsize=256)
def _item(dialect: str, spec: str) -> RateLimitItem:
    parsed = parse(spec)
    return type(parsed)(parsed.amount, parsed.multiples, namespace=dialect)


def storage_url(settings: Settings) -> str:
    """`rate_limit_url`, else `redis_url`, else the broadcast URL if it is Redis, else memory."""
    if settings.rate_limit_url is not None:
        return settings.rate_limit_url
    if settings.redis_url is not None:
        return settings.redis_url
    if settings.broadcast_url.startswith(("redis://", "rediss://")):
        return settings.broadcast_url
    return "memory://"


class RestRateLimiter:
    """Counts REST requests per dialect, tier and client, in memory or (a `redis://` or
    `rediss://` URL) in a Redis that replicas share. `policies` and `key_prefix` exist for tests
    that need small limits or keys of their own."""

    def __init__(
        self, url: str = "memory://", policies: Mapping[str, Policy] = POLICIES, key_prefix: str = KEY_PREFIX
    ) -> None:
        self.url = url
        self.policies = policies
        self._pool: ConnectionPool | None = None
        self._memory: MemoryStorage | None = None
        self._storage = self._open(url, key_prefix)
        self._strategy = MovingWindowRateLimiter(self._storage)
        self._outage_logged = False

    @classmethod
    def from_settings(cls, settings: Settings) -> RestRateLimiter:
        return cls(storage_url(settings))

    def _open(self, url: str, key_prefix: str) -> Storage:
        if not url.startswith(("redis://", "rediss://")):
            self._memory = MemoryStorage()
            return self._memory
        self._pool = ConnectionPool.from_url(
            url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
        )
        options: dict[str, Any] = {"connection_pool": self._pool}  # limits' client runs on our pool
        return RedisStorage(f"async+{url}", wrap_exceptions=True, implementation="redispy", key_prefix=key_prefix,
                            **options)  # fmt: skip

    async def hit(self, dialect: str, method: str, path: str, client: str) -> Verdict:
        """Count one request against every limit of its tier, the shortest window first, stopping
        at the first that refuses it (so a refused request costs the longer windows nothing).
        `/health` and `/metrics` are never limited: they get an allowed verdict with no headers."""
        policy = self.policies.get(dialect)
        if policy is None:
            raise ValueError(f"no rate-limit policy for the dialect {dialect!r}")
        path = normalized_path(path)
        if path in EXEMPT_PATHS:
            return Verdict.unlimited()
        tier = policy.tier_for(method, path)
        items = sorted((_item(dialect, spec) for spec in tier.limits), key=lambda item: item.get_expiry())
        try:
            verdict = await self._count(items, tier.name, client or "unknown")
        except (StorageError, RedisError, OSError) as exc:
            if not self._outage_logged:
                log.warning("REST rate limits not counted, requests let through: Redis is unreachable (%s)", exc)
                self._outage_logged = True
            return Verdict.unlimited()
        if self._outage_logged:
            log.info("REST rate limits counted again: Redis is reachable")
            self._outage_logged = False
        return verdict

    async def _count(self, items: list[RateLimitItem], tier: str, client: str) -> Verdict:
        tightest: Verdict | None = None
        for item in items:
            allowed = await self._strategy.hit(item, tier, client)
            stats = await self._strategy.get_window_stats(item, tier, client)
            now = time.time()
            verdict = Verdict(
                allowed=allowed,
                limit=item.amount,
                remaining=max(0, stats.remaining),
                reset=math.ceil(stats.reset_time),
                retry_after=0 if allowed else max(1, math.ceil(stats.reset_time - now)),
            )
            if not allowed:
                return verdict
            if tightest is None or (verdict.remaining, verdict.reset) < (tightest.remaining, tightest.reset):
                tightest = verdict
        return tightest or Verdict.unlimited()

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None
        if self._memory is not None:
            if self._memory.timer is not None:  # the task that drops expired entries
                self._memory.timer.cancel()
            await self._memory.reset()
