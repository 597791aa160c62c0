"""Job: run pods until spec.completions succeed (at most spec.parallelism at once), then Complete."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from kubesim.clock import format_time, parse_time
from kubesim.controllers.base import Context, Controller, Key
from kubesim.controllers.cache import PODS, controller_ref
from kubesim.controllers.util import condition_status, deleting, pod_ready, set_condition
from kubesim.controllers.workloads import create_pod, delete_pod, new_pod_name, pod_from_template, write_status
from kubesim.resources import ResourceType

JOBS = ("batch", "jobs")
COMPONENT = "job-controller"


def triggers(ctx: Context, event: str, rt: ResourceType, obj: dict[str, Any],
             old: dict[str, Any] | None) -> list[Key]:
    if rt.key == JOBS and event != "DELETED":
        return [(obj["metadata"].get("namespace", ""), obj["metadata"]["name"])]
    if rt.key == PODS:
        ref = controller_ref(obj)
        if ref and ref.get("kind") == "Job":
            return [(obj["metadata"].get("namespace", ""), str(ref["name"]))]
    return []


def finished(job: dict[str, Any]) -> str | None:
    for kind in ("Complete", "Failed"):
        if condition_status(job, kind) == "True":
            return kind
    return None


def _new_pod(ctx: Context, job: dict[str, Any], index: int | None) -> dict[str, Any]:
    name = job["metadata"]["name"]
    prefix = f"{name}-{index}-" if index is not None else f"{name}-"
    labels = {"batch.kubernetes.io/job-name": name, "job-name": name}
    uid = job["metadata"].get("uid", "")
    labels.update({"batch.kubernetes.io/controller-uid": uid, "controller-uid": uid})
    pod = pod_from_template(job["spec"]["template"], job, new_pod_name(ctx, job, prefix), labels)
    if index is not None:
        pod["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"] = str(index)
        pod["metadata"].setdefault("annotations", {})["batch.kubernetes.io/job-completion-index"] = str(index)
    return pod


def _indexes(pods: list[dict[str, Any]]) -> set[int]:
    found = set()
    for pod in pods:
        text = (pod["metadata"].get("annotations") or {}).get("batch.kubernetes.io/job-completion-index", "")
        if text.isdigit():
            found.add(int(text))
    return found


def _run(ctx: Context, job: dict[str, Any], pods: list[dict[str, Any]]) -> None:
    spec = job["spec"]
    active = [p for p in pods if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    succeeded = [p for p in pods if (p.get("status") or {}).get("phase") == "Succeeded"]
    completions = int(spec.get("completions") or 1)
    if spec.get("suspend"):
        for pod in active:
            delete_pod(ctx, job, pod, COMPONENT)
        return
    wanted = min(int(spec.get("parallelism", 1)), completions - len(succeeded)) - len(active)
    indexed = spec.get("completionMode") == "Indexed"
    free = sorted(set(range(completions)) - _indexes(succeeded) - _indexes(active)) if indexed else []
    for n in range(max(wanted, 0)):
        index = free[n] if indexed and n < len(free) else None
        if indexed and index is None:
            break
        create_pod(ctx, job, _new_pod(ctx, job, index), COMPONENT)


def _status(ctx: Context, job: dict[str, Any], pods: list[dict[str, Any]]) -> dict[str, Any]:
    spec, old = job["spec"], job.get("status") or {}
    phases = [(p.get("status") or {}).get("phase") for p in pods]
    active = sum(1 for phase in phases if phase not in ("Succeeded", "Failed"))
    succeeded, failed = phases.count("Succeeded"), phases.count("Failed")
    now = ctx.now()
    status: dict[str, Any] = {"startTime": old.get("startTime") or format_time(now), "terminating": 0,
                              "uncountedTerminatedPods": {}, "ready": sum(1 for p in pods if pod_ready(p))}
    for field, value in (("active", active), ("succeeded", succeeded), ("failed", failed)):
        if value:
            status[field] = value
    conditions = old.get("conditions") or []
    if spec.get("suspend"):
        conditions = set_condition(conditions, "Suspended", "True", "JobSuspended", "Job suspended", now)
    if succeeded >= int(spec.get("completions") or 1):
        conditions = set_condition(conditions, "SuccessCriteriaMet", "True", "CompletionsReached",
                                   "Reached expected number of succeeded pods", now)
        conditions = set_condition(conditions, "Complete", "True", "CompletionsReached",
                                   "Reached expected number of succeeded pods", now)
        status["completionTime"] = format_time(now)
        status.pop("active", None)
    elif failed > int(spec.get("backoffLimit", 6)):
        conditions = set_condition(conditions, "FailureTarget", "True", "BackoffLimitExceeded",
                                   "Job has reached the specified backoff limit", now)
        conditions = set_condition(conditions, "Failed", "True", "BackoffLimitExceeded",
                                   "Job has reached the specified backoff limit", now)
    if conditions:
        status["conditions"] = conditions
    return status


def _expire(ctx: Context, job: dict[str, Any], key: Key) -> None:
    ttl = job["spec"].get("ttlSecondsAfterFinished")
    done = (job.get("status") or {}).get("completionTime")
    if ttl is None or not done:
        return
    if ctx.wait_until(parse_time(done) + timedelta(seconds=int(ttl)), "jobs", key, instant_when_settling=False):
        ctx.state.delete(ctx.rt(*JOBS), key[0], key[1], propagation="Background")


def reconcile(ctx: Context, key: Key) -> None:
    job = ctx.obj(JOBS, key[0], key[1])
    if job is None or deleting(job):
        return
    if finished(job):
        _expire(ctx, job, key)
        return
    pods = [p for p in ctx.cache.owned(PODS, job) if not deleting(p)]
    status = _status(ctx, job, pods)
    if "completionTime" not in status and "Failed" not in {c["type"] for c in status.get("conditions", [])}:
        _run(ctx, job, pods)
        pods = [p for p in ctx.cache.owned(PODS, job) if not deleting(p)]
        status = _status(ctx, job, pods)
    write_status(ctx, JOBS, job, status)
    kind = finished({"status": status})
    if kind == "Complete":
        ctx.event(job, "Normal", "Completed", "Job completed", COMPONENT)
    elif kind == "Failed":
        ctx.event(job, "Warning", "BackoffLimitExceeded", "Job has reached the specified backoff limit",
                  COMPONENT)


CONTROLLER = Controller("jobs", triggers, reconcile)
