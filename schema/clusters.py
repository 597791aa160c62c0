from __future__ import annotations

from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from app.db import models
from resolvers import clusters as resolve
from resolvers import kube, node_pools
from resolvers import topology as topology_resolve
from schema.base import Connection, Node, connection, page_from
from schema.cluster_state import ClusterState
from schema.common import Done
from schema.kube import KubeObject
from schema.permissions import READS, SignedIn, requires, requires_on_cluster, requires_on_source_cluster
from schema.topology import Topology


@strawberry.type(
    description="A group of like nodes: stored with a cluster created here, or discovered from the pool label "
    "the nodes of a registered cluster carry (GKE, EKS, AKS, Karpenter, ...)"
)
class NodePool:
    id: strawberry.ID = strawberry.field(description="The stored pool's ID; for a discovered one, clusterId/name")
    name: str
    origin: str = strawberry.field(description="provisioned (stored with the cluster) or discovered (from labels)")
    node_count: int = strawberry.field(description="Nodes asked for (provisioned), or found (discovered)")
    current_nodes: int | None = strawberry.field(
        description="Nodes of the pool the cluster shows now; null while it cannot say (being created, unreachable)"
    )
    ready_nodes: int | None = strawberry.field(description="Of those, the Ready ones")
    min_count: int | None
    max_count: int | None
    instance_type: str | None
    labels: JSON = strawberry.field(description="As stored (provisioned), or those every node carries (discovered)")
    taints: list[str] = strawberry.field(
        description="As key=value:Effect; as stored (provisioned), or those every node carries (discovered)"
    )

    @classmethod
    def of(cls, p: node_pools.PoolView) -> NodePool:
        return cls(
            id=strawberry.ID(p.id), name=p.name, origin=p.origin, node_count=p.node_count,
            current_nodes=p.current_nodes, ready_nodes=p.ready_nodes, min_count=p.min_count, max_count=p.max_count,
            instance_type=p.instance_type, labels=cast(JSON, p.labels), taints=p.taints,
        )  # fmt: skip


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

    @strawberry.field(
        permission_classes=[requires_on_source_cluster("clusters:read")],
        description="Node pools: those stored with a cluster created here (with the nodes it shows now), or those "
        "a registered cluster's nodes name in their pool labels.",
    )
    async def node_pools(self, info: Info) -> list[NodePool] | None:
        found = await node_pools.cluster_pools(info.context, str(self.id), self.origin, self.status)
        return [NodePool.of(p) for p in found]

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
    ) -> Connection[Cluster] | None:
        paging = page_from(first, after, page, page_size)
        rows, total = await resolve.list_clusters(info.context, str(tenant_id), paging, search, status)
        return connection([Cluster.from_model(r) for r in rows], total, paging)

    @strawberry.field(permission_classes=READS["cluster"])
    async def cluster(self, info: Info, id: strawberry.ID) -> Cluster | None:
        return Cluster.from_model(await resolve.get_cluster(info.context, str(id)))

    @strawberry.field(
        permission_classes=[SignedIn, requires_on_cluster("clusters:read")],
        description="One object of any kind, with its raw JSON.",
    )
    async def kube_object(
        self, info: Info, cluster_id: strawberry.ID, kind: str, name: str, namespace: str | None = None
    ) -> KubeObject | None:
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
    ) -> list[KubeObject] | None:
        found = await kube.objects_of(info.context, str(cluster_id), kind)
        chosen = kube.select(found, namespace, label_selector, field_selector=field_selector)
        return [KubeObject.of(o, str(cluster_id)) for o in chosen]

    @strawberry.field(
        permission_classes=[SignedIn, requires_on_cluster("clusters:admin")],
        description="The cluster's kubeconfig; audited.",
    )
    async def kubeconfig(self, info: Info, cluster_id: strawberry.ID) -> str | None:
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
