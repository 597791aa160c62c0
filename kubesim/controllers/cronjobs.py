"""CronJob: create a Job for each scheduled time, honour concurrencyPolicy, keep limited history."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from kubesim.clock import format_time, parse_time
from kubesim.controllers import cron
from kubesim.controllers.base import Context, Controller, Key
from kubesim.controllers.cache import controller_ref
from kubesim.controllers.jobs import JOBS, finished
from kubesim.controllers.util import deleting, owner_ref
from kubesim.controllers.workloads import write_status
from kubesim.errors import ApiError
from kubesim.resources import ResourceType

CRONJOBS = ("batch", "cronjobs")
COMPONENT = "cronjob-controller"
MISSED_LIMIT = 100


def triggers(ctx: Context, event: str, rt: ResourceType, obj: dict[str, Any],
             old: dict[str, Any] | None) -> list[Key]:
    if rt.key == CRONJOBS and event != "DELETED":
        return [(obj["metadata"].get("namespace", ""), obj["metadata"]["name"])]
    if rt.key == JOBS:
        ref = controller_ref(obj)
        if ref and ref.get("kind") == "CronJob":
            return [(obj["metadata"].get("namespace", ""), str(ref["name"]))]
    return []


def _latest_due(schedule: cron.Schedule, since: datetime, now: datetime, tz: str | None) -> datetime | None:
    latest = None
    moment = schedule.next_after(since, tz)
    for _ in range(MISSED_LIMIT):
        if moment > now:
            break
        latest = moment
        moment = schedule.next_after(moment, tz)
    return latest


def _job_for(cj: dict[str, Any], scheduled: datetime) -> dict[str, Any]:
    template = copy.deepcopy(cj["spec"].get("jobTemplate") or {})
    meta = template.get("metadata") or {}
    name = f"{cj['metadata']['name']}-{int(scheduled.timestamp() // 60)}"
    return {"metadata": {"name": name, "namespace": cj["metadata"].get("namespace"),
                         "labels": dict(meta.get("labels") or {}),
                         "annotations": {**(meta.get("annotations") or {}),
                                         "batch.kubernetes.io/cronjob-scheduled-timestamp": format_time(scheduled)},
                         "ownerReferences": [owner_ref(cj)]},
            "spec": template.get("spec") or {}}


def _fire(ctx: Context, cj: dict[str, Any], scheduled: datetime, active: list[dict[str, Any]]) -> bool:
    policy = cj["spec"].get("concurrencyPolicy", "Allow")
    if active and policy == "Forbid":
        ctx.event(cj, "Normal", "JobAlreadyActive", "Not starting job because prior execution is running "
                  "and concurrency policy is Forbid", COMPONENT)
        return False
    if active and policy == "Replace":
        for job in active:
            ctx.state.delete(ctx.rt(*JOBS), job["metadata"].get("namespace"), job["metadata"]["name"],
                             propagation="Background")
            ctx.event(cj, "Normal", "SuccessfulDelete", f"Deleted job {job['metadata']['name']}", COMPONENT)
    try:
        job = ctx.state.create(ctx.rt(*JOBS), _job_for(cj, scheduled))
    except ApiError as exc:
        if exc.code != 409:
            raise
        return True
    ctx.event(cj, "Normal", "SuccessfulCreate", f"Created job {job['metadata']['name']}", COMPONENT)
    return True


def _history(ctx: Context, cj: dict[str, Any], jobs: list[dict[str, Any]]) -> None:
    for kind, field, default in (("Complete", "successfulJobsHistoryLimit", 3),
                                 ("Failed", "failedJobsHistoryLimit", 1)):
        done = sorted((j for j in jobs if finished(j) == kind), key=lambda j: j["metadata"]["creationTimestamp"])
        limit = int(cj["spec"].get(field, default))
        for job in done[: max(len(done) - limit, 0)]:
            ctx.state.delete(ctx.rt(*JOBS), job["metadata"].get("namespace"), job["metadata"]["name"],
                             propagation="Background")
            ctx.event(cj, "Normal", "SuccessfulDelete", f"Deleted job {job['metadata']['name']}", COMPONENT)


def _status(cj: dict[str, Any], jobs: list[dict[str, Any]], last: str | None) -> dict[str, Any]:
    status: dict[str, Any] = {}
    active = [j for j in jobs if not finished(j)]
    if active:
        status["active"] = [{"kind": "Job", "namespace": j["metadata"].get("namespace"),
                             "name": j["metadata"]["name"], "uid": j["metadata"].get("uid"),
                             "apiVersion": "batch/v1", "resourceVersion": j["metadata"].get("resourceVersion")}
                            for j in sorted(active, key=lambda j: j["metadata"]["name"])]
    if last:
        status["lastScheduleTime"] = last
    succeeded = [j["status"]["completionTime"] for j in jobs if finished(j) == "Complete"
                 and (j.get("status") or {}).get("completionTime")]
    previous = (cj.get("status") or {}).get("lastSuccessfulTime")
    best = max([*succeeded, *([previous] if previous else [])], default=None)
    if best:
        status["lastSuccessfulTime"] = best
    return status


def reconcile(ctx: Context, key: Key) -> None:
    cj = ctx.obj(CRONJOBS, key[0], key[1])
    if cj is None or deleting(cj):
        return
    jobs = [j for j in ctx.cache.owned(JOBS, cj) if not deleting(j)]
    last = (cj.get("status") or {}).get("lastScheduleTime")
    tz = cj["spec"].get("timeZone")
    try:
        schedule = cron.parse(cj["spec"]["schedule"])
    except cron.CronError as exc:
        ctx.event(cj, "Warning", "UnparseableSchedule", f"unparseable schedule: {exc}", COMPONENT)
        return
    now = ctx.now()
    since = parse_time(last or cj["metadata"]["creationTimestamp"])
    due = _latest_due(schedule, since, now, tz)
    if due is not None and not cj["spec"].get("suspend") and _fire(ctx, cj, due, [j for j in jobs if not finished(j)]):
        last = format_time(due)
        jobs = [j for j in ctx.cache.owned(JOBS, cj) if not deleting(j)]
    _history(ctx, cj, jobs)
    write_status(ctx, CRONJOBS, cj, _status(cj, [j for j in ctx.cache.owned(JOBS, cj) if not deleting(j)], last))
    ctx.wait_until(schedule.next_after(now, tz), "cronjobs", key, instant_when_settling=False)


CONTROLLER = Controller("cronjobs", triggers, reconcile)
