"""The realtime bus: `broadcaster` channels between the process that watches a cluster and the
processes that hold its subscribers (`memory://` embedded, `redis://` or `postgres://` for replicas)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from broadcaster import Broadcast

from app.realtime.backends import backend_for


def resource_channel(cluster_id: str, kind: str) -> str:
    return f"k8s.{cluster_id}.{kind.lower()}"


def status_channel(tenant_id: str | None) -> str:
    return f"cluster-status.{tenant_id or 'provider'}"


class RealtimeBus:
    def __init__(self, url: str) -> None:
        self.url = url
        backend = backend_for(url)
        self._broadcast = Broadcast(backend=backend) if backend is not None else Broadcast(url)
        self._connected = False

    async def connect(self) -> None:
        if not self._connected:
            await self._broadcast.connect()
            self._connected = True

    async def disconnect(self) -> None:
        if self._connected:
            await self._broadcast.disconnect()
            self._connected = False

    async def publish(self, channel: str, payload: dict[str, Any]) -> None:
        await self._broadcast.publish(channel=channel, message=json.dumps(payload, separators=(",", ":")))

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        """Subscribed on entry (nothing published after entry is missed); iterate for the messages."""
        async with self._broadcast.subscribe(channel) as subscriber:

            async def messages() -> AsyncIterator[dict[str, Any]]:
                async for event in subscriber:  # type: ignore[union-attr]
                    if event is None:
                        return
                    yield json.loads(event.message)

            yield messages()
