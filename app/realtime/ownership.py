"""Who watches what across replicas: each cluster's watches run in one replica at a time.

The owner of a cluster is the replica holding its PostgreSQL advisory lock (a session lock
on a connection kept open for the purpose, so it is released the moment that replica dies).
Replicas that hold subscribers announce what they need on the bus ("want" messages, repeated
every interval); every replica hears them and tries to take the locks of wanted clusters it
does not own. The owner runs one watch per wanted (cluster, kind) and publishes its changes;
after a takeover (or when it starts watching a kind) it publishes RESYNC, so subscribers
elsewhere re-list and learn of anything, deletes included, that changed while nobody watched.

Read caches follow the same way (``app/k8s/feed.py``): in a replica that does not own the
cluster, a cache subscribes to its kind's changes, wants the kind for as long as it lives, and
opens no watch; when this replica takes the cluster over, its following caches are told to
re-list and watch themselves, the publisher listening to them from then on.

The lock connection names itself ``OWNERSHIP_APPLICATION`` (PostgreSQL's ``application_name``):
``pg_stat_activity`` and ``pg_locks`` then show which replica holds a cluster's lock, and when the
others last asked for it.

With SQLite or the in-memory bus there is one process: every want is served locally.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

from app.k8s.gateway import Gateway
from app.k8s.resources import ResourceKind
from app.realtime.bus import RealtimeBus, resource_channel
from app.realtime.mailbox import RESYNC, Mailbox
from app.realtime.publisher import WatchPublisher

log = logging.getLogger("fleetgraph.realtime")
WANT_CHANNEL = "k8s.want"
FOLLOW_QUEUE = 10_000  # objects a following cache may lag behind by before it re-lists
OWNERSHIP_APPLICATION = "fleetgraph watch ownership"


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
        self._local: dict[tuple[str, str], ResourceKind] = {}  # subscribers' wants, kept for good
        self._followers: dict[Mailbox, tuple[str, ResourceKind]] = {}  # caches following here
        self._owned: set[str] = set()
        self._conn: Any = None
        self._tasks: list[asyncio.Task[None]] = []
        self._resyncs: set[asyncio.Task[None]] = set()

    def owned(self) -> list[str]:
        return sorted(self._owned)

    def remote(self, cluster_id: str) -> bool:
        return cluster_id not in self._owned

    @contextlib.asynccontextmanager
    async def follow(self, cluster_id: str, kind: ResourceKind) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        """The kind's published changes from entry on, wanted (announced every interval) while inside."""
        mailbox = Mailbox(FOLLOW_QUEUE)
        async with self.bus.listen(resource_channel(cluster_id, kind.kind), mailbox.put):
            self._followers[mailbox] = (cluster_id, kind)
            try:
                await self._announce(cluster_id, kind)
                yield _messages(mailbox)
            finally:
                del self._followers[mailbox]

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

        self._conn = await asyncpg.connect(self.dsn, server_settings={"application_name": OWNERSHIP_APPLICATION})
        self._tasks = [
            asyncio.create_task(self._listen(), name="watch-wants"),
            asyncio.create_task(self._loop(), name="watch-ownership"),
        ]

    async def stop(self) -> None:
        for task in [*self._tasks, *self._resyncs]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._resyncs, return_exceptions=True)
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()

    async def _listen(self) -> None:
        async with self.bus.subscribe(WANT_CHANNEL) as messages:
            async for m in messages:
                kind = ResourceKind(m["kind"], m["group"], m["version"], m["plural"], bool(m["namespaced"]))
                self._demand[(m["clusterId"], kind.kind)] = (kind, time.monotonic())
                if m["clusterId"] in self._owned and self.publisher.ensure(m["clusterId"], kind):
                    self._spawn(self._resync(m["clusterId"], kind))  # readers listed before this watch

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._resyncs.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._resyncs.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("re-list request failed: %s", task.exception())

    async def _loop(self) -> None:
        while True:
            try:
                for cluster_id, kind in self._wanted_here():
                    await self._announce(cluster_id, kind)
                await self._claim()
            except Exception:  # ownership must outlive one failed round
                log.exception("watch ownership round failed")
            await asyncio.sleep(self.interval)

    def _wanted_here(self) -> list[tuple[str, ResourceKind]]:
        wanted = {(cid, kind.kind): (cid, kind) for (cid, _), kind in self._local.items()}
        wanted.update({(cid, kind.kind): (cid, kind) for cid, kind in self._followers.values()})
        return list(wanted.values())

    async def _claim(self) -> None:
        wanted = {cluster_id for cluster_id, _ in self._demand}
        for cluster_id in sorted(wanted - self._owned):
            if not await self._conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", f"watch:{cluster_id}"):
                continue
            log.info("this replica now watches cluster %s", cluster_id)
            await self._take_over(cluster_id)

    async def _take_over(self, cluster_id: str) -> None:
        """Publish from this replica's caches, turn them from following to watching, then tell
        every reader to re-list: a cache's first list as a watcher is published as a difference,
        so nothing that changed while nobody watched is lost."""
        await self.register(cluster_id)
        self._owned.add(cluster_id)
        kinds = [kind for (cid, _), (kind, _) in list(self._demand.items()) if cid == cluster_id]
        for kind in kinds:
            self.publisher.ensure(cluster_id, kind)
        for mailbox, (cid, kind) in list(self._followers.items()):
            if cid == cluster_id:
                mailbox.put({"type": RESYNC, "clusterId": cid, "kind": kind.kind})
        for kind in kinds:
            await self._resync(cluster_id, kind)

    async def _resync(self, cluster_id: str, kind: ResourceKind) -> None:
        """Once this replica's cache of the kind is current, tell its readers everywhere to re-list."""
        await self.gateway.cache(cluster_id, kind).items()
        await self.bus.publish(
            resource_channel(cluster_id, kind.kind),
            {"type": "RESYNC", "reason": "takeover", "clusterId": cluster_id, "kind": kind.kind},
        )


async def _messages(mailbox: Mailbox) -> AsyncIterator[dict[str, Any]]:
    while True:
        yield await mailbox.get()
