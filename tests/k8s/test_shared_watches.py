"""Two replicas in one process on PostgreSQL advisory locks and one bus: their read caches share
the single watch of the replica owning the cluster, and follow the takeover when it goes away."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from app.k8s.cache import CacheOptions, ResourceCache
from app.k8s.gateway import Gateway
from app.k8s.transport import ClientOptions
from app.realtime.bus import RealtimeBus
from app.realtime.ownership import WANT_CHANNEL, SharedWatches
from app.realtime.publisher import WatchPublisher
from kubesim.fleet import Fleet
from tests.conftest import require_postgres
from tests.support.databases import scratch_postgres
from tests.support.waiting import eventually

from .conftest import FAST, Control, connection

INTERVAL = 0.2
CACHE = CacheOptions(idle_seconds=0.3, sync_timeout=5, stale_wait=0.3, backoff_initial=0.05, backoff_max=0.2)


@dataclass
class Replica:
    gateway: Gateway
    publisher: WatchPublisher
    watches: SharedWatches

    def configmaps(self) -> ResourceCache:
        return self.gateway.cache("cluster-0", "ConfigMap")

    async def close(self) -> None:
        await self.watches.stop()  # its lock goes with its connection
        await self.publisher.stop()
        await self.gateway.close()


async def _registered(cluster_id: str) -> None:
    return None  # both replicas registered the cluster up front


@contextlib.asynccontextmanager
async def replica(dsn: str, bus: RealtimeBus, fleet: Fleet) -> AsyncIterator[Replica]:
    gateway = Gateway(ClientOptions(**FAST), CACHE)
    gateway.register("cluster-0", connection(fleet))
    publisher = WatchPublisher(gateway, bus)
    watches = SharedWatches(dsn, bus, publisher, gateway, _registered, interval=INTERVAL)
    gateway.feeds = watches
    await watches.start()
    running = Replica(gateway, publisher, watches)
    try:
        yield running
    finally:
        await running.close()


async def names(cache: ResourceCache) -> set[str]:
    return {o["metadata"]["name"] for o in await cache.items("default")}


async def until(replica: Replica, present: set[str], absent: tuple[str, ...] = ()) -> None:
    for _ in range(300):
        seen = await names(replica.configmaps())
        if present <= seen and not seen.intersection(absent):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{sorted(seen)}: wanted {sorted(present)} without {sorted(absent)}")


async def owner_of(*replicas: Replica) -> Replica:
    for _ in range(300):
        owners = [r for r in replicas if r.watches.owned() == ["cluster-0"]]
        if owners:
            assert len(owners) == 1
            return owners[0]
        await asyncio.sleep(0.02)
    raise AssertionError("no replica took the cluster's lock")


async def configmap_wants(bus: RealtimeBus, seconds: float) -> int:
    """How many wants of cluster-0's ConfigMaps went round within ``seconds``."""
    count = 0
    async with bus.subscribe(WANT_CHANNEL) as messages:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                async for message in messages:
                    count += message["clusterId"] == "cluster-0" and message["kind"] == "ConfigMap"
    return count


async def _idle(cache: ResourceCache) -> bool:
    return cache.idle_for() > CACHE.idle_seconds


async def make_configmap(kube: httpx.AsyncClient, name: str) -> None:
    (await kube.post("/api/v1/namespaces/default/configmaps", json={"metadata": {"name": name}})).raise_for_status()


@pytest.mark.postgres
async def test_reads_on_two_replicas_share_one_watch_and_survive_the_owner(
        fleet: Fleet, control: Control, kube: httpx.AsyncClient) -> None:
    async with scratch_postgres(require_postgres()) as url:
        dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        bus = RealtimeBus("memory://")
        await bus.connect()
        try:
            async with replica(dsn, bus, fleet) as a, replica(dsn, bus, fleet) as b:
                await a.configmaps().items()
                first = await owner_of(a, b)
                other = b if first is a else a
                await control.wait_calls("watch", "configmaps")
                await other.configmaps().items()
                await make_configmap(kube, "shared")
                await until(other, {"shared"})
                assert await configmap_wants(bus, 5 * INTERVAL) >= 1, "the follower wants the kind"
                assert await control.calls("watch", "configmaps") == 1
                assert other.watches.owned() == []

                await eventually(lambda: _idle(other.configmaps()), what="the follower's cache idle")
                assert await other.gateway.sweep() == 1  # idle: dropped, and its want with it
                assert await configmap_wants(bus, 5 * INTERVAL) == 0

                await first.close()
                (await kube.delete("/api/v1/namespaces/default/configmaps/shared")).raise_for_status()
                assert await owner_of(other) is other
                await until(other, set(), ("shared",))
                await make_configmap(kube, "after-takeover")
                await until(other, {"after-takeover"})
                assert await control.calls("watch", "configmaps") == 2, "the new owner's watch"
        finally:
            await bus.disconnect()
