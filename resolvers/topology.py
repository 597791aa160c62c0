"""Topology reads: the cluster's objects from the watch-fed cache, turned into graphs by app/topology.

One read costs at most one LIST per kind the first time (then nothing: the cache is warm), and
the graph is built once per request however many fields ask for it.
"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import asdict, dataclass
from typing import Any

import networkx as nx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.context import RequestContext
from app.db.models import Cluster, TopologySnapshot
from app.errors import BadUserInput, FieldErrors, Forbidden, NotFound
from app.ids import new_id
from app.k8s import secret_policy
from app.k8s.reading import Notes
from app.topology import blast_radius as radius
from app.topology import build, dependency_path, diff, exports, fleet_view, layout, orphans, subgraph, to_json
from app.topology.model import node_id, scope
from app.topology.views import project_view
from resolvers import kube
from resolvers.cluster_access import may_on_cluster
from resolvers.clusters import get_cluster
from resolvers.common import get_or_404
from resolvers.fleet import tenant_clusters

Obj = dict[str, Any]
KINDS = (
    "Namespace", "Node", "Pod", "Service", "Endpoints", "EndpointSlice", "ConfigMap", "Secret", "ServiceAccount",
    "PersistentVolumeClaim", "PersistentVolume", "StorageClass", "Deployment", "ReplicaSet", "StatefulSet",
    "DaemonSet", "Job", "CronJob", "Ingress", "NetworkPolicy", "HorizontalPodAutoscaler", "PodDisruptionBudget",
    "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding",
)  # fmt: skip
FORMATS = {
    "JSON": ("application/json", "json"),
    "SVG": ("image/svg+xml", "svg"),
    "PNG": ("image/png", "png"),
    "DRAWIO": ("application/vnd.jgraph.mxfile", "drawio"),
    "GRAPHML": ("application/graphml+xml", "graphml"),
}
MAX_DEPTH = 10
UNREADABLE = "unreadable"  # the graph attribute listing the fields of its objects that could not be read


@dataclass
class Rendered:
    graph: nx.MultiDiGraph
    data: dict[str, Any]  # to_json's {nodes, edges, meta}, and the `errors` of the objects read


def _kinds(kinds: list[str] | None) -> tuple[str, ...]:
    if kinds is None:
        return KINDS
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise BadUserInput.field("kinds", f"unknown kinds {', '.join(unknown)}; known: {', '.join(KINDS)}")
    return tuple(kinds)


async def objects(ctx: RequestContext, cluster_id: str, kinds: tuple[str, ...] = KINDS) -> dict[str, list[Obj]]:
    """The cluster's objects by kind, Secrets redacted by the Secret policy (names, never values).
    Reading the cluster's workloads is what the fields that call this declare."""
    found = await asyncio.gather(*(kube.items(ctx, cluster_id, kind) for kind in kinds))
    return dict(zip(kinds, found, strict=True))


async def graph_of(
    ctx: RequestContext, cluster_id: str, kinds: tuple[str, ...] | None = None, namespace: str | None = None
) -> nx.MultiDiGraph:
    """The cluster's graph; a Secret whose values the caller may not read is a node flagged `hidden`.
    The fields of its objects that could not be read are kept in the graph's `unreadable` list."""
    notes = Notes()
    graph = build(await objects(ctx, cluster_id, kinds or KINDS), namespace=namespace, kinds=kinds, notes=notes)
    readable = await kube.reads_secret_values(ctx, cluster_id)
    for _, attrs in graph.nodes(data=True):
        if secret_policy.hides(attrs, readable):
            attrs["hidden"] = True
    cluster = await ctx.loaders.cluster.load(cluster_id)
    name = cluster.name if cluster is not None else ""
    graph.graph[UNREADABLE] = [{"clusterId": cluster_id, "clusterName": name, **asdict(e)} for e in notes.entries()]
    return graph


def render(graph: nx.MultiDiGraph, seed: int = 0, **meta: Any) -> Rendered:
    data = to_json(graph, layout(graph, seed), {"layoutSeed": seed, **meta})
    data["errors"] = [e for e in graph.graph.get(UNREADABLE, []) if _shown(graph, e)]
    return Rendered(graph, data)


def _shown(graph: nx.MultiDiGraph, entry: dict[str, Any]) -> bool:
    """Whether the object an unreadable field belongs to is in the graph (a subgraph keeps fewer)."""
    found = node_id(entry["kind"], scope(entry["kind"], entry["namespace"]), entry["name"])
    return found in graph or f"{entry['clusterId']}/{found}" in graph


def _within(graph: nx.MultiDiGraph, depth: int | None) -> nx.MultiDiGraph:
    """Objects at most `depth` relations from a top-level one (one that nothing owns)."""
    if depth is None:
        return graph
    roots = [n for n in graph if not any(d.get("type") == "owner" for _, _, d in graph.in_edges(n, data=True))]
    keep: set[str] = set()
    undirected = graph.to_undirected(as_view=True)
    for root in roots:
        keep.update(nx.single_source_shortest_path_length(undirected, root, cutoff=depth))
    return graph.subgraph(keep).copy()


