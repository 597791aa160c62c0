"""Questions asked of a topology graph: a neighbourhood, a blast radius, a path, orphans, the fleet.

**Dependency semantics** (used by ``blast_radius``). For an edge ``source -> target``:

| edge type | who depends on whom |
| --- | --- |
| owner | the owned object is deleted with its owner; the owner is degraded by what it owns |
| grants, to a Role or ClusterRole | the binding depends on the role |
| grants, to a subject | the subject (ServiceAccount, User, Group) depends on the binding |
| every other type | the source depends on the target |

So a Pod depends on its ConfigMaps, Secrets, claims, Node and ServiceAccount; a Service on the pods
it selects and its endpoints; an Ingress on its Services; an HPA on the workload it scales.

``blast_radius(X)`` is everything that depends on X, transitively: what breaks if X goes. Going
*down* an owner edge (deletion) only continues from objects that are themselves gone (X, and what
is deleted with it); from an object that is merely degraded the walk only goes *up* to its owners.
So a Node's blast radius holds its pods and their workloads, not the workloads' pods on other
nodes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal

import networkx as nx

from app.topology.model import edge_record, labels_of, node_id
from app.topology.model import meta as object_meta
from app.topology.status import HEALTHY, SEVERITY, UNKNOWN, own_status

Direction = Literal["in", "out", "both"]
ROLE_KINDS = frozenset({"Role", "ClusterRole"})
SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})
UNREFERENCED_SECRET_TYPES = frozenset({
    "kubernetes.io/service-account-token", "bootstrap.kubernetes.io/token", "helm.sh/release.v1",
})
_USES = frozenset({"mounts", "env", "tls", "pulls"})


def subgraph(graph: nx.MultiDiGraph, node: str, depth: int, direction: Direction = "both") -> nx.MultiDiGraph:
    """The objects within ``depth`` edges of ``node`` (following edges out, in or both ways)
    and every edge between them."""
    if node not in graph:
        raise KeyError(node)
    seen = {node}
    frontier = [node]
    for _ in range(max(depth, 0)):
        reached: list[str] = []
        for current in frontier:
            neighbours = [*(graph.succ[current] if direction in ("out", "both") else ()),
                          *(graph.pred[current] if direction in ("in", "both") else ())]
            for other in neighbours:
                if other not in seen:
                    seen.add(other)
                    reached.append(other)
        frontier = reached
    return graph.subgraph(seen).copy()


def blast_radius(graph: nx.MultiDiGraph, node: str) -> list[str]:
    """Ids of everything that depends on ``node``, directly or not (``node`` itself excluded), sorted."""
    if node not in graph:
        raise KeyError(node)
    seen: set[tuple[str, bool]] = {(node, True)}
    queue = deque(seen)
    while queue:
        current, gone = queue.popleft()
        for state in _dependents(graph, current, gone):
            if state not in seen:
                seen.add(state)
                queue.append(state)
    return sorted({n for n, _ in seen} - {node})


def _dependents(graph: nx.MultiDiGraph, node: str, gone: bool) -> Iterator[tuple[str, bool]]:
    """(dependent, is it gone too) for each object depending on ``node``."""
    is_role = graph.nodes[node].get("kind") in ROLE_KINDS
    for source, types in graph.pred[node].items():
        if any(type_ != "grants" or is_role for type_ in types):
            yield source, False
    for target, types in graph.succ[node].items():
        for type_ in types:
            if type_ == "owner" and gone:
                yield target, True
            elif type_ == "grants" and graph.nodes[target].get("kind") not in ROLE_KINDS:
                yield target, False


def dependency_path(graph: nx.MultiDiGraph, a: str, b: str) -> dict[str, Any] | None:
    """The shortest path between two objects whatever the edges' directions: its node ids and,
    in order, the edge taken at each step (as ``edge_record``). None when they are not connected."""
    if a not in graph or b not in graph:
        raise KeyError(a if a not in graph else b)
    parent: dict[str, str | None] = {a: None}
    queue = deque([a])
    while queue and b not in parent:
        current = queue.popleft()
        for other in sorted({*graph.succ[current], *graph.pred[current]}):
            if other not in parent:
                parent[other] = current
                queue.append(other)
    if b not in parent:
        return None
    path = [b]
    while (step := parent[path[-1]]) is not None:
        path.append(step)
    path.reverse()
    return {"nodes": path, "edges": [_edge_between(graph, x, y) for x, y in zip(path, path[1:], strict=False)]}


def _edge_between(graph: nx.MultiDiGraph, x: str, y: str) -> dict[str, Any]:
    source, target = (x, y) if graph.has_edge(x, y) else (y, x)
    type_ = sorted(graph[source][target])[0]
    return edge_record(source, target, graph[source][target][type_])


def orphans(graph: nx.MultiDiGraph) -> list[str]:
    """ConfigMaps, Secrets and PVCs nothing mounts or references, and Services with a selector
    that selects no pod. Not reported: objects in the system namespaces (kube-system, kube-public,
    kube-node-lease), the ``kube-root-ca.crt`` ConfigMap every namespace gets, service-account and
    bootstrap token Secrets, Helm release Secrets (type ``helm.sh/release.v1`` or label
    ``owner=helm``), and placeholders."""
    found = []
    for node, attrs in graph.nodes(data=True):
        if attrs["missing"] or attrs["namespace"] in SYSTEM_NAMESPACES or _expected_unused(attrs):
            continue
        kind = attrs["kind"]
        if kind in ("ConfigMap", "Secret", "PersistentVolumeClaim"):
            if not any(_USES.intersection(types) for types in graph.pred[node].values()):
                found.append(node)
        elif kind == "Service" and attrs["selector"] and not any("selects" in t for t in graph.succ[node].values()):
            found.append(node)
    return sorted(found)


def _expected_unused(attrs: Mapping[str, Any]) -> bool:
    if attrs["kind"] == "ConfigMap":
        return bool(attrs["name"] == "kube-root-ca.crt")
    if attrs["kind"] == "Secret":
        return attrs["object_type"] in UNREFERENCED_SECRET_TYPES or attrs["labels"].get("owner") == "helm"
    return False


Namespaces = Iterable[str | Mapping[str, Any]]


def fleet_view(clusters: Iterable[tuple[str, str, Namespaces]]) -> nx.MultiDiGraph:
    """Clusters and their namespaces as one graph: ``Cluster//<cluster id>`` nodes own
    ``<cluster id>/Namespace//<name>`` nodes. A namespace is a name or a Namespace object (whose
    phase gives its status); a cluster's status is its worst namespace's, unknown with none."""
    graph = nx.MultiDiGraph()
    for cluster_id, cluster_name, namespaces in clusters:
        cluster = node_id("Cluster", None, cluster_id)
        statuses = []
        graph.add_node(cluster, **_fleet_attrs("Cluster", cluster_name, cluster_id, {}, cluster_id, UNKNOWN))
        for namespace in namespaces:
            obj = namespace if isinstance(namespace, Mapping) else {"metadata": {"name": namespace}}
            meta = object_meta(obj)
            name = str(meta.get("name") or "")
            status = own_status("Namespace", obj) if "status" in obj else HEALTHY
            statuses.append(status)
            child = f"{cluster_id}/{node_id('Namespace', None, name)}"
            graph.add_node(child, **_fleet_attrs("Namespace", name, cluster_id, labels_of(meta), meta.get("uid"),
                                                 status))
            graph.add_edge(cluster, child, key="owner", type="owner", label="contains", implicit=False)
        if statuses:
            worst = max(statuses, key=SEVERITY.__getitem__)
            graph.nodes[cluster].update(status=worst, own_status=worst)
    return graph


def _fleet_attrs(kind: str, name: str, cluster: str, labels: Any, uid: Any, status: str) -> dict[str, Any]:
    return {
        "kind": kind, "name": name, "namespace": None, "labels": dict(labels or {}), "uid": uid,
        "status": status, "own_status": status, "missing": False, "object_type": None, "selector": False,
        "cluster": cluster,
    }
