"""Rollouts and runs: Deployment history, rollback and restart, CronJob trigger, Job retry.

History and rollback follow kubectl: a Deployment's revisions are its ReplicaSets, numbered by
their ``deployment.kubernetes.io/revision`` annotation, and rolling back copies a revision's pod
template (without ``pod-template-hash``) into the Deployment.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app import validation
from app.context import RequestContext
from app.db.models import Cluster
from app.errors import BadUserInput, FieldErrors, NotFound
from resolvers import kube
from resolvers.kube_writes import Obj, meta, suffix, writing
from resolvers.workloads import images, workload_status

REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
HASH = "pod-template-hash"
JOB_CONTROLLER_LABELS = (
    "controller-uid",
    "batch.kubernetes.io/controller-uid",
    "job-name",
    "batch.kubernetes.io/job-name",
)


@dataclass
class Revision:
    revision: int
    replica_set: str
    images: list[str]
    created_at: str | None
    replicas: int
    change_cause: str | None
    current: bool


def _revision(obj: Obj) -> int:
    try:
        return int((meta(obj).get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def _owned_by(rs: Obj, deployment: Obj) -> bool:
    uid = meta(deployment).get("uid")
    return any(
        ref.get("kind") == "Deployment" and ref.get("uid") == uid for ref in meta(rs).get("ownerReferences") or []
    )


def revisions(deployment: Obj, replica_sets: list[Obj]) -> list[Revision]:
    """The Deployment's revisions, oldest first (pure: no I/O)."""
    current = _revision(deployment)
    owned = sorted((rs for rs in replica_sets if _owned_by(rs, deployment)), key=_revision)
    return [
        Revision(
            revision=_revision(rs),
            replica_set=meta(rs).get("name", ""),
            images=images(rs),
            created_at=meta(rs).get("creationTimestamp"),
            replicas=int((rs.get("spec") or {}).get("replicas") or 0),
            change_cause=(meta(rs).get("annotations") or {}).get(CHANGE_CAUSE),
            current=_revision(rs) == current,
        )
        for rs in owned
        if _revision(rs) > 0
    ]


async def rollout_history(ctx: RequestContext, cluster_id: str, namespace: str, name: str) -> list[Revision]:
    """From the watch-fed caches, like every read of the cluster."""
    errors = FieldErrors()
    validation.kube_object(errors, "Deployment", namespace, name)
    errors.raise_if_any()
    deployment = next(
        (
            d
            for d in await kube.items(ctx, cluster_id, "Deployment")
            if meta(d).get("namespace") == namespace and meta(d).get("name") == name
        ),
        None,
    )
    if deployment is None:
        raise NotFound(f"deployment {namespace}/{name} not found")
    replica_sets = kube.select(await kube.items(ctx, cluster_id, "ReplicaSet"), namespace)
    return revisions(deployment, replica_sets)


def _bare_template(rs: Obj) -> Obj:
    template = copy.deepcopy((rs.get("spec") or {}).get("template") or {})
    labels = (template.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(HASH, None)
    return template


async def rollback_deployment(ctx: RequestContext, cluster: Cluster, namespace: str, name: str, revision: int) -> Obj:
    """Back to ``revision`` (0: the one before the current); unchanged when already on that template."""
    if revision < 0:
        raise BadUserInput.field("revision", "must be zero (the previous revision) or a revision number")
    async with writing(ctx, cluster) as w:
        deployment = await w.client.get("Deployment", namespace, name)
        history = [rs for rs in (await w.client.list("ReplicaSet", namespace)).items if _owned_by(rs, deployment)]
        history = sorted((rs for rs in history if _revision(rs) > 0), key=_revision)
        current = _revision(deployment)
        if revision == 0:
            older = [rs for rs in history if _revision(rs) < current]
            if not older:
                raise NotFound(f"deployment {namespace}/{name} has no revision before {current}")
            target = older[-1]
        else:
            found = [rs for rs in history if _revision(rs) == revision]
            if not found:
                raise NotFound(f"revision {revision} of deployment {namespace}/{name} not found")
            target = found[0]
        template = _bare_template(target)
        if template == (deployment.get("spec") or {}).get("template"):
            return deployment  # kubectl: "skipped rollback (current template already matches revision N)"
        patch = [{"op": "replace", "path": "/spec/template", "value": template}]
        result = await w.client.patch("Deployment", namespace, name, patch, "json")
        changes = {"fromRevision": current, "toRevision": _revision(target), "replicaSet": meta(target).get("name")}
        await w.audit("deployment.rolled_back", "Deployment", namespace, name, changes)
    return result


async def restart_deployment(ctx: RequestContext, cluster: Cluster, namespace: str, name: str) -> Obj:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}}
    async with writing(ctx, cluster) as w:
        result = await w.client.patch("Deployment", namespace, name, patch, "strategic")
        await w.audit("deployment.restarted", "Deployment", namespace, name, {"restartedAt": now})
    return result


