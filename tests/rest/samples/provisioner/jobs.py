"""Provisioner samples: jobs (seed 004, "Job Management Endpoints")."""

from __future__ import annotations

from tests.rest.samples import Request, Sample, sample
from tests.rest.samples.provisioner.clusters import idle_node_cluster, worker_node
from tests.rest.world import World

DRAIN = "mutation($c:ID!,$n:String!){ drainNode(clusterId:$c, node:$n){ id } }"


@sample(foreign=False)
async def list_jobs(world: World) -> Request:
    return Request(query={"page": 1, "page_size": 20}, role="viewer")


@sample()
async def get_job(world: World) -> Request:
    """A drain queued on the node samples' cluster (the next node sample cancels it)."""
    cluster_id = await idle_node_cluster(world)
    drained = await world.gql(DRAIN, {"c": cluster_id, "n": await worker_node(world, cluster_id)})
    return Request(path={"id": drained["drainNode"]["id"]}, role="viewer")


SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", "/api/v1/jobs"): list_jobs,
    ("GET", "/api/v1/jobs/{id}"): get_job,
}
