"""Node pools: groups of like Nodes named ``<cluster>-<pool>-<n>`` that a provider grows, shrinks and upgrades.

A Node joins the way a kubelet registers it: created with its status (capacity, Ready, nodeInfo)
and a pod CIDR, so it takes pods at once, with or without the controllers running.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .controllers.nodes import DEFAULT_TYPE, kubelet_status, node_index
from .resources import ResourceType
from .store import ClusterState

POOL_LABEL = "kubesim.io/node-pool"
ZONES = ("eu-west-1a", "eu-west-1b", "eu-west-1c")


@dataclass(frozen=True)
class NodePool:
    name: str
    instance_type: str = DEFAULT_TYPE
    labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[dict[str, Any], ...] = ()

    def describe(self, count: int) -> dict[str, Any]:
        return {"name": self.name, "count": count, "instanceType": self.instance_type, "labels": dict(self.labels),
                "taints": [dict(t) for t in self.taints]}


def _nodes_rt(state: ClusterState) -> ResourceType:
    rt = state.resources.get("", "v1", "nodes")
    assert rt is not None
    return rt


def _pods_rt(state: ClusterState) -> ResourceType:
    rt = state.resources.get("", "v1", "pods")
    assert rt is not None
    return rt


def ordinal(state: ClusterState, pool: str, node: dict[str, Any]) -> int:
    """The ``n`` of ``<cluster>-<pool>-<n>``; -1 for a node that joined the pool under another name."""
    prefix = f"{state.name}-{pool}-"
    name = node["metadata"]["name"]
    tail = name[len(prefix):] if name.startswith(prefix) else ""
    return int(tail) if tail.isdigit() else -1


def members(state: ClusterState, pool: str) -> list[dict[str, Any]]:
    """The pool's Nodes, lowest ordinal first."""
    found = [n for n in state.scan(_nodes_rt(state)) if (n["metadata"].get("labels") or {}).get(POOL_LABEL) == pool]
    return sorted(found, key=lambda n: (ordinal(state, pool, n), n["metadata"]["name"]))


def counts(state: ClusterState) -> dict[str, int]:
    found: dict[str, int] = {}
    for node in state.scan(_nodes_rt(state)):
        pool = (node["metadata"].get("labels") or {}).get(POOL_LABEL)
        if pool is not None:
            found[pool] = found.get(pool, 0) + 1
    return found


def node_manifest(state: ClusterState, pool: NodePool, number: int, cidr: int, version: str) -> dict[str, Any]:
    name = f"{state.name}-{pool.name}-{number}"
    zone = ZONES[number % len(ZONES)]
    labels = {**pool.labels, "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
              "kubernetes.io/arch": "amd64", "node.kubernetes.io/instance-type": pool.instance_type,
              "topology.kubernetes.io/zone": zone, "topology.kubernetes.io/region": zone[:-1],
              POOL_LABEL: pool.name}
    spec: dict[str, Any] = {"podCIDR": f"10.244.{cidr}.0/24", "podCIDRs": [f"10.244.{cidr}.0/24"],
                            "providerID": f"kubesim://{state.name}/{name}"}
    if pool.taints:
        spec["taints"] = [dict(t) for t in pool.taints]
    node: dict[str, Any] = {"metadata": {"name": name, "labels": labels}, "spec": spec}
    node["status"] = kubelet_status(state.name, node, cidr, state.clock.now(), version)
    return node


def scale(state: ClusterState, pool: NodePool, count: int, version: str) -> list[str]:
    """Bring the pool to ``count`` Nodes: new ones take the lowest free numbers, the highest go first."""
    current = members(state, pool.name)
    for node in reversed(current[count:]):
        remove_node(state, node["metadata"]["name"])
    taken = {ordinal(state, pool.name, n) for n in current[:count]}
    cidrs = {node_index(n) for n in state.scan(_nodes_rt(state))}
    numbers = (n for n in range(1 << 20) if n not in taken)
    free_cidrs = (i for i in range(256) if i not in cidrs)
    for _ in range(count - len(current)):
        state.create(_nodes_rt(state), node_manifest(state, pool, next(numbers), next(free_cidrs), version))
    return [n["metadata"]["name"] for n in members(state, pool.name)]


def remove_node(state: ClusterState, name: str) -> None:
    """The machine is gone: its Node is deleted and the pods bound to it with it, for their owners to replace."""
    state.delete(_nodes_rt(state), None, name)
    pods = _pods_rt(state)
    for pod in [p for p in state.scan(pods) if (p.get("spec") or {}).get("nodeName") == name]:
        state.delete(pods, pod["metadata"].get("namespace"), pod["metadata"]["name"], grace_seconds=0)


def set_kubelet_version(state: ClusterState, version: str) -> int:
    """Every kubelet reports ``version`` (nodeInfo.kubeletVersion and kubeProxyVersion); returns the node count."""
    rt = _nodes_rt(state)
    names = [n["metadata"]["name"] for n in state.scan(rt)]
    for name in names:
        node = state.get(rt, None, name)
        if node is None:
            continue
        status = node.setdefault("status", {})
        status["nodeInfo"] = {**(status.get("nodeInfo") or {}), "kubeletVersion": version, "kubeProxyVersion": version}
        state.update(rt, node, subresource="status")
    return len(names)
