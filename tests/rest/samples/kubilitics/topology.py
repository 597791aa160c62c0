"""Kubilitics samples (seed 002): topology graphs and exports."""

from __future__ import annotations

from resolvers.topology import KINDS
from tests.rest.samples import Request, Sample, sample
from tests.rest.world import NAMESPACE, World

WARM = "query($c:ID!,$k:[String!]){ topology(clusterId:$c, kinds:$k){ meta { nodeCount } } }"
BURST = 5  # kinds read at once: within the cluster client's burst, so no LIST waits past the tests' 2 s
DEPLOYMENT = """query($c:ID!,$ns:String!){
  cluster(id:$c){ workloads(kind:"Deployment", namespace:$ns, first:1){ nodes { name } } }
}"""


async def _a_deployment(world: World) -> str:
    found = await world.gql(DEPLOYMENT, {"c": world.cluster_id, "ns": NAMESPACE}, role="viewer")
    return str(found["cluster"]["workloads"]["nodes"][0]["name"])


async def _warm(world: World) -> None:
    """Start the caches a whole graph reads, a few kinds at a time: a cold graph's LISTs would
    queue behind the client's rate limit longer than the tests' upstream timeout. Warm, it reads nothing."""
    for start in range(0, len(KINDS), BURST):
        await world.gql(WARM, {"c": world.cluster_id, "k": list(KINDS[start : start + BURST])}, role="viewer")


@sample()
async def cluster_topology(world: World) -> Request:
    await _warm(world)
    query = {"namespace": NAMESPACE, "force_refresh": "true"}
    return Request(path={"clusterId": world.cluster_id}, query=query, role="viewer")


@sample()
async def resource_topology(world: World) -> Request:
    await _warm(world)
    path = {"clusterId": world.cluster_id, "kind": "Deployment", "namespace": NAMESPACE}
    return Request(path={**path, "name": await _a_deployment(world)}, role="viewer")


@sample()
async def export_topology(world: World) -> Request:
    await _warm(world)
    body = {"format": "png", "namespace": NAMESPACE}
    return Request(path={"clusterId": world.cluster_id}, body=body, role="viewer")


@sample()
async def export_drawio(world: World) -> Request:
    await _warm(world)
    return Request(path={"clusterId": world.cluster_id}, query={"namespace": NAMESPACE}, role="viewer")


SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", "/api/v1/clusters/{clusterId}/topology"): cluster_topology,
    ("GET", "/api/v1/clusters/{clusterId}/topology/resource/{kind}/{namespace}/{name}"): resource_topology,
    ("POST", "/api/v1/clusters/{clusterId}/topology/export"): export_topology,
    ("GET", "/api/v1/clusters/{clusterId}/topology/export/drawio"): export_drawio,
}
