"""HorizontalPodAutoscaler status: current replicas and CPU/memory utilization from the metrics
generator, refreshed every sync period.  Replica counts are only pulled into [minReplicas,
maxReplicas]; utilization-driven scaling is not simulated, so workloads keep a stable size."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from kubesim.controllers.base import Context, Controller, Key
from kubesim.controllers.cache import PODS, is_terminal
from kubesim.controllers.util import deleting, matches, set_condition
from kubesim.metrics import container_usage, sample_time
from kubesim.quantity import milli, whole
from kubesim.resources import ResourceType

HPAS = ("autoscaling", "horizontalpodautoscalers")
TARGETS = {"Deployment": ("apps", "deployments"), "StatefulSet": ("apps", "statefulsets"),
           "ReplicaSet": ("apps", "replicasets")}
SYNC_SECONDS = 15.0
COMPONENT = "horizontal-pod-autoscaler"


def triggers(ctx: Context, event: str, rt: ResourceType, obj: dict[str, Any],
             old: dict[str, Any] | None) -> list[Key]:
    if rt.key == HPAS and (event == "ADDED" or (event == "MODIFIED" and old and old.get("spec") != obj.get("spec"))):
        return [(obj["metadata"].get("namespace", ""), obj["metadata"]["name"])]
    if rt.key in TARGETS.values() and old is not None and old.get("status") != obj.get("status"):
        namespace, name = obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
        return [(namespace, h["metadata"]["name"]) for h in ctx.cache.in_namespace(HPAS, namespace)
                if (h.get("spec") or {}).get("scaleTargetRef", {}).get("name") == name]
    return []


def _pods(ctx: Context, target: dict[str, Any]) -> list[dict[str, Any]]:
    selector = (target.get("spec") or {}).get("selector")
    return [p for p in ctx.cache.in_namespace(PODS, target["metadata"].get("namespace", ""))
            if matches(selector, p["metadata"].get("labels")) and not is_terminal(p) and not deleting(p)
            and (p.get("status") or {}).get("phase") == "Running"]


def utilization(ctx: Context, pods: list[dict[str, Any]], resource: str) -> tuple[int, int] | None:
    """(average utilization of requests in percent, average usage in milli-units or bytes)."""
    at = sample_time(ctx.state)
    used = requested = 0
    for pod in pods:
        for container in pod["spec"].get("containers") or []:
            identity = f"{pod['metadata'].get('namespace')}/{pod['metadata']['name']}/{container['name']}"
            cpu, memory = container_usage(identity, container, at)
            request = ((container.get("resources") or {}).get("requests") or {}).get(resource)
            used += int(cpu * 1000) if resource == "cpu" else int(memory)
            requested += (milli(request) if resource == "cpu" else whole(request)) if request else 0
    if not pods or not requested:
        return None
    return used * 100 // requested, used // len(pods)


def _metric(ctx: Context, spec: dict[str, Any], pods: list[dict[str, Any]]) -> dict[str, Any] | None:
    resource = (spec.get("resource") or {}).get("name", "cpu")
    found = utilization(ctx, pods, resource) if spec.get("type") == "Resource" else None
    if found is None:
        return None
    percent, average = found
    value = f"{average}m" if resource == "cpu" else str(average)
    return {"type": "Resource", "resource": {"name": resource, "current": {
        "averageUtilization": percent, "averageValue": value}}}


def _clamp(ctx: Context, hpa: dict[str, Any], target: dict[str, Any], key: tuple[str, str]) -> int:
    spec = hpa["spec"]
    current = int((target.get("spec") or {}).get("replicas", 1))
    wanted = min(max(current, int(spec.get("minReplicas", 1))), int(spec["maxReplicas"]))
    if wanted != current:
        fresh = ctx.state.get(ctx.rt(*key), target["metadata"].get("namespace"), target["metadata"]["name"])
        if fresh is not None:
            fresh["spec"]["replicas"] = wanted
            ctx.state.update(ctx.rt(*key), fresh)
            ctx.event(hpa, "Normal", "SuccessfulRescale",
                      f"New size: {wanted}; reason: Current number of replicas "
                      f"{'below Spec.MinReplicas' if wanted > current else 'above Spec.MaxReplicas'}", COMPONENT)
    return wanted


def _status(ctx: Context, hpa: dict[str, Any], replicas: int, metrics: list[dict[str, Any]]) -> dict[str, Any]:
    now, old = ctx.now(), hpa.get("status") or {}
    conditions = set_condition(old.get("conditions") or [], "AbleToScale", "True", "ReadyForNewScale",
                               "recommended size matches current size", now)
    active = ("True", "ValidMetricFound", "the HPA was able to successfully calculate a replica count from cpu "
              "resource utilization (percentage of request)") if metrics else (
        "False", "FailedGetResourceMetric", "the HPA was unable to compute the replica count: no metrics returned")
    conditions = set_condition(conditions, "ScalingActive", *active, now)
    conditions = set_condition(conditions, "ScalingLimited", "False", "DesiredWithinRange",
                               "the desired count is within the acceptable range", now)
    status: dict[str, Any] = {"currentReplicas": replicas, "desiredReplicas": replicas, "conditions": conditions}
    if metrics:
        status["currentMetrics"] = metrics
    if old.get("lastScaleTime"):
        status["lastScaleTime"] = old["lastScaleTime"]
    return status


def reconcile(ctx: Context, key: Key) -> None:
    hpa = ctx.obj(HPAS, key[0], key[1])
    if hpa is None or deleting(hpa):
        return
    ref = hpa["spec"].get("scaleTargetRef") or {}
    target_key = TARGETS.get(ref.get("kind", ""))
    target = ctx.obj(target_key, key[0], ref.get("name", "")) if target_key else None
    ctx.wait_until(ctx.now() + timedelta(seconds=SYNC_SECONDS), "hpa", key, instant_when_settling=False)
    if target is None or target_key is None:
        return
    replicas = _clamp(ctx, hpa, target, target_key)
    pods = _pods(ctx, target)
    metrics = [m for m in (_metric(ctx, spec, pods) for spec in hpa["spec"].get("metrics") or []) if m]
    status = _status(ctx, hpa, replicas, metrics)
    if status != (hpa.get("status") or {}):
        fresh = ctx.state.get(ctx.rt(*HPAS), key[0], key[1])
        if fresh is not None:
            fresh["status"] = status
            ctx.state.update(ctx.rt(*HPAS), fresh, subresource="status")


CONTROLLER = Controller("hpa", triggers, reconcile)