def _depth(errors: FieldErrors, depth: int | None) -> None:
    if depth is not None and not 0 <= depth <= MAX_DEPTH:
        errors.add("depth", f"must be between 0 and {MAX_DEPTH}")


async def cluster_topology(
    ctx: RequestContext, cluster_id: str, namespace: str | None, kinds: list[str] | None, depth: int | None, seed: int
) -> Rendered:
    errors = FieldErrors()
    _depth(errors, depth)
    errors.raise_if_any()
    chosen = _kinds(kinds)
    graph = await graph_of(ctx, cluster_id, chosen, namespace)
    return render(_within(graph, depth), seed, clusterId=cluster_id, namespace=namespace)


async def object_node(ctx: RequestContext, cluster_id: str, kind: str, namespace: str | None, name: str) -> str:
    """The graph id of one object, after checking it exists (NOT_FOUND otherwise)."""
    if kind not in KINDS:
        raise BadUserInput.field("kind", f"must be one of {', '.join(KINDS)}")
    await kube.find(ctx, cluster_id, kind, namespace, name)
    return node_id(kind, namespace, name)


async def resource_topology(
    ctx: RequestContext, cluster_id: str, ref: tuple[str, str | None, str], depth: int, direction: str
) -> Rendered:
    errors = FieldErrors()
    _depth(errors, depth)
    if direction not in ("in", "out", "both"):
        errors.add("direction", "must be in, out or both")
    errors.raise_if_any()
    target = await object_node(ctx, cluster_id, *ref)
    graph = await graph_of(ctx, cluster_id)
    return render(subgraph(graph, target, depth, direction), clusterId=cluster_id, root=target)  # type: ignore[arg-type]


async def blast_radius(ctx: RequestContext, cluster_id: str, ref: tuple[str, str | None, str]) -> Rendered:
    target = await object_node(ctx, cluster_id, *ref)
    graph = await graph_of(ctx, cluster_id)
    affected = radius(graph, target)
    return render(graph.subgraph([target, *affected]).copy(), clusterId=cluster_id, root=target)


async def path_between(
    ctx: RequestContext, cluster_id: str, source: tuple[str, str | None, str], target: tuple[str, str | None, str]
) -> Rendered:
    start = await object_node(ctx, cluster_id, *source)
    end = await object_node(ctx, cluster_id, *target)
    graph = await graph_of(ctx, cluster_id)
    found = dependency_path(graph, start, end)
    return render(graph.subgraph(found["nodes"] if found else []).copy(), clusterId=cluster_id)


async def unused(ctx: RequestContext, cluster_id: str, namespace: str | None) -> Rendered:
    graph = await graph_of(ctx, cluster_id, namespace=namespace)
    return render(graph.subgraph(orphans(graph)).copy(), clusterId=cluster_id, namespace=namespace)


async def fleet(ctx: RequestContext, tenant_id: str) -> Rendered:
    views = []
    for cluster in await tenant_clusters(ctx, tenant_id):
        if not await may_on_cluster(ctx, cluster.id, "clusters:read"):
            continue  # a per-cluster role without read access hides the cluster
        try:
            namespaces = await kube.items(ctx, cluster.id, "Namespace")
        except (Forbidden, NotFound):
            continue
        except Exception:  # an unreachable cluster still shows, without its namespaces
            namespaces = []
        views.append((cluster.id, cluster.name, namespaces))
    return render(fleet_view(views), tenantId=tenant_id)


async def project(ctx: RequestContext, tenant_id: str, namespaces: list[tuple[str, str]]) -> Rendered:
    """A project's namespaces, across clusters, with what runs in them."""
    if not 1 <= len(namespaces) <= 50:
        raise BadUserInput.field("namespaces", "must list 1 to 50 (clusterId, namespace) pairs")
    parts = []
    for cluster_id, namespace in dict.fromkeys(namespaces):
        cluster = await get_cluster(ctx, cluster_id)
        if cluster.tenant_id != tenant_id:  # provider staff name the tenant; its clusters only
            raise NotFound.of("cluster", cluster_id)
        graph = await graph_of(ctx, cluster.id, namespace=namespace)
        parts.append((cluster.id, cluster.name, namespace, graph))
    view = project_view(parts)
    view.graph[UNREADABLE] = [e for *_, graph in parts for e in graph.graph.get(UNREADABLE, [])]
    return render(view, tenantId=tenant_id)


