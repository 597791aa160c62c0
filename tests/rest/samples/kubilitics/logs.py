"""Kubilitics log samples (seed 002, "Logs"): a running pod of the world's `shop` app."""

from __future__ import annotations

from typing import Any

from tests.rest.samples import Request, Sample, sample
from tests.rest.world import NAMESPACE, World

PODS = (
    """query($c:ID!,$n:String!){ cluster(id:$c){ pods(namespace:$n, first:100){ nodes { name phase containers } } } }"""
)


async def running_pod(world: World) -> dict[str, Any]:
    """A running pod of the `shop` namespace with one container: its name and containers."""
    if "kubilitics pod" not in world.kept:
        found = await world.gql(PODS, {"c": world.cluster_id, "n": NAMESPACE})
        pods = found["cluster"]["pods"]["nodes"]
        world.kept["kubilitics pod"] = next(p for p in pods if p["phase"] == "Running" and len(p["containers"]) == 1)
    return dict(world.kept["kubilitics pod"])


@sample()
async def pod_logs(world: World) -> Request:
    pod = await running_pod(world)
    path = {"clusterId": world.cluster_id, "namespace": NAMESPACE, "pod": pod["name"]}
    return Request(path=path, query={"container": pod["containers"][0], "tail": 100, "since": "10m"})


SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", "/api/v1/clusters/{clusterId}/logs/{namespace}/{pod}"): pod_logs,
}
