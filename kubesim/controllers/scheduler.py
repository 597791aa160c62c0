"""kube-scheduler: filter nodes (readiness, taints, selectors, affinity, resources, volumes), pick the
least allocated one, and bind."""

from __future__ import annotations

import json
from collections import Counter
from functools import lru_cache
from typing import Any

from kubesim.controllers.base import Context, Controller, Key
from kubesim.controllers.cache import PODS, is_terminal, pod_requests
from kubesim.controllers.nodes import NODES, node_ready
from kubesim.controllers.storage import class_of
from kubesim.controllers.util import deleting, set_condition
from kubesim.quantity import milli, whole
from kubesim.resources import ResourceType

PVCS = ("", "persistentvolumeclaims")
RETRY_SECONDS = 10.0
STATIC_CACHE = 50_000


def tolerates(taint: dict[str, Any], tolerations: list[dict[str, Any]]) -> bool:
    for tol in tolerations:
        if tol.get("effect") and tol.get("effect") != taint.get("effect"):
            continue
        if tol.get("operator") == "Exists" and (not tol.get("key") or tol.get("key") == taint.get("key")):
            return True
        if tol.get("key") == taint.get("key") and tol.get("value", "") == taint.get("value", ""):
            return True
    return False


def _term_matches(term: dict[str, Any], node: dict[str, Any]) -> bool:
    labels = node["metadata"].get("labels") or {}
    fields = {"metadata.name": node["metadata"]["name"]}
    checks = [(e, labels) for e in term.get("matchExpressions") or []]
    checks += [(e, fields) for e in term.get("matchFields") or []]
    for expr, source in checks:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        value = source.get(key)
        ok = {"In": value in values, "NotIn": value not in values, "Exists": value is not None,
              "DoesNotExist": value is None,
              "Gt": value is not None and values and value.isdigit() and int(value) > int(values[0]),
              "Lt": value is not None and values and value.isdigit() and int(value) < int(values[0])}.get(
            str(op), False)
        if not ok:
            return False
    return True


def _affinity_ok(spec: dict[str, Any], node: dict[str, Any]) -> bool:
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms") or []
    return not terms or any(_term_matches(term, node) for term in terms)


def allocatable(node: dict[str, Any]) -> tuple[int, int, int]:
    """(millicores, bytes, pods) the node offers."""
    alloc = (node.get("status") or {}).get("allocatable") or {}
    return _capacity(alloc.get("cpu", "0"), alloc.get("memory", "0"), alloc.get("pods", "110"))


@lru_cache(maxsize=1024)
def _capacity(cpu: str, memory: str, pods: str) -> tuple[int, int, int]:
    return milli(cpu), whole(memory), whole(pods)


def placement(pod: dict[str, Any]) -> str:
    """What, besides resources, decides where a pod may go; pods of one template share it."""
    spec = pod.get("spec") or {}
    return json.dumps([spec.get("tolerations"), spec.get("nodeSelector"), spec.get("affinity")], sort_keys=True)


def why_not(ctx: Context, pod: dict[str, Any], node: dict[str, Any], need: tuple[int, int],
            signature: str | None = None) -> str:
    """Empty when the pod fits on the node, otherwise the scheduler's reason."""
    seen: dict[tuple[str, str, str], str] = ctx.memory.setdefault("scheduler.filters", {})
    if len(seen) > STATIC_CACHE:
        seen.clear()
    key = (signature or placement(pod), node["metadata"]["name"], node["metadata"].get("resourceVersion", ""))
    reason = seen.get(key)
    if reason is None:
        reason = seen[key] = _node_filter(pod, node)
    if reason:
        return reason
    cpu_cap, memory_cap, pods_cap = allocatable(node)
    cpu, memory, count = ctx.cache.node_load.get(node["metadata"]["name"], (0, 0, 0))
    if count + 1 > pods_cap:
        return "Too many pods"
    if cpu + need[0] > cpu_cap:
        return "Insufficient cpu"
    if memory + need[1] > memory_cap:
        return "Insufficient memory"
    return ""


def _node_filter(pod: dict[str, Any], node: dict[str, Any]) -> str:
    """The checks that depend only on the pod's placement rules and the node."""
    spec, node_spec = pod.get("spec") or {}, node.get("spec") or {}
    labels = node["metadata"].get("labels") or {}
    tolerations = spec.get("tolerations") or []
    for taint in node_spec.get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(taint, tolerations):
            return f"node(s) had untolerated taint {{{taint.get('key')}: {taint.get('value', '')}}}"
    if node_spec.get("unschedulable") and not tolerates(
            {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}, tolerations):
        return "node(s) were unschedulable"
    if not node_ready(node):
        return "node(s) had untolerated taint {node.kubernetes.io/not-ready: }"
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return "node(s) didn't match Pod's node affinity/selector"
    if not _affinity_ok(spec, node):
        return "node(s) didn't match Pod's node affinity/selector"
    return ""


def _score(ctx: Context, node: dict[str, Any], need: tuple[int, int]) -> tuple[float, int, str]:
    """Least allocated first: the larger of the cpu and memory shares after placing the pod."""
    cpu_cap, memory_cap, _ = allocatable(node)
    cpu, memory, count = ctx.cache.node_load.get(node["metadata"]["name"], (0, 0, 0))
    cpu_share = (cpu + need[0]) / max(cpu_cap, 1)
    mem_share = (memory + need[1]) / max(memory_cap, 1)
    return max(cpu_share, mem_share), count, node["metadata"]["name"]


