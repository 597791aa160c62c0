"""`topologyEvents`: a cluster's graph kept current from the same watch events `resourceEvents` carries.

Each stream holds a LiveTopology built once from the cached objects; every watch event changes
only what it touches and is reported as node and edge changes. After a RESYNC (events were lost,
or another replica took the watches over) the graph is rebuilt and the difference reported.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import networkx as nx

from app.k8s import secret_policy
from app.k8s.resources import ResourceKind
from app.realtime.bus import resource_channel
from app.realtime.mailbox import RESYNC, Mailbox
from app.topology import LiveTopology, TopologyDelta
from app.topology.model import edge_record
from loaders.clusters import ensure_registered
from resolvers import kube
from resolvers.clusters import get_cluster
from resolvers.realtime import snapshot, tenant_slot, until_signed_out
from resolvers.topology import KINDS

Event = dict[str, Any]


async def topology_events(
    ctx: Any, cluster_id: str, namespace: str | None, include_initial: bool
) -> AsyncIterator[Event]:
    with tenant_slot(ctx):
        cluster = await get_cluster(ctx, cluster_id)  # the field declares who may read its workloads
        ensure_registered(ctx.services.gateway, ctx.services.sealer, cluster)
        kinds = await _kinds(ctx, cluster.id)
        mailbox = Mailbox(ctx.settings.subscription_queue_size)
        async with contextlib.AsyncExitStack() as stack:
            for rk in kinds:
                await stack.enter_async_context(
                    ctx.services.bus.listen(resource_channel(cluster.id, rk.kind), mailbox.put)
                )
                await ctx.services.watches.want(cluster.id, rk)
            live = LiveTopology(await _objects(ctx, cluster.id, kinds))
            scope = _Scope(cluster.id, namespace, await kube.reads_secret_values(ctx, cluster.id))
            if include_initial:
                for node in sorted(live.graph):
                    if scope.has_node(live.graph, node):
                        yield scope.node_event("NODE_ADDED", live.graph, node)
                for source, target, attrs in sorted(live.graph.edges(data=True), key=lambda e: (e[0], e[1])):
                    if scope.has_edge(live.graph, source, target):
                        yield scope.edge_event("EDGE_ADDED", edge_record(source, target, attrs))
            stream = until_signed_out(ctx, mailbox)
            stack.push_async_callback(stream.aclose)
            async for event in stream:
                if event["type"] == RESYNC:
                    before = live.graph.copy()
                    live = LiveTopology(await _objects(ctx, cluster.id, kinds))
                    for change in scope.difference(before, live.graph):
                        yield change
                    continue
                delta = live.apply(event["type"], str(event["kind"]), event.get("object") or {})
                for change in scope.delta_events(live.graph, delta):
                    yield change


async def _kinds(ctx: Any, cluster_id: str) -> list[ResourceKind]:
    client = ctx.services.gateway.client(cluster_id)
    return [await client.kind(kind) for kind in KINDS]


async def _objects(ctx: Any, cluster_id: str, kinds: list[ResourceKind]) -> dict[str, list[Event]]:
    return {rk.kind: await snapshot(ctx, cluster_id, rk) for rk in kinds}


class _Scope:
    """Which nodes and edges a stream reports: all, or those of one namespace (and edges touching it);
    a Secret whose values the subscriber may not read is reported `hidden`."""

    def __init__(self, cluster_id: str, namespace: str | None, values_readable: bool) -> None:
        self.cluster_id, self.namespace, self.values_readable = cluster_id, namespace, values_readable

    def has_node(self, graph: nx.MultiDiGraph, node: str) -> bool:
        return self.namespace is None or graph.nodes[node].get("namespace") == self.namespace

    def has_edge(self, graph: nx.MultiDiGraph, source: str, target: str) -> bool:
        return self.has_node(graph, source) or self.has_node(graph, target)

    def node_event(self, type_: str, graph: nx.MultiDiGraph | None, node: str) -> Event:
        attrs = dict(graph.nodes[node]) if graph is not None and node in graph else {}
        attrs["hidden"] = secret_policy.hides(attrs, self.values_readable)
        return {"type": type_, "clusterId": self.cluster_id, "id": node, "node": {"id": node, **attrs}, "edge": None}

    def edge_event(self, type_: str, record: dict[str, Any]) -> Event:
        return {"type": type_, "clusterId": self.cluster_id, "id": record["id"], "node": None, "edge": record}

    def delta_events(self, graph: nx.MultiDiGraph, delta: TopologyDelta) -> list[Event]:
        events = []
        for node in delta.nodes_removed:
            if self.namespace is None or f"/{self.namespace}/" in node:
                events.append({"type": "NODE_REMOVED", "clusterId": self.cluster_id, "id": node, "node": None,
                               "edge": None})  # fmt: skip
        for type_, nodes in (("NODE_ADDED", delta.nodes_added), ("NODE_CHANGED", delta.nodes_changed)):
            events += [self.node_event(type_, graph, n) for n in nodes if n in graph and self.has_node(graph, n)]
        for edge in delta.edges_removed:
            if self.namespace is None or f"/{self.namespace}/" in edge:
                events.append({"type": "EDGE_REMOVED", "clusterId": self.cluster_id, "id": edge, "node": None,
                               "edge": None})  # fmt: skip
        for edge in delta.edges_added:
            record = _record(graph, edge)
            if record is not None and self.has_edge(graph, record["source"], record["target"]):
                events.append(self.edge_event("EDGE_ADDED", record))
        return events

    def difference(self, before: nx.MultiDiGraph, after: nx.MultiDiGraph) -> list[Event]:
        old_edges = {r["id"]: r for r in (edge_record(s, t, a) for s, t, a in before.edges(data=True))}
        new_edges = {r["id"]: r for r in (edge_record(s, t, a) for s, t, a in after.edges(data=True))}
        delta = TopologyDelta(
            nodes_added=tuple(sorted(set(after) - set(before))),
            nodes_removed=tuple(sorted(set(before) - set(after))),
            nodes_changed=tuple(sorted(n for n in set(after) & set(before) if after.nodes[n] != before.nodes[n])),
            edges_added=tuple(sorted(new_edges.keys() - old_edges.keys())),
            edges_removed=tuple(sorted(old_edges.keys() - new_edges.keys())),
        )
        return self.delta_events(after, delta)


def _record(graph: nx.MultiDiGraph, edge: str) -> dict[str, Any] | None:
    """The edge called `edge` ("<type>:<source>-><target>"), looked up without scanning the graph."""
    type_, _, ends = edge.partition(":")
    source, _, target = ends.partition("->")
    attrs = graph.get_edge_data(source, target, key=type_)
    return edge_record(source, target, attrs) if attrs is not None else None
