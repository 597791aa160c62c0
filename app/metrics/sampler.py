"""Samples the clusters this replica owns into the embedded store, every sampling interval.

Each round looks up the connected clusters (``clusters`` rows not deleted, with a connection).
A cluster is sampled by the replica that owns its watches: with one process (``LocalWatches``)
that is this one for every cluster; with several (``SharedWatches``) it is the replica holding the
cluster's advisory lock (``watches.owned()``). A replica announces the kinds it reads for every
cluster it does not own (``watches.want``), which is how ownership is taken: every replica hears
the want and tries the lock of wanted clusters it does not own, and the one that gets it watches
the cluster and, from its next round on, samples it. So a cluster nobody watched yet still gets
an owner, and one whose owner died gets another.

Sampling a cluster reads its watch-fed caches of Pods, Deployments, Nodes and ResourceQuotas (no
LIST once they are warm, which sampling every interval keeps them) and makes one metrics.k8s.io
PodMetrics LIST, turns them into a sample (``app.metrics.series``), writes it to the store, runs
the store's roll-up for the cluster at most once per roll-up window, and then calls the
listeners (``on_sample(cluster_id, tenant_id, at)``), which evaluate alert rules on it.

One cluster's failure is logged (its error's message, which names no credential) and the others
are sampled all the same.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from app.crypto import Sealer
from app.db.models import Cluster
from app.db.session import Database
from app.db.types import utcnow
from app.errors import AppError
from app.k8s.gateway import Gateway
from app.k8s.resources import ResourceKind, resolve_kind
from app.metrics.series import KINDS, ContainerRef, CpuCounter, SeriesMemo, sample_cluster
from app.metrics.store import ROLLUP, EmbeddedStore
from app.realtime.ownership import LocalWatches, SharedWatches
from loaders.clusters import ensure_registered

log = logging.getLogger("fleetgraph.metrics")
POD_METRICS = ResourceKind("PodMetrics", "metrics.k8s.io", "v1beta1", "pods", True, "pod", ())
CONCURRENCY = 8  # clusters sampled at once

SampleListener = Callable[[str, str | None, datetime], Awaitable[None]]


@dataclass
class _ClusterState:
    counters: dict[ContainerRef, CpuCounter] = field(default_factory=dict)
    memo: SeriesMemo = field(default_factory=SeriesMemo)
    last_sample: datetime | None = None
    last_rollup: float | None = None  # time.monotonic() of the last roll-up


class Sampler:
    """``start()`` inside the running loop, ``stop()`` at shutdown; ``sample_round()`` is one round."""

    def __init__(self, db: Database, gateway: Gateway, sealer: Sealer, watches: LocalWatches | SharedWatches,
                 store: EmbeddedStore, *, interval: float, rollup_every: float = ROLLUP,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db, self.gateway, self.sealer, self.watches, self.store = db, gateway, sealer, watches, store
        self.interval, self.rollup_every, self.clock = interval, rollup_every, clock
        self.listeners: list[SampleListener] = []
        self.kinds = [resolve_kind(kind) for kind in KINDS]
        self._clusters: dict[str, _ClusterState] = {}
        self._wanted: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    def last_sample(self, cluster_id: str) -> datetime | None:
        """When this replica last sampled the cluster (None: never, or it is not the owner)."""
        state = self._clusters.get(cluster_id)
        return state.last_sample if state is not None else None

    def owns(self, cluster_id: str) -> bool:
        return not self.watches.distributed or cluster_id in self.watches.owned()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="metrics-sampler")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        next_round = time.monotonic()
        while True:
            try:
                await self.sample_round()
            except Exception:  # the loop must outlive one failed round
                log.exception("metrics sampling round failed")
            next_round += self.interval
            now = time.monotonic()
            if next_round < now:  # a round longer than the interval: start again from now, skip the missed
                next_round = now
            await asyncio.sleep(next_round - now)

    async def sample_round(self) -> list[str]:
        """Sample every connected cluster this replica owns; the IDs of those sampled."""
        async with self.db.session() as session:
            connected = select(Cluster).where(Cluster.deleted_at.is_(None), Cluster.connection_sealed != "")
            clusters = list((await session.execute(connected)).scalars())
        current = {c.id for c in clusters}
        for gone in set(self._clusters) - current:
            del self._clusters[gone]
            self.store.forget(gone)
        owned = [c for c in clusters if self.owns(c.id)]
        for cluster in clusters:
            if not self.owns(cluster.id):
                self._clusters.pop(cluster.id, None)  # another replica samples it: its counters are its own
                await self._want(cluster.id)
        slots = asyncio.Semaphore(CONCURRENCY)

        async def one(cluster: Cluster) -> bool:
            async with slots:
                return await self._sample_safely(cluster)

        done = await asyncio.gather(*(one(c) for c in owned))
        return [c.id for c, ok in zip(owned, done, strict=True) if ok]

    async def _want(self, cluster_id: str) -> None:
        """Ask for the cluster's watches, once: SharedWatches keeps announcing a want for good."""
        if cluster_id in self._wanted:
            return
        for kind in self.kinds:
            await self.watches.want(cluster_id, kind)
        self._wanted.add(cluster_id)

    async def _sample_safely(self, cluster: Cluster) -> bool:
        try:
            await self.sample(cluster)
            return True
        except AppError as exc:
            log.warning("metrics sample of cluster %s failed: %s: %s", cluster.id, type(exc).__name__, exc.message)
        except Exception as exc:
            log.error("metrics sample of cluster %s failed: %s", cluster.id, type(exc).__name__, exc_info=exc)
        return False

    async def sample(self, cluster: Cluster) -> datetime:
        """Sample one cluster now, write it, roll up when due, tell the listeners; the sample's time."""
        ensure_registered(self.gateway, self.sealer, cluster)
        state = self._clusters.setdefault(cluster.id, _ClusterState())
        caches = [self.gateway.cache(cluster.id, kind) for kind in self.kinds]
        client = self.gateway.client(cluster.id)
        lists, metrics = await asyncio.gather(asyncio.gather(*(c.items() for c in caches)),
                                              client.list(POD_METRICS, identity=None))
        objects = {kind.kind: items for kind, items in zip(self.kinds, lists, strict=True)}
        at = self.clock()
        # tens of milliseconds of CPU for thousands of pods: in a thread, so the event loop keeps turning
        # (the cached objects are never changed in place, and the memo is this cluster's alone)
        sample = await asyncio.to_thread(sample_cluster, objects, metrics.items, state.counters, at,
                                         cluster_id=cluster.id, memo=state.memo)
        await self.store.write(cluster.tenant_id, cluster.id, at, sample.values)
        state.counters, state.last_sample = sample.counters, at
        if state.last_rollup is None or time.monotonic() - state.last_rollup >= self.rollup_every:
            await self.store.roll_up(cluster.id, at)
            state.last_rollup = time.monotonic()
        for listener in list(self.listeners):
            try:
                await listener(cluster.id, cluster.tenant_id, at)
            except Exception:  # one listener must not keep the others from the sample
                log.exception("sample listener failed for cluster %s", cluster.id)
        return at
