"""Provisioner samples: clusters (seed 004, "Cluster Management Endpoints"), and the clusters
other Provisioner samples act on.

Clusters count against the tenant's limit, so victims are kept and reused while they are still
untouched, and node work has one registered cluster of its own (whose queued operations each
sample cancels first: operations stay queued in these tests, and a cluster runs one at a time)."""

from __future__ import annotations

import uuid
from typing import Any

from tests.rest.samples import Request, Sample, sample
from tests.rest.world import CLUSTER, World
from tests.support.clusters import register_cluster

KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n-----END OPENSSH PRIVATE KEY-----\n"
PROVISION = """mutation($t:ID!,$in:ProvisionClusterInput!){
  provisionCluster(tenantId:$t,input:$in){ cluster { id } operation { id } } }"""
STATUS = "query($id:ID!){ cluster(id:$id){ status } }"
QUEUED = """query($t:ID!,$c:ID!){ operations(tenantId:$t, clusterId:$c, status:"queued"){ nodes { id } } }"""
CANCEL = "mutation($id:ID!){ cancelOperation(id:$id){ id } }"
NODES = "query($id:ID!){ cluster(id:$id){ nodes { nodes { name roles } } } }"


def cluster_body(name: str) -> dict[str, Any]:
    """The documented create-cluster request: three control planes and a worker, over SSH."""
    nodes = [
        {
            "name": f"control-0{i}",
            "role": "control-plane",
            "ip_address": f"192.168.1.1{i - 1}",
            "ssh_port": 22,
            "os_type": "rocky9",
        }
        for i in (1, 2, 3)
    ]
    nodes.append(
        {"name": "worker-01", "role": "worker", "ip_address": "192.168.1.20", "ssh_port": 22, "os_type": "rocky9"}
    )
    return {
        "name": name,
        "description": "My production Kubernetes cluster",
        "template_id": None,
        "topology": {"ha": True, "control_plane_count": 3, "worker_count": 1},
        "components": {"kubernetes_version": "1.28.3", "cni": "calico", "ingress": "nginx", "runtime": "containerd"},
        "nodes": nodes,
        "ssh_config": {
            "username": "root",
            "auth_method": "private_key",
            "private_key": KEY,
            "passphrase": None,
            "password": None,
        },
        "hardening": {"enable_cis_k8s_benchmark": True, "enable_cis_linux_benchmark": True},
        "provision_immediately": True,
    }


def _input(name: str) -> dict[str, Any]:
    """A one-machine cluster, not provisioned yet (so no operation holds it)."""
    return {
        "name": name,
        "topology": {"ha": False, "controlPlaneCount": 1, "workerCount": 0},
        "components": {"kubernetesVersion": "1.28.3", "cni": "calico", "ingress": "nginx"},
        "nodes": [{"name": "solo-01", "role": "control-plane", "ipAddress": "192.168.7.10", "osType": "ubuntu22"}],
        "sshConfig": {"username": "root", "authMethod": "password", "password": "ssh-password"},
        "provisionImmediately": False,
    }


async def victim_cluster(world: World) -> str:
    """A provisioned cluster nothing has touched: the kept one while it is still pending."""
    kept = world.kept.get("provisioner victim cluster")
    if kept and (await world.gql(STATUS, {"id": kept}))["cluster"]["status"] == "pending":
        return str(kept)
    name = f"prov-victim-{uuid.uuid4().hex[:8]}"
    created = await world.gql(PROVISION, {"t": world.tenant.id, "in": _input(name)})
    world.kept["provisioner victim cluster"] = created["provisionCluster"]["cluster"]["id"]
    return str(world.kept["provisioner victim cluster"])


async def idle_node_cluster(world: World) -> str:
    """The node samples' own registration of the simulated cluster, with nothing queued on it."""
    cluster_id = world.kept.get("provisioner node cluster")
    if cluster_id is None:
        cluster_id = await register_cluster(world.api, world.tenant, world.fleet, "prov-nodes", CLUSTER)
        world.kept["provisioner node cluster"] = cluster_id
    queued = await world.gql(QUEUED, {"t": world.tenant.id, "c": cluster_id})
    for operation in queued["operations"]["nodes"]:
        await world.gql(CANCEL, {"id": operation["id"]})
    return str(cluster_id)


async def worker_node(world: World, cluster_id: str) -> str:
    found = (await world.gql(NODES, {"id": cluster_id}))["cluster"]["nodes"]["nodes"]
    return str(next(n["name"] for n in found if "control-plane" not in n["roles"]))


@sample(weak="viewer", foreign=False, writes=True)
async def create_cluster(world: World) -> Request:
    return Request(body=cluster_body(f"prov-{uuid.uuid4().hex[:8]}"), role="operator")


@sample(foreign=False)
async def list_clusters(world: World) -> Request:
    return Request(query={"page": 1, "page_size": 20, "status_filter": "running"}, role="viewer")


@sample()
async def get_cluster(world: World) -> Request:
    return Request(path={"cluster_id": world.cluster_id}, role="viewer")


@sample(weak="operator", writes=True)
async def delete_cluster(world: World) -> Request:
    return Request(path={"cluster_id": await victim_cluster(world)}, query={"deprovision": "true"})


@sample(weak="operator", writes=True)
async def kubeconfig(world: World) -> Request:
    return Request(path={"cluster_id": world.cluster_id})


SAMPLES: dict[tuple[str, str], Sample] = {
    ("POST", "/api/v1/clusters"): create_cluster,
    ("GET", "/api/v1/clusters"): list_clusters,
    ("GET", "/api/v1/clusters/{cluster_id}"): get_cluster,
    ("DELETE", "/api/v1/clusters/{cluster_id}"): delete_cluster,
    ("GET", "/api/v1/clusters/{cluster_id}/kubeconfig"): kubeconfig,
}
