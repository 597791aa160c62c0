"""Who watches what across replicas: each cluster's watches run in one replica at a time.

The owner of a cluster is the replica holding its PostgreSQL advisory lock (a session lock
on a connection kept open for the purpose, so it is released the moment that replica dies).
Replicas that hold subscribers announce what they need on the bus ("want" messages, repeated
every interval); every replica hears them and tries to take the locks of wanted clusters it
does not own. The owner runs one watch per wanted (cluster, kind) and publishes its changes;
after a takeover it first publishes RESYNC, so subscribers elsewhere re-list and learn of
anything, deletes included, that changed while nobody watched.

With SQLite or the in-memory bus there is one process: every want is served locally.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from app.k8s.cache import Gateway
from app.k8s.resources import ResourceKind
from app.realtime.bus import RealtimeBus, resource_channel
from app.realtime.publisher import WatchPublisher

log = logging.getLogger("fleetgraph.realtime")
WANT_CHANNEL = "k8s.want"


class LocalWatches:
    """One process: a want is served at once by this process's publisher."""

    distributed = False

    def __init__(self, publisher: WatchPublisher) -> None:
        self.publisher = publisher

    async def want(self, cluster_id: str, kind: ResourceKind) -> None:
        self.publisher.ensure(cluster_id, kind)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def owned(self) -> list[str]:
        return []


Register = Callable[[str], Awaitable[None]]


class SharedWatches:
    def __init__(
        self,
        dsn: str,
        bus: RealtimeBus,
        publisher: WatchPublisher,
        gateway: Gateway,
        register: Register,
        interval: float = 3.0,
    ) -> None:
        self.dsn, self.bus, self.publisher, self.gateway = dsn, bus, publisher, gateway
        self.register = register
        self.interval = interval
        self.distributed = True
        self._demand: dict[tuple[str, str], tuple[ResourceKind, float]] = {}
        self._local: dict[tuple[str, str], ResourceKind] = {}
        self._owned: set[str] = set()
        self._conn: Any = None
        self._tasks: list[asyncio.Task[None]] = []

    def owned(self) -> list[str]:
        return sorted(self._owned)

    async def want(self, cluster_id: str, kind: ResourceKind) -> None:
        self._local[(cluster_id, kind.kind)] = kind
        await self._announce(cluster_id, kind)

    async def _announce(self, cluster_id: str, kind: ResourceKind) -> None:
        await self.bus.publish(
            WANT_CHANNEL,
            {
                "clusterId": cluster_id,
                "kind": kind.kind,
                "group": kind.group,
                "version": kind.version,
                "plural": kind.plural,
                "namespaced": kind.namespaced,
            },
        )

    async def start(self) -> None:
        import asyncpg

        self._conn = await asyncpg.connect(self.dsn)
        self._tasks = [
            asyncio.create_task(self._listen(), name="watch-wants"),
            asyncio.create_task(self._loop(), name="watch-ownership"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()

    async def _listen(self) -> None:
        async with self.bus.subscribe(WANT_CHANNEL) as messages:
            async for m in messages:
                kind = ResourceKind(m["kind"], m["group"], m["version"], m["plural"], bool(m["namespaced"]))
                self._demand[(m["clusterId"], kind.kind)] = (kind, time.monotonic())
                if m["clusterId"] in self._owned:
                    self.publisher.ensure(m["clusterId"], kind)

    async def _loop(self) -> None:
        while True:
            try:
                for (cluster_id, _), kind in list(self._local.items()):
                    await self._announce(cluster_id, kind)
                await self._claim()
            except Exception:  # ownership must outlive one failed round
                log.exception("watch ownership round failed")
            await asyncio.sleep(self.interval)

    async def _claim(self) -> None:
        wanted = {cluster_id for cluster_id, _ in self._demand}
        for cluster_id in sorted(wanted - self._owned):
            if not await self._conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", f"watch:{cluster_id}"):
                continue
            self._owned.add(cluster_id)
            log.info("this replica now watches cluster %s", cluster_id)
            await self.register(cluster_id)
            for (cid, _), (kind, _) in list(self._demand.items()):
                if cid == cluster_id:
                    await self._take_over(cid, kind)

    async def _take_over(self, cluster_id: str, kind: ResourceKind) -> None:
        """Watch first, then tell subscribers to re-list: nothing between the two is lost."""
        self.publisher.ensure(cluster_id, kind)
        await self.gateway.cache(cluster_id, kind).items()
        await self.bus.publish(
            resource_channel(cluster_id, kind.kind),
            {"type": "RESYNC", "reason": "takeover", "clusterId": cluster_id, "kind": kind.kind},
        )
