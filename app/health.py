"""Keeps each cluster's status current: connected, degraded (slow or flapping), disconnected."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import select

from app.crypto import Sealer
from app.db.models import Cluster
from app.db.session import Database
from app.db.types import utcnow
from app.errors import AppError
from app.k8s.gateway import Gateway
from loaders.clusters import ensure_registered

log = logging.getLogger("fleetgraph.health")


@dataclass(frozen=True)
class StatusChange:
    cluster_id: str
    tenant_id: str | None
    old: str
    new: str
    error: str | None


Listener = Callable[[StatusChange], Awaitable[None]]


class ClusterHealth:
    def __init__(
        self, db: Database, gateway: Gateway, sealer: Sealer, *, interval: float, degraded_after: float = 2.0
    ) -> None:
        self.db, self.gateway, self.sealer = db, gateway, sealer
        self.interval = interval
        self.degraded_after = degraded_after
        self.listeners: list[Listener] = []
        self._task: asyncio.Task[None] | None = None

    async def probe(self, cluster: Cluster) -> tuple[str, str | None, str | None]:
        """(status, server version, error) of one cluster, through its shared client."""
        started = time.monotonic()
        try:
            ensure_registered(self.gateway, self.sealer, cluster)
            version = await self.gateway.client(cluster.id).version()
        except AppError as exc:
            return "disconnected", None, exc.message
        slow = time.monotonic() - started > self.degraded_after
        return ("degraded" if slow else "connected"), str(version.get("gitVersion") or ""), None

    async def check_all(self) -> list[StatusChange]:
        async with self.db.session() as session:
            connected = select(Cluster).where(Cluster.deleted_at.is_(None), Cluster.connection_sealed != "")
            clusters = list((await session.execute(connected)).scalars())
        results = await asyncio.gather(*(self.probe(c) for c in clusters))
        changes = []
        async with self.db.transaction() as session:
            for cluster, (status, version, error) in zip(clusters, results, strict=True):
                row = await session.get(Cluster, cluster.id)
                if row is None:
                    continue
                row.last_checked_at = utcnow()
                if status != "disconnected":
                    row.last_connected_at, row.version = utcnow(), version or row.version
                if row.status != status:
                    changes.append(StatusChange(row.id, row.tenant_id, row.status, status, error))
                    row.status = status
                row.last_error = error
        for change in changes:
            log.info("cluster %s is %s (was %s)", change.cluster_id, change.new, change.old)
            for listener in self.listeners:
                await listener(change)
        return changes

    def start(self) -> None:
        if self.interval > 0 and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="cluster-health")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check_all()
            except Exception:  # the loop must outlive one failed round
                log.exception("cluster health check failed")
