"""What changed between two topologies: graphs, or snapshots in the ``exports.to_json`` shape.

With ``ignore_namespace`` objects are matched by kind and name only (``"<Kind>/<name>"``), which
compares two namespaces, e.g. staging against production: meant for single-namespace views,
where kind and name identify an object. Positions and uids are never compared.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

import networkx as nx

from app.topology.model import edge_id

Topology: TypeAlias = "nx.MultiDiGraph | Mapping[str, Any]"
COMPARED = ("kind", "name", "namespace", "labels", "status", "missing")


def diff(a: Topology, b: Topology, *, ignore_namespace: bool = False) -> dict[str, list[Any]]:
    nodes_a, edges_a = _normalise(a, ignore_namespace)
    nodes_b, edges_b = _normalise(b, ignore_namespace)
    fields = [f for f in COMPARED if not (ignore_namespace and f == "namespace")]
    changed = []
    for key in sorted(nodes_a.keys() & nodes_b.keys()):
        before, after = nodes_a[key], nodes_b[key]
        changes = {f: [before.get(f), after.get(f)] for f in fields if before.get(f) != after.get(f)}
        if changes:
            changed.append({"id": key, "changes": changes})
    return {
        "nodes_added": sorted(nodes_b.keys() - nodes_a.keys()),
        "nodes_removed": sorted(nodes_a.keys() - nodes_b.keys()),
        "nodes_changed": changed,
        "edges_added": sorted(edges_b - edges_a),
        "edges_removed": sorted(edges_a - edges_b),
    }


def _normalise(topology: Topology, ignore_namespace: bool) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """Nodes by comparison key with their compared fields, and edge ids written with those keys."""
    if isinstance(topology, nx.MultiDiGraph):
        raw_nodes = [(n, attrs) for n, attrs in topology.nodes(data=True)]
        raw_edges = [(u, v, k) for u, v, k in topology.edges(keys=True)]
    else:
        raw_nodes = [(n["id"], n) for n in topology.get("nodes") or ()]
        raw_edges = [(e["source"], e["target"], e["type"]) for e in topology.get("edges") or ()]
    keys: dict[str, str] = {}
    nodes: dict[str, dict[str, Any]] = {}
    for nid, attrs in raw_nodes:
        key = f"{attrs['kind']}/{attrs['name']}" if ignore_namespace else nid
        keys[nid] = key
        nodes[key] = {f: attrs.get(f, False if f == "missing" else None) for f in COMPARED}
    edges = {edge_id(keys.get(u, u), keys.get(v, v), t) for u, v, t in raw_edges}
    return nodes, edges
