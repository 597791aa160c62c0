"""The realtime bus: `broadcaster` channels between the process that watches a cluster and the
processes that hold its subscribers (`memory://` embedded, `redis://` or `postgres://` for replicas)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from broadcaster import Broadcast

from app.realtime.backends import backend_for

log = logging.getLogger("fleetgraph.realtime")


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
        self._local: dict[str, _Fanout] = {}

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

    @asynccontextmanager
    async def listen(self, channel: str, deliver: Deliver) -> AsyncIterator[None]:
        """Call `deliver(message)` for each message on `channel` while inside (subscribed on entry).

        However many local listeners a channel has, this process holds one bus subscription for
        it and decodes each message once; `deliver` must be quick and must not block (a bounded
        mailbox's put), so the bus's own queue never backs up behind a slow reader.
        """
        fanout = self._local.get(channel)
        if fanout is None:
            fanout = self._local[channel] = _Fanout(channel)
            fanout.task = asyncio.create_task(self._read(fanout), name=f"bus:{channel}")
        fanout.listeners.add(deliver)
        try:
            await fanout.ready.wait()
            yield
        finally:
            fanout.listeners.discard(deliver)
            if not fanout.listeners and self._local.get(channel) is fanout:
                del self._local[channel]
                fanout.task.cancel()
                await asyncio.gather(fanout.task, return_exceptions=True)

    def listening(self, channel: str) -> int:
        """How many of this process's listeners receive whatever is published on ``channel`` from now on."""
        fanout = self._local.get(channel)
        return len(fanout.listeners) if fanout is not None and fanout.ready.is_set() else 0

    async def _read(self, fanout: _Fanout) -> None:
        async with self.subscribe(fanout.channel) as messages:
            fanout.ready.set()
            async for message in messages:
                for deliver in list(fanout.listeners):
                    try:
                        deliver(message)
                    except Exception:  # one listener's failure must not starve the others
                        log.exception("a listener of %s failed", fanout.channel)


Deliver = Callable[[dict[str, Any]], None]


class _Fanout:
    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.listeners: set[Deliver] = set()
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] = None  # type: ignore[assignment]
