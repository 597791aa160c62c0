"""Topology: what is connected to what, what depends on an object, exports, diffs and snapshots."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum
from typing import Annotated, Any, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from app.db import models
from resolvers import topology as resolve
from resolvers import topology_live
from schema.common import Done
from schema.kube import ClusterFailure, unreadable_failure
from schema.permissions import SignedIn, requires, requires_on_cluster, snapshot_cluster
from schema.scalars import parse_datetime

HIDDEN = "A Secret whose values your role on the cluster may not read: shown by name, never opened"
EDGE_TYPES = "owner, selects, routes, mounts, env, binds, schedules, scales, runs-as, grants, endpoints, tls or pulls"


@strawberry.type
class TopologyNode:
    id: str
    kind: str
    name: str
    namespace: str | None
    labels: JSON
    status: str = strawberry.field(description="healthy, degraded, failed or unknown (rolled up from what it owns)")
    missing: bool = strawberry.field(description="Referenced by another object but not found in the cluster")
    hidden: bool = strawberry.field(description=HIDDEN)
    x: float
    y: float

    @classmethod
    def of(cls, n: dict[str, Any]) -> TopologyNode:
        return cls(
            id=n["id"],
            kind=n["kind"],
            name=n["name"],
            namespace=n.get("namespace"),
            labels=cast(JSON, n.get("labels") or {}),
            status=n["status"],
            missing=bool(n.get("missing")),
            hidden=bool(n.get("hidden")),
            x=float(n["x"]),
            y=float(n["y"]),
        )


@strawberry.type
class TopologyEdge:
    id: str
    source: str
    target: str
    type: str = strawberry.field(description=EDGE_TYPES)
    label: str
    implicit: bool

    @classmethod
    def of(cls, e: dict[str, Any]) -> TopologyEdge:
        return cls(
            id=e["id"], source=e["source"], target=e["target"], type=e["type"], label=e["label"],
            implicit=bool(e.get("implicit")),
        )  # fmt: skip


@strawberry.type
class TopologyMeta:
    node_count: int
    edge_count: int
    generated_at: datetime | None
    layout_seed: int


@strawberry.type
class Topology:
    nodes: list[TopologyNode]
    edges: list[TopologyEdge]
    meta: TopologyMeta
    errors: list[ClusterFailure] = strawberry.field(
        default_factory=list,
        description="Fields of the objects shown that could not be read (their status shows as unknown)",
    )

    @classmethod
    def of(cls, data: dict[str, Any]) -> Topology:
        meta = data["meta"]
        return cls(
            nodes=[TopologyNode.of(n) for n in data["nodes"]],
            edges=[TopologyEdge.of(e) for e in data["edges"]],
            meta=TopologyMeta(
                node_count=meta["nodeCount"],
                edge_count=meta["edgeCount"],
                generated_at=parse_datetime(meta.get("generatedAt")),
                layout_seed=int(meta.get("layoutSeed", 0)),
            ),
            errors=[unreadable_failure(e) for e in data.get("errors") or ()],
        )


@strawberry.enum
class TopologyDirection(Enum):
    IN = "in"
    OUT = "out"
    BOTH = "both"


@strawberry.enum
class TopologyFormat(Enum):
    JSON = "JSON"
    SVG = "SVG"
    PNG = "PNG"
    DRAWIO = "DRAWIO"
    GRAPHML = "GRAPHML"


@strawberry.type
class TopologyExport:
    format: TopologyFormat
    content_type: str
    filename: str
    content: str = strawberry.field(description="The file: text, or base64 for PNG")
    errors: list[ClusterFailure] = strawberry.field(
        default_factory=list, description="Fields of the objects exported that could not be read"
    )


@strawberry.input
class ObjectRefInput:
    kind: str
    name: str
    namespace: str | None = None


@strawberry.input
class ClusterNamespaceInput:
    cluster_id: strawberry.ID
    namespace: str


@strawberry.input(description="A side of a comparison: a live cluster (and namespace), or a saved snapshot.")
class TopologySideInput:
    cluster_id: strawberry.ID | None = None
    namespace: str | None = None
    snapshot_id: strawberry.ID | None = None


@strawberry.type
class TopologyDiff:
    nodes_added: JSON
    nodes_removed: JSON
    nodes_changed: JSON
    edges_added: JSON
    edges_removed: JSON


@strawberry.type
class TopologySnapshot:
    id: strawberry.ID
    cluster_id: strawberry.ID
    namespace: str | None
    name: str
    node_count: int
    edge_count: int
    created_at: datetime

    @classmethod
    def from_model(cls, m: models.TopologySnapshot) -> TopologySnapshot:
        meta = (m.graph or {}).get("meta") or {}
        return cls(
            id=strawberry.ID(m.id), cluster_id=strawberry.ID(m.cluster_id), namespace=m.namespace, name=m.name,
            node_count=int(meta.get("nodeCount", 0)), edge_count=int(meta.get("edgeCount", 0)),
            created_at=m.created_at,
        )  # fmt: skip


def _ref(ref: ObjectRefInput) -> tuple[str, str | None, str]:
    return ref.kind, ref.namespace, ref.name


WORKLOADS = requires("workloads:read")
READ = [WORKLOADS, requires_on_cluster("workloads:read")]
SIDES = ("left.cluster_id", "right.cluster_id")
SNAPSHOTS = ("left.snapshot_id", "right.snapshot_id")


@strawberry.type
class TopologyQuery:
    @strawberry.field(permission_classes=READ, description="The graph of one cluster.")
    async def topology(
        self,
        info: Info,
        cluster_id: strawberry.ID,
        namespace: str | None = None,
        kinds: list[str] | None = None,
        depth: int | None = None,
        layout_seed: int = 0,
    ) -> Topology | None:
        cid = str(cluster_id)
        rendered = await resolve.cluster_topology(info.context, cid, namespace, kinds, depth, layout_seed)
        return Topology.of(rendered.data)

    @strawberry.field(permission_classes=READ, description="The graph around one object.")
    async def resource_topology(
        self,
        info: Info,
        cluster_id: strawberry.ID,
        object: ObjectRefInput,
        depth: int = 2,
        direction: TopologyDirection = TopologyDirection.BOTH,
    ) -> Topology | None:
        cid = str(cluster_id)
        rendered = await resolve.resource_topology(info.context, cid, _ref(object), depth, direction.value)
        return Topology.of(rendered.data)

    @strawberry.field(
        permission_classes=READ, description="The object and everything that depends on it."
    )
    async def blast_radius(self, info: Info, cluster_id: strawberry.ID, object: ObjectRefInput) -> Topology | None:
        cid = str(cluster_id)
        return Topology.of((await resolve.blast_radius(info.context, cid, _ref(object))).data)

    @strawberry.field(
        permission_classes=READ,
        description="The shortest chain of relations between two objects; no nodes when they are not connected.",
    )
    async def dependency_path(
        self,
        info: Info,
        cluster_id: strawberry.ID,
        from_: Annotated[ObjectRefInput, strawberry.argument(name="from")],
        to: ObjectRefInput,
    ) -> Topology | None:
        cid = str(cluster_id)
        found = await resolve.path_between(info.context, cid, _ref(from_), _ref(to))
        return Topology.of(found.data)

    @strawberry.field(
        permission_classes=READ,
        description="ConfigMaps, Secrets and claims nothing uses, and Services that select no pod.",
    )
    async def topology_orphans(
        self, info: Info, cluster_id: strawberry.ID, namespace: str | None = None
    ) -> list[TopologyNode] | None:
        cid = str(cluster_id)
        return [TopologyNode.of(n) for n in (await resolve.unused(info.context, cid, namespace)).data["nodes"]]

    @strawberry.field(permission_classes=[requires("clusters:read")], description="Clusters and their namespaces.")
    async def fleet_topology(self, info: Info, tenant_id: strawberry.ID) -> Topology | None:
        return Topology.of((await resolve.fleet(info.context, str(tenant_id))).data)

    @strawberry.field(
        permission_classes=[WORKLOADS, requires_on_cluster("workloads:read", "namespaces.cluster_id")],
        description="A project's namespaces across clusters: clusters, then namespaces, then what runs in them.",
    )
    async def project_topology(
        self, info: Info, tenant_id: strawberry.ID, namespaces: list[ClusterNamespaceInput]
    ) -> Topology | None:
        pairs = [(str(n.cluster_id), n.namespace) for n in namespaces]
        return Topology.of((await resolve.project(info.context, str(tenant_id), pairs)).data)

    @strawberry.field(permission_classes=READ)
    async def topology_export(
        self, info: Info, cluster_id: strawberry.ID, format: TopologyFormat, namespace: str | None = None
    ) -> TopologyExport | None:
        cid = str(cluster_id)
        rendered = await resolve.cluster_topology(info.context, cid, namespace, None, None, 0)
        content_type, extension, content = resolve.export(rendered, format.value)
        filename = f"topology-{cid}{'-' + namespace if namespace else ''}.{extension}"
        errors = [unreadable_failure(e) for e in rendered.data["errors"]]
        return TopologyExport(format=format, content_type=content_type, filename=filename, content=content,
                              errors=errors)  # fmt: skip

    @strawberry.field(
        permission_classes=[
            WORKLOADS,
            requires_on_cluster("workloads:read", SIDES),
            requires_on_cluster("workloads:read", SNAPSHOTS, via=snapshot_cluster),
        ],
        description="What differs between two namespaces, two clusters, or now and a saved snapshot.",
    )
    async def topology_diff(self, info: Info, left: TopologySideInput, right: TopologySideInput) -> TopologyDiff | None:
        found = await resolve.compare(info.context, vars(left), vars(right))
        return TopologyDiff(
            nodes_added=cast(JSON, found["nodes_added"]),
            nodes_removed=cast(JSON, found["nodes_removed"]),
            nodes_changed=cast(JSON, found["nodes_changed"]),
            edges_added=cast(JSON, found["edges_added"]),
            edges_removed=cast(JSON, found["edges_removed"]),
        )

    @strawberry.field(permission_classes=READ)
    async def topology_snapshots(self, info: Info, cluster_id: strawberry.ID) -> list[TopologySnapshot] | None:
        cid = str(cluster_id)
        return [TopologySnapshot.from_model(s) for s in await resolve.snapshots(info.context, cid)]


@strawberry.type
class TopologyMutation:
    @strawberry.mutation(
        permission_classes=[SignedIn, requires_on_cluster("workloads:write")],
        description="Keeps today's graph to compare (each tenant and user keeps a bounded number).",
    )
    async def save_topology_snapshot(
        self, info: Info, cluster_id: strawberry.ID, name: str, namespace: str | None = None
    ) -> TopologySnapshot:
        cid = str(cluster_id)
        return TopologySnapshot.from_model(await resolve.save_snapshot(info.context, cid, namespace, name))

    @strawberry.mutation(
        permission_classes=[SignedIn, requires_on_cluster("workloads:write", "id", via=snapshot_cluster)],
        description="Forgets a saved snapshot, making room for another.",
    )
    async def delete_topology_snapshot(self, info: Info, id: strawberry.ID) -> Done:
        await resolve.delete_snapshot(info.context, str(id))
        return Done(id=id)


@strawberry.type(description="An object as a live graph reports it (layout positions come with `topology`).")
class TopologyNodeState:
    id: str
    kind: str
    name: str
    namespace: str | None
    labels: JSON
    status: str
    missing: bool
    hidden: bool = strawberry.field(description=HIDDEN)


@strawberry.type
class TopologyEvent:
    type: str = strawberry.field(description="NODE_ADDED, NODE_CHANGED, NODE_REMOVED, EDGE_ADDED or EDGE_REMOVED")
    cluster_id: strawberry.ID
    id: str = strawberry.field(description="The node's or the edge's id")
    node: TopologyNodeState | None
    edge: TopologyEdge | None

    @classmethod
    def of(cls, e: dict[str, Any]) -> TopologyEvent:
        node = e.get("node")
        return cls(
            type=e["type"],
            cluster_id=strawberry.ID(e["clusterId"]),
            id=e["id"],
            node=TopologyNodeState(
                id=node["id"], kind=node["kind"], name=node["name"], namespace=node.get("namespace"),
                labels=cast(JSON, dict(node.get("labels") or {})), status=node["status"],
                missing=bool(node.get("missing")), hidden=bool(node.get("hidden")),
            ) if node else None,
            edge=TopologyEdge.of(e["edge"]) if e.get("edge") else None,
        )  # fmt: skip


@strawberry.type
class TopologySubscription:
    @strawberry.subscription(
        permission_classes=READ,
        description="Node and edge changes of one cluster's graph (of one namespace's), computed per watch event.",
    )
    async def topology_events(
        self, info: Info, cluster_id: strawberry.ID, namespace: str | None = None, include_initial: bool = False
    ) -> AsyncGenerator[TopologyEvent, None]:
        async for event in topology_live.topology_events(info.context, str(cluster_id), namespace, include_initial):
            yield TopologyEvent.of(event)
