"""Node pools: a registered cluster's from its nodes' pool labels, a provisioned one's as stored.

The registered cluster is a kubesim `small` profile (three nodes without a pool label) with nodes
added as GKE, EKS, AKS and Karpenter label theirs; the provisioned one is made by the simulated
provider through the app's runner, and shows its stored pools with the nodes it has now.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from app.services import Services
from app.web import create_app
from kubesim.controllers.nodes import kubelet_status
from kubesim.fleet import start_fleet
from kubesim.store import ClusterState
from tests.support.api import Api, make_tenant
from tests.support.clusters import register_cluster
from tests.support.lifecycle import CREATE, cks_input, finished
from tests.support.server import serving

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

POOLS = """query($i:ID!){ cluster(id:$i){ origin nodePools {
  id name origin nodeCount currentNodes readyNodes minCount maxCount instanceType labels taints } } }"""
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}


def add_node(state: ClusterState, name: str, labels: dict[str, str], *, ready: bool = True, **spec: Any) -> None:
    """A node as its kubelet registers it (Ready, or with no status yet)."""
    node: dict[str, Any] = {"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **labels}},
                            "spec": spec}  # fmt: skip
    if ready:
        node["status"] = kubelet_status(state.name, node, 40 + len(name), state.clock.now(), "v1.30.6")
    nodes = state.resources.get("", "v1", "nodes")
    assert nodes is not None
    state.create(nodes, node)


def provider_nodes(state: ClusterState) -> None:
    gke = {"cloud.google.com/gke-nodepool": "gpu", "node.kubernetes.io/instance-type": "a2-highgpu-1g"}
    add_node(state, "gke-gpu-a", {**gke, "topology.kubernetes.io/zone": "europe-west4-a"}, taints=[GPU_TAINT])
    add_node(state, "gke-gpu-b", {**gke, "topology.kubernetes.io/zone": "europe-west4-b"},
             taints=[GPU_TAINT, {"key": "maintenance", "effect": "NoExecute"}])
    add_node(state, "gke-gpu-c", {**gke, "topology.kubernetes.io/zone": "europe-west4-a"}, taints=[GPU_TAINT],
             ready=False)
    add_node(state, "eks-workers-1", {"eks.amazonaws.com/nodegroup": "workers",
                                      "node.kubernetes.io/instance-type": "m6i.large"})
    add_node(state, "aks-system-0", {"kubernetes.azure.com/agentpool": "system", "agentpool": "system"})
    add_node(state, "karpenter-spot-0", {"karpenter.sh/nodepool": "spot"})


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def registered(api: Api, provider_token: str, database_url: str) -> AsyncIterator[tuple[Api, str, str]]:
    async with start_fleet(1, profile="small", seed=41, controllers=False) as fleet:
        provider_nodes(fleet.cluster("cluster-0").state)
        tenant = await make_tenant(api, provider_token, roles=("viewer",), maxClusters=1)
        yield api, tenant.tokens["viewer"], await register_cluster(api, tenant, fleet, "pools")


async def test_a_registered_cluster_shows_its_pools_from_the_nodes_labels(registered: tuple[Api, str, str]) -> None:
    api, viewer, cluster_id = registered
    cluster = (await api.ok(POOLS, {"i": cluster_id}, viewer))["cluster"]
    assert cluster["origin"] == "registered"
    pools = {p["name"]: p for p in cluster["nodePools"]}
    assert list(pools) == ["default", "gpu", "spot", "system", "workers"]
    assert pools["gpu"] == {
        "id": f"{cluster_id}/gpu", "name": "gpu", "origin": "discovered", "nodeCount": 3, "currentNodes": 3,
        "readyNodes": 2, "minCount": None, "maxCount": None, "instanceType": "a2-highgpu-1g",
        "labels": {"cloud.google.com/gke-nodepool": "gpu", "node.kubernetes.io/instance-type": "a2-highgpu-1g"},
        "taints": ["nvidia.com/gpu=present:NoSchedule"],
    }
    assert (pools["workers"]["nodeCount"], pools["workers"]["instanceType"]) == (1, "m6i.large")
    assert pools["system"]["labels"] == {"kubernetes.azure.com/agentpool": "system", "agentpool": "system"}
    assert pools["spot"]["labels"] == {"karpenter.sh/nodepool": "spot"} and pools["spot"]["taints"] == []
    default = pools["default"]  # the profile's three nodes carry no pool label
    assert (default["nodeCount"], default["readyNodes"]) == (3, 3)
    assert "kubernetes.io/hostname" not in default["labels"] and default["labels"]["kubernetes.io/os"] == "linux"
    nodes = await api.ok('query($i:ID!){ cluster(id:$i){ nodes(first:100){ nodes { name pool } } } }',
                         {"i": cluster_id}, viewer)
    by_name = {n["name"]: n["pool"] for n in nodes["cluster"]["nodes"]["nodes"]}
    assert by_name["gke-gpu-a"] == "gpu" and by_name["aks-system-0"] == "system"
    assert sum(1 for pool in by_name.values() if pool is None) == default["nodeCount"]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def provisioning(services: Services) -> AsyncIterator[Api]:
    """The app with a runner and the simulated provider, as the lifecycle tests run it."""
    async with start_fleet(0, profile=None, control=True) as simulator:
        settings = services.settings.model_copy(update={
            "operation_workers": 1, "operation_poll_seconds": 0.2, "operation_lease_seconds": 3.0,
            "simulator_url": f"http://127.0.0.1:{simulator.control_port}", "simulated_phase_seconds": 0.05,
        })  # fmt: skip
        app = create_app(settings, Services.from_settings(settings))
        async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
            yield Api(http)


async def test_a_provisioned_cluster_keeps_its_stored_pools_with_the_nodes_it_has(
    provisioning: Api, provider_token: str
) -> None:
    api = provisioning
    tenant = await make_tenant(api, provider_token, roles=("operator",), maxClusters=1)
    operator = tenant.tokens["operator"]
    created = (await api.ok(CREATE, {"t": tenant.id, "in": cks_input("pooled")}, operator))["createCluster"]
    stored = created["cluster"]["nodePools"]
    assert [(p["name"], p["nodeCount"]) for p in stored] == [("general", 2)]
    early = (await api.ok(POOLS, {"i": created["cluster"]["id"]}, operator))["cluster"]["nodePools"]
    assert early[0]["currentNodes"] is None, "nothing to count before the cluster answers"
    assert (await finished(api, operator, created["operation"]["id"]))["status"] == "success"
    [pool] = (await api.ok(POOLS, {"i": created["cluster"]["id"]}, operator))["cluster"]["nodePools"]
    assert pool == {
        "id": stored[0]["id"], "name": "general", "origin": "provisioned", "nodeCount": 2, "currentNodes": 2,
        "readyNodes": 2, "minCount": 1, "maxCount": 4, "instanceType": "m5.large", "labels": {}, "taints": [],
    }


def test_the_pool_labels_cover_the_common_providers() -> None:
    from resolvers.node_pools import pool_of

    for label in ("node.kubernetes.io/pool", "cloud.google.com/gke-nodepool", "eks.amazonaws.com/nodegroup",
                  "agentpool", "kubernetes.azure.com/agentpool", "karpenter.sh/nodepool", "kubesim.io/node-pool"):
        assert pool_of({label: "p", "node.kubernetes.io/instance-type": "m5.large"}) == "p", label
    assert pool_of({"node.kubernetes.io/instance-type": "m5.large"}) is None

