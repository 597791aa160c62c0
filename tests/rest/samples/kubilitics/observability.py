"""Kubilitics metrics and events samples (seed 002, "Metrics" and "Events"), on the objects of the
world's cluster: its first node, and the first object of each workload kind (the `shop` app's,
where it has one)."""

from __future__ import annotations

from tests.rest.samples import Request, Sample, sample
from tests.rest.world import NAMESPACE, World

CLUSTER = "/api/v1/clusters/{clusterId}"
METRICS = f"{CLUSTER}/metrics"
OBJECTS = "query($c:ID!,$k:String!){ resources(clusterId:$c, kind:$k){ name namespace } }"
TRIGGER = "mutation($c:ID!,$n:String!,$j:String!){ triggerCronJob(clusterId:$c, namespace:$n, name:$j){ name } }"
KINDS = {
    "deployment": "Deployment",
    "replicaset": "ReplicaSet",
    "statefulset": "StatefulSet",
    "daemonset": "DaemonSet",
    "job": "Job",
    "cronjob": "CronJob",
}


async def first_of(world: World, kind: str) -> tuple[str, str]:
    """(namespace, name) of an object of `kind`, one of the `shop` namespace's where there is one."""
    key = f"kubilitics metrics {kind}"
    if key not in world.kept:
        found = (await world.gql(OBJECTS, {"c": world.cluster_id, "k": kind}))["resources"]
        if not found and kind == "Job":  # a run of the `shop` app's CronJob makes one
            await world.gql(TRIGGER, {"c": world.cluster_id, "n": NAMESPACE, "j": "report"}, role="operator")
            found = (await world.gql(OBJECTS, {"c": world.cluster_id, "k": kind}))["resources"]
        chosen = min(found, key=lambda o: (o["namespace"] != NAMESPACE, o["namespace"] or "", o["name"]))
        world.kept[key] = (chosen["namespace"] or "", chosen["name"])
    namespace, name = world.kept[key]
    return str(namespace), str(name)


def _cluster(world: World, **more: str) -> dict[str, str]:
    return {"clusterId": world.cluster_id, **more}


@sample()
async def summary(world: World) -> Request:
    return Request(path=_cluster(world))


@sample()
async def cluster_metrics(world: World) -> Request:
    return Request(path=_cluster(world))


@sample()
async def node_metrics(world: World) -> Request:
    _, name = await first_of(world, "Node")
    return Request(path=_cluster(world, nodeName=name))


@sample()
async def pod_metrics(world: World) -> Request:
    namespace, name = await first_of(world, "Pod")
    return Request(path=_cluster(world, namespace=namespace, pod=name))


def _workload(kind: str) -> Sample:
    @sample()
    async def build(world: World) -> Request:
        namespace, name = await first_of(world, kind)
        return Request(path=_cluster(world, namespace=namespace, name=name))

    return build


@sample()
async def events(world: World) -> Request:
    return Request(path=_cluster(world), query={"namespace": NAMESPACE, "limit": 10})


SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", f"{METRICS}/summary"): summary,
    ("GET", METRICS): cluster_metrics,
    ("GET", f"{METRICS}/nodes/{{nodeName}}"): node_metrics,
    **{("GET", f"{METRICS}/{{namespace}}/{segment}/{{name}}"): _workload(kind) for segment, kind in KINDS.items()},
    ("GET", f"{METRICS}/{{namespace}}/{{pod}}"): pod_metrics,
    ("GET", f"{CLUSTER}/events"): events,
}
