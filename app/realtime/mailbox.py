"""A subscriber's bounded mailbox: never an unbounded buffer, and one slow reader stalls nobody.

When full, a new event replaces the pending one for the same object (latest state wins);
when there is nothing to coalesce, the pending events are dropped and a single RESYNC
tells the reader to refetch.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any

RESYNC = "RESYNC"


ObjectKey = tuple[Any, Any, Any, Any]  # (cluster ID, kind, namespace or None, name)


def object_key(event: dict[str, Any]) -> ObjectKey:
    """Which object an event is about; computed for every subscriber of every event, so kept cheap."""
    get = event.get
    return (get("clusterId"), get("kind"), get("namespace"), get("name"))


class Mailbox:
    def __init__(self, capacity: int = 1000) -> None:
        self.capacity = capacity
        self._pending: OrderedDict[ObjectKey, dict[str, Any]] = OrderedDict()
        self._ready = asyncio.Event()
        self.coalesced = 0
        self.resyncs = 0

    def put(self, event: dict[str, Any]) -> None:
        key = object_key(event)
        if key in self._pending:
            if self._pending[key]["type"] == "ADDED" and event["type"] == "MODIFIED":
                event = {**event, "type": "ADDED"}  # the reader has not seen it yet: still new to them
            self._pending[key] = event
            self.coalesced += 1
        elif len(self._pending) >= self.capacity:
            self._pending.clear()
            self._pending[("", RESYNC, "", "")] = {
                "type": RESYNC,
                "clusterId": event.get("clusterId"),
                "kind": event.get("kind"),
            }
            self.resyncs += 1
        else:
            self._pending[key] = event
        self._ready.set()

    async def get(self) -> dict[str, Any]:
        while not self._pending:
            self._ready.clear()
            await self._ready.wait()
        _, event = self._pending.popitem(last=False)
        return event

    async def next(self) -> dict[str, Any] | None:
        """The next event, or None when `wake()` interrupted the wait with nothing pending."""
        if not self._pending:
            self._ready.clear()
            await self._ready.wait()
            if not self._pending:
                return None
        _, event = self._pending.popitem(last=False)
        return event

    def wake(self) -> None:
        """Make a reader waiting in `next()` return (a timer's way to get its attention)."""
        self._ready.set()

    def __len__(self) -> int:
        return len(self._pending)
