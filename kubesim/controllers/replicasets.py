"""ReplicaSet: keep spec.replicas pods alive, and report how many are ready and available."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from kubesim.controllers.base import Context, Controller, Key
from kubesim.controllers.cache import PODS, controller_ref
from kubesim.controllers.util import deleting, pod_available, pod_ready, ready_since
from kubesim.controllers.workloads import (
    adopt,
    create_pod,
    delete_pod,
    deletion_order,
    live_pods,
    new_pod_name,
    pod_from_template,
    write_status,
)
from kubesim.resources import ResourceType

REPLICASETS = ("apps", "replicasets")
COMPONENT = "replicaset-controller"


def triggers(ctx: Context, event: str, rt: ResourceType, obj: dict[str, Any],
             old: dict[str, Any] | None) -> list[Key]:
    if rt.key == REPLICASETS:
        return [(obj["metadata"].get("namespace", ""), obj["metadata"]["name"])]
    if rt.key == PODS:
        keys: list[Key] = []
        for version in (obj, old):
            ref = controller_ref(version) if version is not None else None
            if ref and ref.get("kind") == "ReplicaSet":
                keys.append((obj["metadata"].get("namespace", ""), str(ref["name"])))
        return keys
    return []


def _scale(ctx: Context, rs: dict[str, Any], pods: list[dict[str, Any]], wanted: int) -> None:
    if len(pods) < wanted:
        template = (rs.get("spec") or {}).get("template") or {}
        for _ in range(wanted - len(pods)):
            name = new_pod_name(ctx, rs, f"{rs['metadata']['name']}-")
            create_pod(ctx, rs, pod_from_template(template, rs, name), COMPONENT)
    elif len(pods) > wanted:
        for pod in sorted(pods, key=deletion_order)[: len(pods) - wanted]:
            delete_pod(ctx, rs, pod, COMPONENT)


def _status(ctx: Context, rs: dict[str, Any], key: Key) -> dict[str, Any]:
    spec = rs.get("spec") or {}
    pods = live_pods(ctx, rs)
    min_ready = int(spec.get("minReadySeconds") or 0)
    now = ctx.now()
    available = [p for p in pods if pod_available(p, min_ready, now)]
    for pod in pods:
        since = ready_since(pod)
        if pod_ready(pod) and pod not in available and since is not None:
            ctx.wait_until(since + timedelta(seconds=min_ready), "replicasets", key)
    status: dict[str, Any] = {"replicas": len(pods), "fullyLabeledReplicas": len(pods),
                              "observedGeneration": rs["metadata"].get("generation", 1)}
    ready = sum(1 for p in pods if pod_ready(p))
    if ready:
        status["readyReplicas"] = ready
    if available:
        status["availableReplicas"] = len(available)
    return status


def reconcile(ctx: Context, key: Key) -> None:
    rs = ctx.obj(REPLICASETS, key[0], key[1])
    if rs is None or deleting(rs):
        return
    adopt(ctx, rs, PODS, (rs.get("spec") or {}).get("selector"))
    _scale(ctx, rs, live_pods(ctx, rs), int((rs.get("spec") or {}).get("replicas", 1)))
    write_status(ctx, REPLICASETS, rs, _status(ctx, rs, key))


CONTROLLER = Controller("replicasets", triggers, reconcile)
