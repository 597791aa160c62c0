"""The disruption controller: keeps each PodDisruptionBudget's status (healthy, desired and expected pods,
disruptions allowed) current, and forgets pods an eviction marked as disrupted once they are gone or
once DELETION_TIMEOUT has passed without their deletion."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from kubesim.clock import format_time, parse_time
from kubesim.controllers.base import Context, Controller, Key
from kubesim.controllers.cache import PODS, TypeKey, controller_ref
from kubesim.controllers.util import deleting, int_or_percent, pod_ready
from kubesim.resources import ResourceType
from kubesim.selectors import match_label_selector

PDBS: TypeKey = ("policy", "poddisruptionbudgets")
DELETION_TIMEOUT = timedelta(minutes=2)
_SCALED: dict[str, TypeKey] = {"ReplicaSet": ("apps", "replicasets"), "StatefulSet": ("apps", "statefulsets")}
_OWNERS = {("apps", "replicasets"), ("apps", "statefulsets"), ("apps", "deployments")}


class SyncFailed(Exception):
    pass


def budgets_for(ctx: Context, namespace: str, labels: dict[str, str]) -> list[Key]:
    return [(namespace, pdb["metadata"]["name"]) for pdb in ctx.cache.in_namespace(PDBS, namespace)
            if match_label_selector((pdb.get("spec") or {}).get("selector"), labels)]


def triggers(ctx: Context, event: str, rt: ResourceType, obj: dict[str, Any],
             old: dict[str, Any] | None) -> list[Key]:
    namespace = obj["metadata"].get("namespace", "")
    if rt.key == PDBS:
        return [] if event == "DELETED" else [(namespace, obj["metadata"]["name"])]
    if rt.key == PODS:
        keys = budgets_for(ctx, namespace, obj["metadata"].get("labels") or {})
        if old is not None:
            keys += budgets_for(ctx, namespace, old["metadata"].get("labels") or {})
        return keys
    if rt.key in _OWNERS and (old is None or (old.get("spec") or {}).get("replicas")
                              != (obj.get("spec") or {}).get("replicas")):
        return [(namespace, pdb["metadata"]["name"]) for pdb in ctx.cache.in_namespace(PDBS, namespace)]
    return []


def _scale_of(ctx: Context, namespace: str, ref: dict[str, Any]) -> tuple[str, int] | None:
    """The controller that decides how many of these pods should exist: (uid, replicas)."""
    key = _SCALED.get(ref.get("kind", ""))
    owner = ctx.obj(key, namespace, ref.get("name", "")) if key else None
    if owner is None or owner["metadata"].get("uid") != ref.get("uid"):
        return None
    parent = controller_ref(owner)
    if ref.get("kind") == "ReplicaSet" and parent is not None and parent.get("kind") == "Deployment":
        deployment = ctx.obj(("apps", "deployments"), namespace, parent.get("name", ""))
        if deployment is not None and deployment["metadata"].get("uid") == parent.get("uid"):
            owner = deployment
    return owner["metadata"]["uid"], int((owner.get("spec") or {}).get("replicas", 1))


def expected_scale(ctx: Context, pods: list[dict[str, Any]]) -> int:
    scales: dict[str, int] = {}
    for pod in pods:
        ref = controller_ref(pod)
        if ref is None:
            raise SyncFailed(f'found no controller ref for pod "{pod["metadata"]["name"]}"')
        found = _scale_of(ctx, pod["metadata"].get("namespace", ""), ref)
        if found is None:
            raise SyncFailed(f'found no controllers for pod "{pod["metadata"]["name"]}"')
        scales[found[0]] = found[1]
    return sum(scales.values())


def expected_counts(ctx: Context, spec: dict[str, Any], pods: list[dict[str, Any]]) -> tuple[int, int]:
    """(expected pods, desired healthy) as the disruption controller's getExpectedPodCount computes them."""
    max_unavailable, min_available = spec.get("maxUnavailable"), spec.get("minAvailable")
    if max_unavailable is not None:
        expected = expected_scale(ctx, pods)
        return expected, max(expected - int_or_percent(max_unavailable, expected, True), 0)
    if isinstance(min_available, int):
        return len(pods), min_available
    if min_available is not None:
        expected = expected_scale(ctx, pods)
        return expected, int_or_percent(min_available, expected, True)
    return 0, 0


