"""Watch events onto the bus: one listener per (cluster, kind) on the gateway's shared cache.

However many subscribers a (cluster, kind) has, this process holds one watch for it (the
cache's) and publishes each change once. Events are published in order by one task.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from app.k8s.gateway import Gateway
from app.k8s.resources import ResourceKind
from app.realtime.bus import RealtimeBus, resource_channel

log = logging.getLogger("fleetgraph.realtime")


def event_payload(cluster_id: str, kind: str, event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    return {
        "type": event_type,
        "clusterId": cluster_id,
        "kind": kind,
        "namespace": meta.get("namespace"),
        "name": meta.get("name"),
        "resourceVersion": meta.get("resourceVersion"),
        "object": obj,
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }


class WatchPublisher:
    def __init__(self, gateway: Gateway, bus: RealtimeBus) -> None:
        self.gateway = gateway
        self.bus = bus
        self._attached: set[tuple[str, str]] = set()
        self._queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def ensure(self, cluster_id: str, kind: ResourceKind) -> bool:
        """Publish this (cluster, kind)'s changes from now on (idempotent); whether it is new."""
        key = (cluster_id, kind.kind)
        if key in self._attached:
            return False
        channel = resource_channel(cluster_id, kind.kind)

        def on_change(event_type: str, obj: dict[str, Any]) -> None:
            self._queue.put_nowait((channel, event_payload(cluster_id, kind.kind, event_type, obj)))

        self.gateway.cache(cluster_id, kind).add_listener(on_change)
        self._attached.add(key)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._drain(), name="realtime-publisher")
        return True

    def forget(self, cluster_id: str) -> None:
        self._attached = {k for k in self._attached if k[0] != cluster_id}

    async def _drain(self) -> None:
        while True:
            channel, payload = await self._queue.get()
            try:
                await self.bus.publish(channel, payload)
            except Exception:  # a bus hiccup must not stop later events
                log.exception("publishing to %s failed", channel)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
