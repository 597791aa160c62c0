"""The clusters this process talks to: their clients, and the watch-fed caches of what they hold."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from app.errors import NotFound

from .cache import CacheOptions, ResourceCache
from .client import ClusterClient
from .feed import Feeds
from .kubeconfig import ClusterConnection
from .resources import ResourceKind, resolve_kind
from .secret_policy import leaving_all
from .transport import ClientOptions

log = logging.getLogger("fleetgraph.k8s")


class Gateway:
    """The clusters this process talks to: one ``ClusterClient`` each, and their caches.

    ``start()`` (inside the running loop) launches the sweep that drops caches idle for longer
    than ``CacheOptions.idle_seconds``; ``close()`` stops it, the caches and the clients.
    Registering an ID again replaces its client; the old one and its caches are closed.
    """

    def __init__(self, client_options: ClientOptions | None = None, cache_options: CacheOptions | None = None, *,
                 sweep_interval: float = 30.0) -> None:
        self.client_options = client_options or ClientOptions()
        self.cache_options = cache_options or CacheOptions()
        self.sweep_interval = sweep_interval
        self.feeds: Feeds | None = None  # set when several replicas share the watches
        self._clients: dict[str, ClusterClient] = {}
        self._caches: dict[tuple[str, str, str], ResourceCache] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._retiring: set[asyncio.Task[None]] = set()

    def register(self, cluster_id: str, connection: ClusterConnection, **settings: Any) -> ClusterClient:
        if cluster_id in self._clients:
            task = asyncio.get_running_loop().create_task(self._shutdown(*self._detach(cluster_id)))
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)
        client = ClusterClient(cluster_id, connection, self.client_options, **settings)
        self._clients[cluster_id] = client
        return client

    async def unregister(self, cluster_id: str) -> None:
        await self._shutdown(*self._detach(cluster_id))

    def clients(self) -> dict[str, ClusterClient]:
        """The clusters registered now, by ID (a copy)."""
        return dict(self._clients)

    def client(self, cluster_id: str) -> ClusterClient:
        try:
            return self._clients[cluster_id]
        except KeyError:
            raise NotFound.of("cluster", cluster_id) from None

    def cache(self, cluster_id: str, kind: str | ResourceKind) -> ResourceCache:
        """The cache of a kind on a cluster; custom kinds come from ``client(...).discover_kind``."""
        client = self.client(cluster_id)
        rk = kind if isinstance(kind, ResourceKind) else resolve_kind(kind)
        key = (cluster_id, rk.api_version, rk.plural)
        cache = self._caches.get(key)
        if cache is None:
            cache = self._caches[key] = ResourceCache(client, rk, self.cache_options, feeds=self.feeds)
        return cache

    async def objects(self, cluster_id: str, kind: str | ResourceKind) -> list[dict[str, Any]]:
        """The cached objects of a kind as they may leave the gateway: Secrets redacted by the Secret
        policy (``secret_policy``). ``cache(...).items()`` hands out what the cluster holds, for
        watching, warming and the request loaders (``resolvers.kube.items`` redacts what they read)."""
        cache = self.cache(cluster_id, kind)
        return leaving_all(cache.kind, await cache.items())

    def caches(self, cluster_id: str | None = None) -> list[ResourceCache]:
        return [c for (cid, _, _), c in self._caches.items() if cluster_id in (None, cid)]

    async def sweep(self) -> int:
        """Stop and forget the caches nobody read or listened to lately; how many were dropped."""
        idle = [key for key, cache in self._caches.items() if cache.idle_for() > self.cache_options.idle_seconds]
        for key in idle:
            await self._caches.pop(key).stop()
        return len(idle)

    def start(self) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever(), name="k8s-cache-sweep")

    async def close(self) -> None:
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None:
            sweeper.cancel()
            await asyncio.gather(sweeper, return_exceptions=True)
        for cluster_id in list(self._clients):
            await self.unregister(cluster_id)
        await asyncio.gather(*self._retiring, return_exceptions=True)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_interval)
            try:
                await self.sweep()
            except Exception:  # the sweep must survive a cache that fails to stop
                log.exception("cache sweep failed")

    def _detach(self, cluster_id: str) -> tuple[ClusterClient | None, list[ResourceCache]]:
        caches = [self._caches.pop(key) for key in list(self._caches) if key[0] == cluster_id]
        return self._clients.pop(cluster_id, None), caches

    @staticmethod
    async def _shutdown(client: ClusterClient | None, caches: list[ResourceCache]) -> None:
        for cache in caches:
            await cache.stop()
        if client is not None:
            await client.close()
