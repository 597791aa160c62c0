"""Kubilitics's workload paths: how many workloads of each kind a cluster runs, a Deployment's
rollout history and rollback, a CronJob's Jobs and a run of it now, and a failed Job's retry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from app.rest.answers import Message
from app.rest.kubilitics.resources import KubeItem
from app.rest.rows import Call, Data, Row

DOC = "workloads.graphql"
TAG = "Kubilitics: workloads"
CLUSTER = "/api/v1/clusters/{clusterId}"
DEPLOYMENT = f"{CLUSTER}/resources/deployments/{{namespace}}/{{name}}"
CRONJOB = f"{CLUSTER}/resources/cronjobs/{{namespace}}/{{name}}"
JOB = f"{CLUSTER}/resources/jobs/{{namespace}}/{{name}}"
KINDS = ("deployments", "statefulsets", "daemonsets", "jobs", "cronjobs")


class WorkloadCounts(BaseModel):
    deployments: int
    statefulsets: int
    daemonsets: int
    jobs: int
    cronjobs: int


class Revision(BaseModel):
    revision: int
    creationTimestamp: datetime | None
    changeCause: str = Field(description="empty when the revision gives none")
    ready: int
    desired: int
    available: int
    images: list[str]


class RolloutHistory(BaseModel):
    revisions: list[Revision] = Field(description="oldest first")


class Rollback(BaseModel):
    revision: int | None = Field(None, description="the revision to go back to; none or 0: the previous one")


class Triggered(BaseModel):
    job_name: str
    message: str


class Jobs(BaseModel):
    items: list[KubeItem]


def _counts(value: Data, _: Call) -> dict[str, int]:
    return {kind: int((value.get(kind) or {}).get("totalCount") or 0) for kind in KINDS}


def _revisions(value: Data, _: Call) -> Data:
    """Each revision with its ReplicaSet's replicas now: desired, ready and available."""
    replica_sets = {one["name"]: one.get("raw") or {} for one in value.get("replicaSets") or []}
    revisions = []
    for revision in value.get("rolloutHistory") or []:
        status = replica_sets.get(revision["replicaSet"], {}).get("status") or {}
        revisions.append(
            {
                "revision": revision["revision"],
                "creationTimestamp": revision["createdAt"],
                "changeCause": revision["changeCause"] or "",
                "ready": int(status.get("readyReplicas") or 0),
                "desired": revision["replicas"],
                "available": int(status.get("availableReplicas") or 0),
                "images": revision["images"],
            }
        )
    return {"revisions": revisions}


def _rolled_back(_: Any, call: Call) -> Data:
    revision = call.fields().get("revision")
    target = f"revision {revision}" if revision else "the previous revision"
    return {"message": f"Deployment rolled back to {target}"}


def _triggered(value: Data, _: Call) -> Data:
    return {**value, "message": "CronJob triggered"}


def _owned_jobs(value: Data, _: Call) -> Data:
    """The Jobs the CronJob owns (by its uid), as the cluster wrote them."""
    uid = (value.get("cronJob") or {}).get("uid")
    items = []
    for job in value.get("jobs") or []:
        raw = job.get("raw") or {}
        owners = (raw.get("metadata") or {}).get("ownerReferences") or []
        if any(owner.get("kind") == "CronJob" and owner.get("uid") == uid for owner in owners):
            items.append(raw)
    return {"items": items}


def _retried(value: Data, _: Call) -> Data:
    return {"message": f"Job retried as {value['name']}"}


ROWS = [
    Row(
        "GET",
        f"{CLUSTER}/workloads",
        DOC,
        ("KubiliticsWorkloadCounts",),
        "Get workloads overview",
        TAG,
        pick="cluster",
        shape=_counts,
        response=WorkloadCounts,
    ),
    Row(
        "GET",
        f"{DEPLOYMENT}/rollout-history",
        DOC,
        ("KubiliticsRolloutHistory",),
        "Get deployment rollout history",
        TAG,
        shape=_revisions,
        response=RolloutHistory,
    ),
    Row(
        "POST",
        f"{DEPLOYMENT}/rollback",
        DOC,
        ("KubiliticsRollback",),
        "Rollback deployment to previous revision",
        TAG,
        body=Rollback,
        pick="rollbackDeployment",
        shape=_rolled_back,
        response=Message,
    ),
    Row(
        "POST",
        f"{CRONJOB}/trigger",
        DOC,
        ("KubiliticsTriggerCronJob",),
        "Trigger CronJob manually",
        TAG,
        pick="triggerCronJob",
        shape=_triggered,
        response=Triggered,
    ),
    Row(
        "GET",
        f"{CRONJOB}/jobs",
        DOC,
        ("KubiliticsCronJobJobs",),
        "List jobs created by CronJob",
        TAG,
        shape=_owned_jobs,
        response=Jobs,
    ),
    Row(
        "POST",
        f"{JOB}/retry",
        DOC,
        ("KubiliticsRetryJob",),
        "Retry failed job",
        TAG,
        pick="retryJob",
        shape=_retried,
        response=Message,
    ),
]
