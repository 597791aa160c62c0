"""ResourceQuota status: hard from spec, used from what the namespace holds."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kubesim.controllers.base import Context, Controller, Key
from kubesim.controllers.cache import PODS, is_terminal
from kubesim.controllers.workloads import write_status
from kubesim.quantity import format_for, parse_quantity
from kubesim.resources import ResourceType

QUOTAS = ("", "resourcequotas")
COUNTED = {"services": ("", "services"), "secrets": ("", "secrets"), "configmaps": ("", "configmaps"),
           "persistentvolumeclaims": ("", "persistentvolumeclaims"), "pods": PODS,
           "replicationcontrollers": ("", "replicationcontrollers"), "resourcequotas": QUOTAS}
WATCHED = set(COUNTED.values())


def triggers(ctx: Context, event: str, rt: ResourceType, obj: dict[str, Any],
             old: dict[str, Any] | None) -> list[Key]:
    namespace = obj["metadata"].get("namespace", "")
    if rt.key == QUOTAS and event != "DELETED":
        return [(namespace, obj["metadata"]["name"])]
    if rt.key in WATCHED or namespace and ctx.cache.in_namespace(QUOTAS, namespace):
        return [(namespace, q["metadata"]["name"]) for q in ctx.cache.in_namespace(QUOTAS, namespace)]
    return []


def _pod_sum(pods: list[dict[str, Any]], section: str, resource: str) -> Decimal:
    total = Decimal(0)
    for pod in pods:
        for container in (pod.get("spec") or {}).get("containers") or []:
            value = ((container.get("resources") or {}).get(section) or {}).get(resource)
            total += parse_quantity(value)
    return total


def used(ctx: Context, namespace: str, resource: str) -> Decimal:
    pods = [p for p in ctx.cache.in_namespace(PODS, namespace) if not is_terminal(p)]
    if resource in COUNTED:
        items = pods if resource == "pods" else ctx.cache.in_namespace(COUNTED[resource], namespace)
        return Decimal(len(items))
    if resource in ("cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory"):
        section = "limits" if resource.startswith("limits.") else "requests"
        return _pod_sum(pods, section, resource.rsplit(".", 1)[-1])
    if resource == "requests.storage":
        claims = ctx.cache.in_namespace(("", "persistentvolumeclaims"), namespace)
        return sum((parse_quantity(((c.get("spec") or {}).get("resources") or {}).get("requests", {}).get("storage"))
                    for c in claims), Decimal(0))
    if resource.startswith("count/"):
        plural, _, group = resource[len("count/"):].partition(".")
        return Decimal(len(ctx.cache.in_namespace((group, plural), namespace)))
    if resource.startswith("services."):
        kind = {"services.loadbalancers": "LoadBalancer", "services.nodeports": "NodePort"}.get(resource)
        return Decimal(sum(1 for s in ctx.cache.in_namespace(("", "services"), namespace)
                           if (s.get("spec") or {}).get("type") == kind))
    return Decimal(0)


def reconcile(ctx: Context, key: Key) -> None:
    quota = ctx.obj(QUOTAS, key[0], key[1])
    if quota is None:
        return
    hard = dict((quota.get("spec") or {}).get("hard") or {})
    status = {"hard": hard, "used": {name: format_for(name, used(ctx, key[0], name)) for name in hard}}
    write_status(ctx, QUOTAS, quota, status)


CONTROLLER = Controller("resourcequota", triggers, reconcile)