def job_from_cronjob(cronjob: Obj) -> Obj:
    """A Job from the CronJob's jobTemplate, owned by it, as ``kubectl create job --from=cronjob/...``."""
    template = (cronjob.get("spec") or {}).get("jobTemplate") or {}
    template_meta = template.get("metadata") or {}
    name = f"{meta(cronjob)['name'][:46]}-manual-{suffix()}"
    owner = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "name": meta(cronjob)["name"],
        "uid": meta(cronjob).get("uid"),
        "controller": True,
        "blockOwnerDeletion": True,
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": meta(cronjob).get("namespace"),
            "labels": dict(template_meta.get("labels") or {}),
            "annotations": {**(template_meta.get("annotations") or {}), "cronjob.kubernetes.io/instantiate": "manual"},
            "ownerReferences": [owner],
        },
        "spec": copy.deepcopy(template.get("spec") or {}),
    }


async def trigger_cronjob(ctx: RequestContext, cluster: Cluster, namespace: str, name: str) -> Obj:
    async with writing(ctx, cluster) as w:
        cronjob = await w.client.get("CronJob", namespace, name)
        job = await w.client.create("Job", namespace, job_from_cronjob(cronjob))
        await w.audit("cronjob.triggered", "CronJob", namespace, name, {"job": meta(job).get("name")})
    return job


def _without_controller_labels(labels: Any) -> dict[str, str]:
    return {k: v for k, v in (labels or {}).items() if k not in JOB_CONTROLLER_LABELS}


def job_retry(job: Obj) -> Obj:
    """A new Job from a Job's template, without what the Job controller generated (selector, labels)."""
    spec = copy.deepcopy(job.get("spec") or {})
    if not spec.get("manualSelector"):
        spec.pop("selector", None)
    template = spec.setdefault("template", {})
    template_meta = template.setdefault("metadata", {})
    template_meta["labels"] = _without_controller_labels(template_meta.get("labels"))
    base = meta(job)["name"].split("-retry-")[0][:50]
    annotations = {k: v for k, v in (meta(job).get("annotations") or {}).items() if not k.startswith("batch.")}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": f"{base}-retry-{suffix()}",
            "namespace": meta(job).get("namespace"),
            "labels": _without_controller_labels(meta(job).get("labels")),
            "annotations": {**annotations, "fleetgraph.io/retry-of": meta(job)["name"]},
        },
        "spec": spec,
    }


async def retry_job(ctx: RequestContext, cluster: Cluster, namespace: str, name: str) -> Obj:
    async with writing(ctx, cluster) as w:
        job = await w.client.get("Job", namespace, name)
        if workload_status(job) != "failed":
            raise BadUserInput.field("name", f"job {namespace}/{name} has not failed; only a failed job is retried")
        retried = await w.client.create("Job", namespace, job_retry(job))
        await w.audit("job.retried", "Job", namespace, name, {"job": meta(retried).get("name")})
    return retried
