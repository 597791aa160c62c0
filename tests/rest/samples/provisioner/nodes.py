"""Provisioner samples: test-ssh and a cluster's nodes (seed 004, "Node Management Endpoints")."""

from __future__ import annotations

from tests.rest.samples import Request, Sample, sample
from tests.rest.samples.provisioner.clusters import idle_node_cluster, worker_node
from tests.rest.world import World


@sample(weak="viewer", foreign=False, writes=True)
async def ssh_check(world: World) -> Request:
    body = {
        "nodes": [
            {
                "name": "control-01",
                "role": "control-plane",
                "ip_address": "192.168.1.10",
                "ssh_port": 22,
                "os_type": "rocky9",
            }
        ],
        "ssh_config": {"username": "root", "auth_method": "password", "password": "ssh_password"},
    }
    return Request(body=body, role="operator")


@sample()
async def list_nodes(world: World) -> Request:
    return Request(path={"cluster_id": world.cluster_id}, query={"page": 1, "page_size": 20}, role="viewer")


async def _node_path(world: World) -> dict[str, str]:
    cluster_id = await idle_node_cluster(world)
    return {"cluster_id": cluster_id, "node_id": await worker_node(world, cluster_id)}


@sample(weak="viewer", writes=True)
async def drain_node(world: World) -> Request:
    return Request(path=await _node_path(world), role="operator")


@sample(weak="viewer", writes=True)
async def remove_node(world: World) -> Request:
    return Request(path=await _node_path(world), role="operator")


SAMPLES: dict[tuple[str, str], Sample] = {
    ("POST", "/api/v1/clusters/test-ssh"): ssh_check,
    ("GET", "/api/v1/clusters/{cluster_id}/nodes"): list_nodes,
    ("POST", "/api/v1/clusters/{cluster_id}/nodes/{node_id}/drain"): drain_node,
    ("DELETE", "/api/v1/clusters/{cluster_id}/nodes/{node_id}"): remove_node,
}
