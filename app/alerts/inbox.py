"""The evaluator's inbox: everything the clusters' alerts depend on, queued in order and drained by one task.

Watch events and re-lists of a kind, a cluster's connection status, a tenant rule's samples, reviews
(something came due), a tenant's silences or rules changing, and flushes (a caller waiting until what
was queued before it is stored).
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Any

from app.alerts.rules import Condition


@dataclass(frozen=True)
class WatchEvent:
    cluster_id: str
    kind: str
    type: str
    obj: dict[str, Any]


@dataclass(frozen=True)
class Relist:
    cluster_id: str
    kind: str
    objects: list[dict[str, Any]]


@dataclass(frozen=True)
class ConnectionStatus:
    cluster_id: str
    status: str


@dataclass(frozen=True)
class Samples:
    cluster_id: str
    rules: frozenset[str]  # the tenant rules that apply to the cluster now
    evaluated: frozenset[str]  # those whose query answered
    holding: dict[str, Condition]
    done: asyncio.Future[None] | None = None


@dataclass(frozen=True)
class Review:
    cluster_id: str


@dataclass(frozen=True)
class TenantChanged:
    tenant_id: str | None


@dataclass(frozen=True)
class Flush:
    done: asyncio.Future[None]


Item = WatchEvent | Relist | ConnectionStatus | Samples | Review | TenantChanged | Flush


class Inbox:
    def __init__(self) -> None:
        self._items: deque[Item] = deque()
        self._wake = asyncio.Event()
        self.oldest: float | None = None  # when the oldest item still queued was put (loop time)
        self.taken_since: float | None = None  # when the oldest item of the last batch taken was put

    def put(self, item: Item) -> None:
        if not self._items:
            self.oldest = asyncio.get_running_loop().time()
        self._items.append(item)
        self._wake.set()

    async def take(self) -> list[Item]:
        """Everything queued, once something was put."""
        await self._wake.wait()
        self._wake.clear()
        batch, self._items = list(self._items), deque()
        self.taken_since, self.oldest = self.oldest, None
        return batch

    def drop_events(self, cluster_id: str, kind: str) -> None:
        """Forget the watch events of a kind queued so far: a full list of it follows, newer than they are."""
        self._items = deque(i for i in self._items if not (isinstance(i, WatchEvent) and i.cluster_id == cluster_id
                                                            and i.kind == kind))

    def drop_cluster(self, cluster_id: str) -> None:
        """Forget what was queued for a cluster; whoever waits for its samples is let go."""
        kept: deque[Item] = deque()
        for item in self._items:
            if getattr(item, "cluster_id", None) != cluster_id:
                kept.append(item)
            elif isinstance(item, Samples) and item.done is not None and not item.done.done():
                item.done.set_result(None)
        self._items = kept

    def close(self) -> None:
        """Forget everything queued; whoever waits is let go."""
        for item in self._items:
            done = item.done if isinstance(item, Samples | Flush) else None
            if done is not None and not done.done():
                done.set_result(None)
        self._items.clear()
