from __future__ import annotations

from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from app.db import models
from resolvers import clusters as resolve
from resolvers import kube, lifecycle
from resolvers import topology as topology_resolve
from schema.base import Connection, Node, connection, page_from
from schema.cluster_state import ClusterState
from schema.common import Done
from schema.kube import KubeObject
from schema.permissions import READS, SignedIn, requires, requires_on_cluster, requires_on_source_cluster
from schema.topology import Topology


@strawberry.type
class NodePool:
    id: strawberry.ID
    name: str
    node_count: int
    min_count: int | None
    max_count: int | None
    instance_type: str | None
    labels: JSON
    taints: list[str]

    @classmethod
    def from_model(cls, m: models.NodePool) -> NodePool:
        return cls(
            id=strawberry.ID(m.id),
            name=m.name,
            node_count=m.node_count,
            min_count=m.min_count,
            max_count=m.max_count,
            instance_type=m.instance_type,
            labels=cast(JSON, m.labels or {}),
            taints=list(m.taints or []),
        )


@strawberry.type
class Cluster(ClusterState, Node):
    id: strawberry.ID
    tenant_id: strawberry.ID
    name: str
    description: str
    status: str = strawberry.field(
        description="connected, degraded or disconnected; pending, provisioning, failed, deleting or deleted"
    )
    provider: str = strawberry.field(description="eks, gke, aks, kubesim or other")
    region: str | None
    version: str | None
    tags: JSON
    context: str | None
    server_url: str
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    last_connected_at: datetime | None
    origin: str = strawberry.field(description="registered (from a kubeconfig) or provisioned (created here)")
    spec: JSON = strawberry.field(description="What was asked for when it was created here (no secrets)")

    @strawberry.field(
        permission_classes=[requires_on_source_cluster("workloads:read")],
        description="What is connected to what in this cluster (as the root `topology` field).",
    )
    async def topology(
        self,
        info: Info,
        namespace: str | None = None,
        kinds: list[str] | None = None,
        depth: int | None = None,
        layout_seed: int = 0,
    ) -> Topology:
        cid = str(self.id)
        found = await topology_resolve.cluster_topology(info.context, cid, namespace, kinds, depth, layout_seed)
        return Topology.of(found.data)

    @strawberry.field(description="Node pools of a cluster created here.")
    async def node_pools(self, info: Info) -> list[NodePool]:
        return [NodePool.from_model(p) for p in await lifecycle.node_pools(info.context, str(self.id))]

    @classmethod
    def from_model(cls, m: models.Cluster) -> Cluster:
        return cls(
            id=strawberry.ID(m.id),
            tenant_id=strawberry.ID(m.tenant_id or ""),
            name=m.name,
            description=m.description,
            status=m.status,
            provider=m.provider,
            region=m.region,
            version=m.version,
            tags=cast(JSON, m.tags or {}),
            context=m.context,
            server_url=m.server_url,
            last_error=m.last_error,
            created_at=m.created_at,
            updated_at=m.updated_at,
            last_connected_at=m.last_connected_at,
            origin=m.origin,
            spec=cast(JSON, m.spec or {}),
        )


@strawberry.type
class DiscoveredCluster:
    context: str
    server: str
    namespace: str | None
    reachable: bool
    version: str | None
    provider: str | None
    error: str | None


@strawberry.input
class RegisterClusterInput:
    name: str
    kubeconfig: str = strawberry.field(description="YAML text, or base64 of it")
    context: str | None = None
    description: str | None = None
    region: str | None = None
    tags: JSON | None = None


@strawberry.input
class UpdateClusterInput:
    name: str | None = None
    description: str | None = None
    region: str | None = None
    tags: JSON | None = None


@strawberry.type
class ClusterQuery:
    @strawberry.field(permission_classes=[requires("clusters:read")])
    async def clusters(
        self,
        info: Info,
        tenant_id: strawberry.ID,
        first: int | None = None,
        after: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
        search: str | None = None,
        status: str | None = None,
    ) -> Connection[Cluster]:
        paging = page_from(first, after, page, page_size)
        rows, total = await resolve.list_clusters(info.context, str(tenant_id), paging, search, status)
        return connection([Cluster.from_model(r) for r in rows], total, paging)

    @strawberry.field(permission_classes=READS["cluster"])
    async def cluster(self, info: Info, id: strawberry.ID) -> Cluster:
        return Cluster.from_model(await resolve.get_cluster(info.context, str(id)))

    @strawberry.field(
        permission_classes=[SignedIn, requires_on_cluster("clusters:read")],
        description="One object of any kind, with its raw JSON.",
    )
    async def kube_object(
        self, info: Info, cluster_id: strawberry.ID, kind: str, name: str, namespace: str | None = None
    ) -> KubeObject:
        obj = await kube.find(info.context, str(cluster_id), kind, namespace, name)
        return KubeObject.of(obj, str(cluster_id))

    @strawberry.field(
        permission_classes=[SignedIn, requires_on_cluster("clusters:read")],
        description="Objects of any kind (built-in or custom) on one cluster, filtered like kubectl's selectors.",
    )
    async def resources(
        self,
        info: Info,
        cluster_id: strawberry.ID,
        kind: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[KubeObject]:
        found = await kube.objects_of(info.context, str(cluster_id), kind)
        chosen = kube.select(found, namespace, label_selector, field_selector=field_selector)
        return [KubeObject.of(o, str(cluster_id)) for o in chosen]

    @strawberry.field(
        permission_classes=[SignedIn, requires_on_cluster("clusters:admin")],
        description="The cluster's kubeconfig; audited.",
    )
    async def kubeconfig(self, info: Info, cluster_id: strawberry.ID) -> str:
        return await resolve.read_kubeconfig(info.context, str(cluster_id))


@strawberry.type
class ClusterMutation:
    @strawberry.mutation(permission_classes=[requires("clusters:write")])
    async def discover_clusters(self, info: Info, kubeconfig: str) -> list[DiscoveredCluster]:
        found = await resolve.discover_clusters(info.context, kubeconfig)
        return [
            DiscoveredCluster(
                context=d.name,
                server=d.server,
                namespace=d.namespace,
                reachable=d.reachable,
                version=d.version,
                provider=d.provider,
                error=d.error,
            )
            for d in found
        ]

    @strawberry.mutation(permission_classes=[requires("clusters:admin")])
    async def register_cluster(self, info: Info, tenant_id: strawberry.ID, input: RegisterClusterInput) -> Cluster:
        return Cluster.from_model(await resolve.register_cluster(info.context, str(tenant_id), vars(input)))

    @strawberry.mutation(permission_classes=[SignedIn, requires_on_cluster("clusters:admin", "id")])
    async def update_cluster(self, info: Info, id: strawberry.ID, input: UpdateClusterInput) -> Cluster:
        return Cluster.from_model(await resolve.update_cluster(info.context, str(id), vars(input)))

    @strawberry.mutation(permission_classes=[SignedIn, requires_on_cluster("clusters:admin", "id")])
    async def remove_cluster(self, info: Info, id: strawberry.ID) -> Done:
        await resolve.remove_cluster(info.context, str(id))
        return Done(id=id)
