"""Views across clusters: a project's namespaces (each with its objects) under their clusters."""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx

from app.topology.model import node_id
from app.topology.queries import fleet_view


def project_view(parts: Iterable[tuple[str, str, str, nx.MultiDiGraph]]) -> nx.MultiDiGraph:
    """Clusters → the project's namespaces → their objects, from (cluster id, cluster name, namespace,
    that namespace's graph). Object ids are prefixed with their cluster's id, so two clusters' objects
    of the same name stay apart; a namespace contains the objects nothing else in it owns."""
    parts = list(parts)
    by_cluster: dict[tuple[str, str], list[str]] = {}
    for cluster_id, cluster_name, namespace, _ in parts:
        by_cluster.setdefault((cluster_id, cluster_name), []).append(namespace)
    graph = fleet_view((cid, name, namespaces) for (cid, name), namespaces in by_cluster.items())
    for cluster_id, _, namespace, objects in parts:
        parent = f"{cluster_id}/{node_id('Namespace', None, namespace)}"
        for node, attrs in objects.nodes(data=True):
            graph.add_node(f"{cluster_id}/{node}", **{**attrs, "cluster": cluster_id})
        for source, target, key, attrs in objects.edges(keys=True, data=True):
            graph.add_edge(f"{cluster_id}/{source}", f"{cluster_id}/{target}", key=key, **attrs)
        for node, attrs in objects.nodes(data=True):
            owned = any(d.get("type") == "owner" for _, _, d in objects.in_edges(node, data=True))
            if attrs.get("namespace") == namespace and not owned:
                graph.add_edge(parent, f"{cluster_id}/{node}", key="owner", type="owner", label="contains",
                               implicit=False)  # fmt: skip
    return graph