def _volumes_ready(ctx: Context, pod: dict[str, Any]) -> str:
    namespace = pod["metadata"].get("namespace", "")
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        if not claim:
            continue
        pvc = ctx.obj(PVCS, namespace, claim)
        if pvc is None:
            return f'persistentvolumeclaim "{claim}" not found'
        if (pvc.get("status") or {}).get("phase") != "Bound" and not _waits_for_consumer(ctx, pvc):
            return "pod has unbound immediate PersistentVolumeClaims"
    return ""


def _waits_for_consumer(ctx: Context, pvc: dict[str, Any]) -> bool:
    sc = class_of(ctx, pvc)
    return bool(sc and sc.get("volumeBindingMode") == "WaitForFirstConsumer")


def _unschedulable(ctx: Context, pod: dict[str, Any], message: str) -> None:
    fresh = ctx.state.get(ctx.rt(*PODS), pod["metadata"].get("namespace"), pod["metadata"]["name"])
    if fresh is None:
        return
    status = fresh.setdefault("status", {})
    status["conditions"] = set_condition(status.get("conditions") or [], "PodScheduled", "False",
                                         "Unschedulable", message, ctx.now())
    ctx.state.update(ctx.rt(*PODS), fresh, subresource="status")
    ctx.event(fresh, "Warning", "FailedScheduling", message, "default-scheduler")
    ctx.after(RETRY_SECONDS, "scheduler", (fresh["metadata"].get("namespace", ""), fresh["metadata"]["name"]))


def _bind(ctx: Context, pod: dict[str, Any], node_name: str) -> None:
    rt = ctx.rt(*PODS)
    fresh = ctx.state.get(rt, pod["metadata"].get("namespace"), pod["metadata"]["name"])
    if fresh is None or fresh.get("spec", {}).get("nodeName"):
        return
    fresh["spec"]["nodeName"] = node_name
    bound = ctx.state.update(rt, fresh)
    if not ctx.settling:  # while settling, the kubelet's first status write records PodScheduled
        status = bound.setdefault("status", {})
        status["conditions"] = set_condition(status.get("conditions") or [], "PodScheduled", "True", None, None,
                                             ctx.now())
        bound = ctx.state.update(rt, bound, subresource="status")
    meta = bound["metadata"]
    ctx.event(bound, "Normal", "Scheduled",
              f"Successfully assigned {meta.get('namespace')}/{meta['name']} to {node_name}", "default-scheduler")


def schedule(ctx: Context, pod: dict[str, Any]) -> None:
    nodes = list(ctx.cache.all(NODES))
    blocked = _volumes_ready(ctx, pod)
    if blocked:
        _unschedulable(ctx, pod, f"0/{len(nodes)} nodes are available: {blocked}. preemption: not eligible.")
        return
    need, signature = pod_requests(pod), placement(pod)
    reasons: Counter[str] = Counter()
    fits = []
    for node in nodes:
        reason = why_not(ctx, pod, node, need, signature)
        if reason:
            reasons[reason] += 1
        else:
            fits.append(node)
    if not fits:
        detail = ", ".join(f"{n} {r}" for r, n in sorted(reasons.items()))
        _unschedulable(ctx, pod, f"0/{len(nodes)} nodes are available: {detail or 'no nodes'}. "
                                 f"preemption: 0/{len(nodes)} nodes are available: "
                                 f"{len(nodes)} No preemption victims found for incoming pod.")
        return
    _bind(ctx, pod, min(fits, key=lambda node: _score(ctx, node, need))["metadata"]["name"])


def triggers(ctx: Context, event: str, rt: ResourceType, obj: dict[str, Any],
             old: dict[str, Any] | None) -> list[Key]:
    if rt.key == PODS and event != "DELETED" and not (obj.get("spec") or {}).get("nodeName"):
        return [(obj["metadata"].get("namespace", ""), obj["metadata"]["name"])]
    if rt.key == NODES and event != "DELETED" and (
            old is None or node_ready(old) != node_ready(obj) or old.get("spec") != obj.get("spec")):
        return _waiting(ctx)
    if rt.key == PVCS and event != "DELETED":
        return _waiting(ctx, obj["metadata"].get("namespace", ""))
    return []


def _waiting(ctx: Context, namespace: str | None = None) -> list[Key]:
    pods = ctx.cache.in_namespace(PODS, namespace) if namespace is not None else ctx.cache.all(PODS)
    return [(p["metadata"].get("namespace", ""), p["metadata"]["name"]) for p in pods
            if not (p.get("spec") or {}).get("nodeName")]


def reconcile(ctx: Context, key: Key) -> None:
    pod = ctx.obj(PODS, key[0], key[1])
    if pod is None or deleting(pod) or is_terminal(pod) or (pod.get("spec") or {}).get("nodeName"):
        return
    if (pod.get("spec") or {}).get("schedulerName", "default-scheduler") != "default-scheduler":
        return
    schedule(ctx, pod)


CONTROLLER = Controller("scheduler", triggers, reconcile)
