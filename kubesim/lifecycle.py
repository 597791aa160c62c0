"""Cluster lifecycle over the control API, as a provider drives it: create and delete clusters, resize
node pools, change the Kubernetes version.

    POST   /clusters                                  {"name", "version", "nodePools": [...], "profile"}
    DELETE /clusters/{name}
    POST   /clusters/{name}/node-pools/{pool}/scale   {"count": n}
    POST   /clusters/{name}/version                   {"version": "1.31.0"}
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from . import clusterspec, controllers, errors, nodepools, profiles
from .clusterspec import ClusterSpec
from .controllers.nodes import KUBELET_VERSION
from .discovery import version_info
from .nodepools import NodePool
from .store import ClusterState

if TYPE_CHECKING:
    from .fleet import Fleet
    from .server import Cluster

Action = Callable[[Request], Awaitable[Any]]


def kubelet_version(cluster: Cluster) -> str:
    return f"v{cluster.version}" if cluster.version else KUBELET_VERSION


def describe(fleet: Fleet, cluster: Cluster) -> dict[str, Any]:
    counted = nodepools.counts(cluster.state)
    pools = dict(fleet.node_pools.get(cluster.name) or {})
    for name in counted.keys() - pools.keys():
        pools[name] = NodePool(name)
    return {"name": cluster.name, "server": fleet.server_url(cluster.name),
            "version": version_info(cluster.version)["gitVersion"].removeprefix("v"),
            "nodePools": [pools[name].describe(counted.get(name, 0)) for name in sorted(pools)]}


def preparer(spec: ClusterSpec, seed: int) -> Callable[[ClusterState, int], None]:
    """What a new cluster holds before it is served: the pools' nodes, then the profile's other objects."""

    def prepare(state: ClusterState, index: int) -> None:
        for pool, count in spec.pools:
            nodepools.scale(state, pool, count, f"v{spec.version}")
        if spec.profile is not None:
            manifests = profiles.manifests_for(state.name, spec.profile, seed, index)
            profiles.create_all(state, [m for m in manifests if m[:3] != ("", "v1", "nodes")])
            controllers.settle(state, record_events=spec.profile != "large")

    return prepare


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise errors.bad_request(f"the request body is not JSON: {exc}") from exc


def _find(fleet: Fleet, name: str) -> Cluster:
    for cluster in fleet.clusters:
        if cluster.name == name:
            return cluster
    raise errors.not_found("", "clusters", name)


def routes(fleet: Fleet) -> list[tuple[str, str, Action]]:
    async def create(request: Request) -> Any:
        spec = clusterspec.cluster_spec(await _body(request))
        cluster = await fleet.add_cluster(spec.name, preparer(spec, fleet.seed), spec.version)
        fleet.node_pools[cluster.name] = {pool.name: pool for pool, _ in spec.pools}
        reply = {"name": cluster.name, "server": fleet.server_url(cluster.name),
                 "kubeconfig": fleet.kubeconfigs[cluster.name].read_text(), "version": spec.version}
        return reply, 201

    async def delete(request: Request) -> Any:
        cluster = _find(fleet, request.path_params["name"])
        await fleet.remove_cluster(cluster.name)
        return {"deleted": True}

    async def scale(request: Request) -> Any:
        cluster = _find(fleet, request.path_params["name"])
        pools = fleet.node_pools.setdefault(cluster.name, {})
        requested, count = clusterspec.scale_request(cluster.name, request.path_params["pool"], await _body(request))
        pool = pools.get(requested.name, requested)
        others = sum(n for name, n in nodepools.counts(cluster.state).items() if name != pool.name)
        if others + count > clusterspec.MAX_NODES:
            raise clusterspec.invalid(cluster.name, [{
                "reason": "FieldValueInvalid", "field": "count",
                "message": f"Invalid value: {count}: the pod network has room for {clusterspec.MAX_NODES} nodes"}])
        pools[pool.name] = pool
        names = nodepools.scale(cluster.state, pool, count, kubelet_version(cluster))
        return {"cluster": cluster.name, "name": pool.name, "count": len(names), "nodes": names}

    async def upgrade(request: Request) -> Any:
        cluster = _find(fleet, request.path_params["name"])
        version = clusterspec.version_request(cluster.name, await _body(request))
        cluster.version = version
        nodes = nodepools.set_kubelet_version(cluster.state, f"v{version}")
        return {"name": cluster.name, "version": version, "nodes": nodes}

    return [("/clusters", "POST", create), ("/clusters/{name}", "DELETE", delete),
            ("/clusters/{name}/node-pools/{pool}/scale", "POST", scale),
            ("/clusters/{name}/version", "POST", upgrade)]
