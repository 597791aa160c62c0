"""Kubilitics samples (seed 002): cluster management."""

from __future__ import annotations

import base64
import uuid

import yaml

from tests.rest.samples import Request, Sample, sample
from tests.rest.world import CLUSTER, World

CONFIRM = {"X-Confirm-Destructive": "true"}
REGISTER = "mutation($t:ID!,$in:RegisterClusterInput!){ registerCluster(tenantId:$t,input:$in){ id } }"


def _kubeconfig(world: World, context: str) -> str:
    """The world's kubesim kubeconfig, its one context renamed (a cluster's name is its context's)."""
    config = yaml.safe_load(world.fleet.kubeconfigs[CLUSTER].read_text())
    config["contexts"][0]["name"] = context
    config["current-context"] = context
    return yaml.safe_dump(config, sort_keys=False)


async def _victim_cluster(world: World) -> str:
    name = f"victim-{uuid.uuid4().hex[:8]}"
    kubeconfig = world.fleet.kubeconfigs[CLUSTER].read_text()
    created = await world.gql(REGISTER, {"t": world.tenant.id, "in": {"name": name, "kubeconfig": kubeconfig}})
    return str(created["registerCluster"]["id"])


def _on_cluster(world: World, role: str = "viewer") -> Request:
    return Request(path={"clusterId": world.cluster_id}, role=role)


@sample(foreign=False)
async def list_clusters(world: World) -> Request:
    return Request(role="viewer")


@sample(weak="operator", foreign=False, writes=True)
async def add_cluster(world: World) -> Request:
    context = f"added-{uuid.uuid4().hex[:8]}"
    encoded = base64.b64encode(_kubeconfig(world, context).encode()).decode()
    return Request(body={"kubeconfig_base64": encoded, "context": context})


@sample()
async def get_cluster(world: World) -> Request:
    return _on_cluster(world)


@sample(weak="operator", writes=True)
async def remove_cluster(world: World) -> Request:
    return Request(path={"clusterId": await _victim_cluster(world)}, headers=dict(CONFIRM))


@sample()
async def cluster_summary(world: World) -> Request:
    return _on_cluster(world)


@sample()
async def cluster_overview(world: World) -> Request:
    return _on_cluster(world)


@sample(weak="operator")
async def download_kubeconfig(world: World) -> Request:
    return _on_cluster(world, "tenant_admin")


@sample()
async def detect_metallb(world: World) -> Request:
    return _on_cluster(world)


SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", "/api/v1/clusters"): list_clusters,
    ("POST", "/api/v1/clusters"): add_cluster,
    ("GET", "/api/v1/clusters/{clusterId}"): get_cluster,
    ("DELETE", "/api/v1/clusters/{clusterId}"): remove_cluster,
    ("GET", "/api/v1/clusters/{clusterId}/summary"): cluster_summary,
    ("GET", "/api/v1/clusters/{clusterId}/overview"): cluster_overview,
    ("GET", "/api/v1/clusters/{clusterId}/kubeconfig"): download_kubeconfig,
    ("GET", "/api/v1/clusters/{clusterId}/features/metallb"): detect_metallb,
}
