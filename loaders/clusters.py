"""Clusters from the database, and Kubernetes objects from the gateway's watch-fed caches.

`kube_items` is keyed by (cluster ID, kind): however many fields of one request ask for the
pods of a cluster, the cache is read once; a cold cache costs one LIST, a warm one nothing.
A cluster that cannot answer yields its error for that key only, so a fleet-wide field can
report it beside the other clusters' data.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from strawberry.dataloader import DataLoader

from app.crypto import Sealer
from app.db.models import Cluster
from app.db.session import Database
from app.errors import AppError, NotFound, UpstreamUnavailable
from app.k8s.gateway import Gateway
from app.k8s.kubeconfig import ClusterConnection
from loaders.batch import by_id

KubeKey = tuple[str, str]


def make_cluster_loader(db: Database, scope: str | None) -> DataLoader[str, Cluster | None]:
    return DataLoader(load_fn=by_id(db, scope, Cluster))


def ensure_registered(gateway: Gateway, sealer: Sealer, cluster: Cluster) -> None:
    """Clients are made on first use from the stored, encrypted connection."""
    if not cluster.connection_sealed or cluster.deleted_at is not None:
        raise UpstreamUnavailable(f"cluster {cluster.name} has no connection (it is {cluster.status})")
    try:
        gateway.client(cluster.id)
    except NotFound:
        gateway.register(cluster.id, ClusterConnection.from_json(sealer.open(cluster.connection_sealed)))


def make_kube_items_loader(
    gateway: Gateway, sealer: Sealer, clusters: DataLoader[str, Cluster | None]
) -> DataLoader[KubeKey, Any]:
    async def load_one(key: KubeKey) -> Any:
        cluster_id, kind = key
        cluster = await clusters.load(cluster_id)
        if cluster is None:
            return LookupError(cluster_id)
        try:
            ensure_registered(gateway, sealer, cluster)
            return await gateway.cache(cluster_id, kind).items()
        except AppError as exc:
            return exc

    async def load(keys: Sequence[KubeKey]) -> list[Any]:
        return list(await asyncio.gather(*(load_one(key) for key in keys)))

    return DataLoader(load_fn=load)
