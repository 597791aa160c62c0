"""Kubilitics samples (seed 002): workload counts, rollouts, CronJob runs and Job retries."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.rest.samples import Request, Sample, sample
from tests.rest.samples.kubilitics.resources import APPLY, cached
from tests.rest.world import NAMESPACE, World
from tests.support.waiting import eventually

CLUSTER = "/api/v1/clusters/{clusterId}"
RESOURCES = f"{CLUSTER}/resources"
CRONJOB = "report"  # the small profile's CronJob in the shop namespace
HISTORY = "query($c:ID!,$n:String!,$d:String!){ rolloutHistory(clusterId:$c, namespace:$n, name:$d){ revision } }"
PATCH = """mutation($c:ID!,$n:String!,$d:String!,$p:JSON!){
  patchResource(clusterId:$c, kind:"Deployment", namespace:$n, name:$d, patch:$p){ name } }"""
TRIGGER = "mutation($c:ID!,$n:String!,$j:String!){ triggerCronJob(clusterId:$c, namespace:$n, name:$j){ name } }"


def _deployment(name: str, image: str) -> dict[str, Any]:
    labels = {"app": name}
    container = {"name": "app", "image": image}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        },
    }


async def _revisions(world: World, name: str, count: int) -> None:
    async def enough() -> bool:
        variables = {"c": world.cluster_id, "n": NAMESPACE, "d": name}
        return len((await world.gql(HISTORY, variables))["rolloutHistory"]) >= count

    await eventually(enough, 20, f"{count} revisions of {name}")


async def _two_revisions(world: World) -> str:
    """A Deployment of its own, rolled out twice (two images, two ReplicaSets)."""
    name = f"kubilitics-roll-{uuid.uuid4().hex[:6]}"
    manifest = _deployment(name, "nginx:1.25")
    await world.gql(APPLY, {"c": world.cluster_id, "y": json.dumps(manifest)}, role="operator")
    await _revisions(world, name, 1)
    image = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.26"}]}}}}
    await world.gql(PATCH, {"c": world.cluster_id, "n": NAMESPACE, "d": name, "p": image}, role="operator")
    await _revisions(world, name, 2)
    return name


async def _failed_job(world: World) -> str:
    """A Job of its own whose one pod fails (kubesim's `fail` annotation), once it has failed."""
    name = f"kubilitics-migrate-{uuid.uuid4().hex[:6]}"
    annotations = {"kubesim.io/run-seconds": "1", "kubesim.io/fail": "true"}
    template = {
        "metadata": {"annotations": annotations},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "task", "image": "busybox:1.36"}]},
    }
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"backoffLimit": 0, "template": template},
    }
    await world.gql(APPLY, {"c": world.cluster_id, "y": json.dumps(job)}, role="operator")

    async def failed() -> bool:
        raw = await cached(world, "Job", NAMESPACE, name)
        conditions = (raw.get("status") or {}).get("conditions") or []
        return any(c.get("type") == "Failed" and c.get("status") == "True" for c in conditions)

    await eventually(failed, 30, f"job {name} failed")
    return name


async def _cronjob_ran(world: World) -> None:
    """The CronJob has run at least once, and the caches hold that Job."""
    if "kubilitics cronjob run" in world.kept:
        return
    variables = {"c": world.cluster_id, "n": NAMESPACE, "j": CRONJOB}
    job = (await world.gql(TRIGGER, variables, role="operator"))["triggerCronJob"]["name"]
    await cached(world, "Job", NAMESPACE, job)
    world.kept["kubilitics cronjob run"] = job


def _on_cluster(world: World, **path: str) -> dict[str, str]:
    return {"clusterId": world.cluster_id, **path}


@sample()
async def workload_counts(world: World) -> Request:
    return Request(path=_on_cluster(world))


@sample()
async def rollout_history(world: World) -> Request:
    return Request(path=_on_cluster(world, namespace=NAMESPACE, name="web"))


@sample(weak="viewer", writes=True)
async def rollback(world: World) -> Request:
    name = await _two_revisions(world)
    return Request(path=_on_cluster(world, namespace=NAMESPACE, name=name), body={"revision": 1})


@sample(weak="viewer", writes=True)
async def trigger_cronjob(world: World) -> Request:
    return Request(path=_on_cluster(world, namespace=NAMESPACE, name=CRONJOB))


@sample()
async def cronjob_jobs(world: World) -> Request:
    await _cronjob_ran(world)
    return Request(path=_on_cluster(world, namespace=NAMESPACE, name=CRONJOB))


@sample(weak="viewer", writes=True)
async def retry_job(world: World) -> Request:
    return Request(path=_on_cluster(world, namespace=NAMESPACE, name=await _failed_job(world)))


SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", f"{CLUSTER}/workloads"): workload_counts,
    ("GET", f"{RESOURCES}/deployments/{{namespace}}/{{name}}/rollout-history"): rollout_history,
    ("POST", f"{RESOURCES}/deployments/{{namespace}}/{{name}}/rollback"): rollback,
    ("POST", f"{RESOURCES}/cronjobs/{{namespace}}/{{name}}/trigger"): trigger_cronjob,
    ("GET", f"{RESOURCES}/cronjobs/{{namespace}}/{{name}}/jobs"): cronjob_jobs,
    ("POST", f"{RESOURCES}/jobs/{{namespace}}/{{name}}/retry"): retry_job,
}
