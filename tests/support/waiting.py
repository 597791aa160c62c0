"""Waiting for something to have happened, on its own signal: a condition polled until a deadline,
or the watches of a cluster's caches once they are open."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from app.k8s.cache import ResourceCache
from app.k8s.gateway import Gateway

T = TypeVar("T")
STEP = 0.02  # seconds between two looks at the condition


async def eventually(check: Callable[[], Awaitable[T | None]], seconds: float = 10.0, what: str = "condition") -> T:
    """The first true value of ``check()``, looked at until ``seconds`` have passed."""
    deadline = time.monotonic() + seconds
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not met within {seconds:g}s")
        await asyncio.sleep(STEP)


async def watches_open(gateway: Gateway, cluster_id: str, seconds: float = 10.0) -> list[ResourceCache]:
    """The caches of a cluster once each has its watch open: from then on they answer reads
    without calling the cluster, and every watch request they make has been counted."""
    caches = gateway.caches(cluster_id)
    assert caches, f"no cache of cluster {cluster_id} was started"
    async with asyncio.timeout(seconds):
        await asyncio.gather(*(cache.until_watching() for cache in caches))
    return caches