def disrupted(pdb: dict[str, Any], pods: list[dict[str, Any]], now: datetime) -> tuple[dict[str, str], datetime | None]:
    """The still-pending evictions, and when the next of them expires."""
    marked = (pdb.get("status") or {}).get("disruptedPods") or {}
    kept: dict[str, str] = {}
    next_expiry: datetime | None = None
    for pod in pods:
        name = pod["metadata"]["name"]
        if name not in marked or deleting(pod):
            continue
        expiry = parse_time(marked[name]) + DELETION_TIMEOUT
        if expiry <= now:
            continue
        kept[name] = marked[name]
        next_expiry = expiry if next_expiry is None else min(next_expiry, expiry)
    return kept, next_expiry


def condition(pdb: dict[str, Any], allowed: int, now: datetime, failure: str | None = None) -> dict[str, Any]:
    status, reason = ("True", "SufficientPods") if allowed > 0 else ("False", "InsufficientPods")
    if failure is not None:
        status, reason = "False", "SyncFailed"
    previous = {c.get("type"): c for c in (pdb.get("status") or {}).get("conditions") or []}.get(
        "DisruptionAllowed", {})
    since = previous.get("lastTransitionTime") if previous.get("status") == status else format_time(now)
    return {"type": "DisruptionAllowed", "status": status, "observedGeneration": pdb["metadata"].get("generation", 1),
            "lastTransitionTime": since, "reason": reason, "message": failure or ""}


def _compute(ctx: Context, pdb: dict[str, Any], pods: list[dict[str, Any]]) -> tuple[dict[str, Any], datetime | None]:
    now = ctx.now()
    generation = pdb["metadata"].get("generation", 1)
    try:
        expected, desired = expected_counts(ctx, pdb.get("spec") or {}, pods)
    except SyncFailed as failure:
        ctx.event(pdb, "Warning", "CalculateExpectedPodCountFailed",
                  f"Failed to calculate the number of expected pods: {failure}", "controllermanager")
        old = pdb.get("status") or {}
        return {**old, "disruptionsAllowed": 0, "observedGeneration": generation,
                "conditions": [condition(pdb, 0, now, str(failure))]}, None
    kept, next_expiry = disrupted(pdb, pods, now)
    healthy = sum(1 for pod in pods if not deleting(pod) and pod["metadata"]["name"] not in kept and pod_ready(pod))
    allowed = healthy - desired if expected > 0 and healthy > desired else 0
    status: dict[str, Any] = {"observedGeneration": generation, "disruptionsAllowed": allowed,
                              "currentHealthy": healthy, "desiredHealthy": desired, "expectedPods": expected,
                              "conditions": [condition(pdb, allowed, now)]}
    if kept:
        status["disruptedPods"] = kept
    return status, next_expiry


def reconcile(ctx: Context, key: Key) -> None:
    pdb = ctx.obj(PDBS, key[0], key[1])
    if pdb is None or deleting(pdb):
        return
    selector = (pdb.get("spec") or {}).get("selector")
    pods = [p for p in ctx.cache.in_namespace(PODS, key[0])
            if match_label_selector(selector, p["metadata"].get("labels") or {})]
    if not pods and not pdb.get("status", {}).get("observedGeneration"):
        ctx.event(pdb, "Normal", "NoPods", "No matching pods found", "controllermanager")
    status, next_expiry = _compute(ctx, pdb, pods)
    if next_expiry is not None:
        ctx.after((next_expiry - ctx.now()).total_seconds(), "disruption", key)
    if status == pdb.get("status"):
        return
    fresh = ctx.state.get(ctx.rt(*PDBS), key[0], key[1])
    if fresh is not None:
        fresh["status"] = status
        ctx.state.update(ctx.rt(*PDBS), fresh, subresource="status")


CONTROLLER = Controller("disruption", triggers, reconcile)