def export(rendered: Rendered, fmt: str) -> tuple[str, str, str]:
    """(content type, file extension, content: text, or base64 for PNG)."""
    if fmt not in FORMATS:
        raise BadUserInput.field("format", f"must be one of {', '.join(FORMATS)}")
    content_type, extension = FORMATS[fmt]
    positions = {n["id"]: (n["x"], n["y"]) for n in rendered.data["nodes"]}
    if fmt == "JSON":
        return content_type, extension, json.dumps(rendered.data, separators=(",", ":"))
    if fmt in ("SVG", "PNG"):  # pictures frame each namespace: their own arrangement, from the same seed
        arranged = exports.arrange(rendered.graph, rendered.data["meta"].get("layoutSeed", 0))
        if fmt == "SVG":
            return content_type, extension, exports.to_svg(rendered.graph, arranged)
        return content_type, extension, base64.b64encode(exports.to_png(rendered.graph, arranged)).decode()
    if fmt == "DRAWIO":
        return content_type, extension, exports.to_drawio(rendered.graph, positions)
    return content_type, extension, exports.to_graphml(rendered.graph)


async def save_snapshot(ctx: RequestContext, cluster_id: str, namespace: str | None, name: str) -> TopologySnapshot:
    errors = FieldErrors()
    if not name.strip() or len(name) > 100:
        errors.add("name", "must be 1 to 100 characters")
    errors.raise_if_any()
    rendered = await cluster_topology(ctx, cluster_id, namespace, None, None, 0)
    async with ctx.db.transaction(ctx.scope) as session:
        cluster = await get_or_404(session, Cluster, cluster_id, "cluster")
        await _check_snapshot_quota(ctx, session, cluster.tenant_id)
        snapshot = TopologySnapshot(
            id=new_id("topology_snapshot"),
            tenant_id=cluster.tenant_id,
            cluster_id=cluster.id,
            namespace=namespace,
            name=name.strip(),
            graph=rendered.data,
            created_by=ctx.principal_id,
        )
        session.add(snapshot)
        audit.record(session, ctx.actor(), "topology.snapshot_saved", tenant_id=cluster.tenant_id,
                     target_type="topology_snapshot", target_id=snapshot.id,
                     changes={"clusterId": cluster.id, "namespace": namespace, "name": snapshot.name})  # fmt: skip
    return snapshot


async def _check_snapshot_quota(ctx: RequestContext, session: AsyncSession, tenant_id: str | None) -> None:
    """A tenant and each of its users keep a bounded number of snapshots (the settings say how many)."""
    settings = ctx.settings
    count = select(func.count()).select_from(TopologySnapshot).where(TopologySnapshot.tenant_id == tenant_id)
    tenant_count = (await session.execute(count)).scalar_one()
    if tenant_count >= settings.topology_snapshots_per_tenant:
        raise Forbidden(
            f"this tenant keeps at most {settings.topology_snapshots_per_tenant} topology snapshots; "
            "delete old ones with deleteTopologySnapshot"
        )
    mine = count.where(TopologySnapshot.created_by == ctx.principal_id)
    if (await session.execute(mine)).scalar_one() >= settings.topology_snapshots_per_user:
        raise Forbidden(
            f"you keep at most {settings.topology_snapshots_per_user} topology snapshots; "
            "delete old ones with deleteTopologySnapshot"
        )


async def delete_snapshot(ctx: RequestContext, snapshot_id: str) -> None:
    async with ctx.db.transaction(ctx.scope) as session:
        found = await get_or_404(session, TopologySnapshot, snapshot_id, "topology snapshot")
        await session.delete(found)
        audit.record(session, ctx.actor(), "topology.snapshot_deleted", tenant_id=found.tenant_id,
                     target_type="topology_snapshot", target_id=found.id,
                     changes={"clusterId": found.cluster_id, "name": found.name})  # fmt: skip


async def snapshots(ctx: RequestContext, cluster_id: str) -> list[TopologySnapshot]:
    query = select(TopologySnapshot).where(TopologySnapshot.cluster_id == cluster_id)
    async with ctx.db.session(ctx.scope) as session:
        return list((await session.execute(query.order_by(TopologySnapshot.created_at.desc()))).scalars())


async def find_snapshot(ctx: RequestContext, snapshot_id: str) -> TopologySnapshot:
    """A saved snapshot through the request's loader; NOT_FOUND if the caller cannot see it."""
    found = await ctx.loaders.topology_snapshot.load(snapshot_id)
    if found is None:
        raise NotFound.of("topology snapshot", snapshot_id)
    return found


async def compare(ctx: RequestContext, left: dict[str, Any], right: dict[str, Any]) -> dict[str, list[Any]]:
    """Two sides, each a live (clusterId, namespace) or a stored snapshotId; namespaces compare by name."""
    sides: list[Any] = []
    namespaces = []
    for label, side in (("left", left), ("right", right)):
        if side.get("snapshot_id"):
            stored = await find_snapshot(ctx, str(side["snapshot_id"]))
            sides.append(stored.graph)
            namespaces.append(stored.namespace)
            continue
        namespaces.append(side.get("namespace"))
        if side.get("cluster_id"):
            live = await cluster_topology(ctx, str(side["cluster_id"]), side.get("namespace"), None, None, 0)
            sides.append(live.graph)
        else:
            raise BadUserInput.field(label, "give a clusterId (and namespace) or a snapshotId")
    return diff(sides[0], sides[1], ignore_namespace=namespaces[0] != namespaces[1])
