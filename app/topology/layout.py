"""A layered layout: one band of rows per kind layer, from Ingress at the top down to Nodes.

Within a layer, nodes are ordered by the mean x of their neighbours in the layers above
(barycentre, which keeps a Deployment's pods under it), then by namespace, kind and name, and
wrapped into rows of at most ``max(MIN_ROW, ceil(sqrt(n)))`` nodes on a fixed grid, so no two
node boxes (``NODE_WIDTH`` x ``NODE_HEIGHT``) overlap. Linear in the graph's size.

Deterministic: the result depends only on the graph's nodes, attributes and edges, never on
insertion order, dict or set order, or hash randomisation. With ``seed`` 0 ties are broken by
name; another seed breaks them by a stable hash of (seed, id) instead, for a different but equally
reproducible arrangement.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import networkx as nx

NODE_WIDTH = 150.0
NODE_HEIGHT = 44.0
X_GAP = 180.0  # distance between the centres of two neighbours in a row
ROW_GAP = 80.0  # between two rows of a layer
LAYER_GAP = 140.0  # between the last row of a layer and the first of the next
MIN_ROW = 10

LAYERS: dict[str, int] = {
    "Cluster": 0,
    "Ingress": 1, "NetworkPolicy": 1,
    "Service": 2, "HorizontalPodAutoscaler": 2, "PodDisruptionBudget": 2,
    "Deployment": 3, "StatefulSet": 3, "DaemonSet": 3, "CronJob": 3, "Endpoints": 3, "EndpointSlice": 3,
    "ReplicaSet": 4, "Job": 4,
    "Pod": 5,
    "ConfigMap": 6, "Secret": 6, "PersistentVolumeClaim": 6, "ServiceAccount": 6,
    "PersistentVolume": 7, "RoleBinding": 7, "ClusterRoleBinding": 7,
    "StorageClass": 8, "Node": 8, "Role": 8, "ClusterRole": 8, "User": 8, "Group": 8, "Namespace": 8,
}
OTHER_LAYER = 9

Position = tuple[float, float]


def layout(graph: nx.MultiDiGraph, seed: int = 0) -> dict[str, Position]:
    attrs = dict(graph.nodes(data=True))
    neighbours: dict[str, set[str]] = {node: set() for node in attrs}
    for source, targets in graph.adjacency():
        for target in targets:
            neighbours[source].add(target)
            neighbours[target].add(source)
    layers: dict[int, list[str]] = {}
    for node in sorted(attrs):
        layers.setdefault(LAYERS.get(attrs[node].get("kind", ""), OTHER_LAYER), []).append(node)
    per_row = max(MIN_ROW, math.ceil(math.sqrt(len(attrs))))
    positions: dict[str, Position] = {}
    placed: dict[str, float] = {}
    y = 0.0
    for layer in sorted(layers):
        keys = {node: _order_key(node, attrs[node], neighbours[node], placed, seed) for node in layers[layer]}
        ordered = sorted(layers[layer], key=keys.__getitem__)
        for start in range(0, len(ordered), per_row):
            row = ordered[start:start + per_row]
            offset = (len(row) - 1) / 2
            for column, node in enumerate(row):
                x = (column - offset) * X_GAP
                positions[node] = (x, y)
                placed[node] = x
            y += ROW_GAP
        y += LAYER_GAP - ROW_GAP
    return positions


def _order_key(
    node: str, attrs: dict[str, Any], neighbours: set[str], placed: dict[str, float], seed: int
) -> tuple[int, float, str, str, str, str]:
    """Sort key within a layer; ``math.fsum`` is exact, so the order of the neighbours cannot matter."""
    xs = [placed[n] for n in neighbours if n in placed]
    tie = str(attrs.get("name", "")) if seed == 0 else hashlib.blake2b(f"{seed}:{node}".encode()).hexdigest()
    barycentre = math.fsum(xs) / len(xs) if xs else 0.0
    return (0 if xs else 1, barycentre, str(attrs.get("namespace") or ""), str(attrs.get("kind", "")), tie, node)
