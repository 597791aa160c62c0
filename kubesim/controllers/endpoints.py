"""Services with a selector → Endpoints and discovery.k8s.io/v1 EndpointSlices of their pods."""

from __future__ import annotations

import contextlib
from typing import Any

from kubesim.controllers.base import Context, Controller, Key
from kubesim.controllers.cache import PODS, is_terminal
from kubesim.controllers.nodes import NODES
from kubesim.controllers.util import deleting, matches_map, owner_ref, pod_ready, unique_name
from kubesim.errors import ApiError
from kubesim.resources import ResourceType

SERVICES = ("", "services")
ENDPOINTS = ("", "endpoints")
SLICES = ("discovery.k8s.io", "endpointslices")
SERVICE_NAME = "kubernetes.io/service-name"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
SLICE_MANAGER = "endpointslice-controller.k8s.io"


def _selects(service: dict[str, Any], pod: dict[str, Any] | None) -> bool:
    selector = (service.get("spec") or {}).get("selector")
    return bool(selector) and pod is not None and matches_map(selector, pod["metadata"].get("labels"))


def triggers(ctx: Context, event: str, rt: ResourceType, obj: dict[str, Any],
             old: dict[str, Any] | None) -> list[Key]:
    namespace = obj["metadata"].get("namespace", "")
    if rt.key == SERVICES:
        return [(namespace, obj["metadata"]["name"])]
    if rt.key == PODS:
        return [(namespace, s["metadata"]["name"]) for s in ctx.cache.in_namespace(SERVICES, namespace)
                if _selects(s, obj) or _selects(s, old)]
    if rt.key == ENDPOINTS and event == "DELETED":
        return [(namespace, obj["metadata"]["name"])]
    return []


def _target_port(port: dict[str, Any], pod: dict[str, Any]) -> int | None:
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, int) or str(target).isdigit():
        return int(str(target))
    for container in (pod.get("spec") or {}).get("containers") or []:
        for declared in container.get("ports") or []:
            if declared.get("name") == target:
                return int(declared.get("containerPort", 0))
    return None


def _members(ctx: Context, service: dict[str, Any]) -> list[dict[str, Any]]:
    namespace = service["metadata"].get("namespace", "")
    pods = [p for p in ctx.cache.in_namespace(PODS, namespace) if _selects(service, p)
            and not is_terminal(p) and not deleting(p) and (p.get("status") or {}).get("podIP")]
    return sorted(pods, key=lambda p: p["status"]["podIP"])


def _ports(service: dict[str, Any], pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ports = []
    for port in (service.get("spec") or {}).get("ports") or []:
        number = next((n for n in (_target_port(port, p) for p in pods) if n is not None), None)
        if number is None:
            number = port.get("targetPort") if isinstance(port.get("targetPort"), int) else port.get("port")
        entry = {"port": number, "protocol": port.get("protocol", "TCP")}
        if port.get("name"):
            entry["name"] = port["name"]
        ports.append(entry)
    return ports


def _address(pod: dict[str, Any], service: str = "") -> dict[str, Any]:
    meta, spec = pod["metadata"], pod["spec"]
    address = {"ip": pod["status"]["podIP"], "nodeName": spec.get("nodeName"),
               "targetRef": {"kind": "Pod", "namespace": meta.get("namespace"), "name": meta["name"],
                             "uid": meta.get("uid")}}
    if spec.get("hostname") and spec.get("subdomain") == service:
        address["hostname"] = spec["hostname"]
    return address


def _endpoints(service: dict[str, Any], pods: list[dict[str, Any]], ports: list[dict[str, Any]]) -> dict[str, Any]:
    publish = (service.get("spec") or {}).get("publishNotReadyAddresses")
    meta = service["metadata"]
    ready = [_address(p, meta["name"]) for p in pods if publish or pod_ready(p)]
    waiting = [_address(p, meta["name"]) for p in pods if not (publish or pod_ready(p))]
    body: dict[str, Any] = {"metadata": {"name": meta["name"], "namespace": meta.get("namespace"),
                                         "labels": dict(meta.get("labels") or {})}}
    subset: dict[str, Any] = {}
    if ready:
        subset["addresses"] = ready
    if waiting:
        subset["notReadyAddresses"] = waiting
    if subset:
        body["subsets"] = [{**subset, "ports": ports}]
    return body


def _slice_endpoints(ctx: Context, pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    entries = []
    for pod in pods:
        ready = pod_ready(pod)
        node = ctx.obj(NODES, "", pod["spec"].get("nodeName") or "")
        entry = {"addresses": [pod["status"]["podIP"]],
                 "conditions": {"ready": ready, "serving": ready, "terminating": False},
                 "nodeName": pod["spec"].get("nodeName"), "targetRef": _address(pod)["targetRef"]}
        zone = ((node or {}).get("metadata", {}).get("labels") or {}).get("topology.kubernetes.io/zone")
        if zone:
            entry["zone"] = zone
        entries.append(entry)
    return entries


def _write(ctx: Context, key: tuple[str, str], current: dict[str, Any] | None, desired: dict[str, Any],
           fields: tuple[str, ...]) -> None:
    rt = ctx.rt(*key)
    if current is None:
        ctx.state.create(rt, desired)
        return
    if all(current.get(f) == desired.get(f) for f in fields) and \
            current["metadata"].get("labels") == desired["metadata"].get("labels"):
        return
    fresh = ctx.state.get(rt, current["metadata"].get("namespace"), current["metadata"]["name"])
    if fresh is None:
        return
    for field in fields:
        if field in desired:
            fresh[field] = desired[field]
        else:
            fresh.pop(field, None)
    fresh["metadata"]["labels"] = desired["metadata"]["labels"]
    ctx.state.update(rt, fresh)


def _slice(ctx: Context, service: dict[str, Any], pods: list[dict[str, Any]], ports: list[dict[str, Any]]) -> None:
    meta = service["metadata"]
    namespace = meta.get("namespace", "")
    owned = ctx.cache.owned(SLICES, service)

    def exists(taken: str) -> bool:
        return ctx.obj(SLICES, namespace, taken) is not None

    prefix = f"{meta['name']}-"
    name = owned[0]["metadata"]["name"] if owned else unique_name(ctx.used_names, exists, prefix, ctx.state.name)
    desired = {"metadata": {"name": name, "namespace": namespace,
                            "labels": {**(meta.get("labels") or {}), SERVICE_NAME: meta["name"],
                                       MANAGED_BY: SLICE_MANAGER},
                            "generateName": f"{meta['name']}-", "ownerReferences": [owner_ref(service)]},
               "addressType": "IPv4", "endpoints": _slice_endpoints(ctx, pods), "ports": ports}
    _write(ctx, SLICES, owned[0] if owned else None, desired, ("endpoints", "ports", "addressType"))


def reconcile(ctx: Context, key: Key) -> None:
    service = ctx.obj(SERVICES, key[0], key[1])
    current = ctx.obj(ENDPOINTS, key[0], key[1])
    if service is None:
        if current is not None:
            with contextlib.suppress(ApiError):
                ctx.state.delete(ctx.rt(*ENDPOINTS), key[0], key[1])
        return
    if not (service.get("spec") or {}).get("selector") or deleting(service):
        return
    pods = _members(ctx, service)
    ports = _ports(service, pods)
    _write(ctx, ENDPOINTS, current, _endpoints(service, pods, ports), ("subsets",))
    _slice(ctx, service, pods, ports)


CONTROLLER = Controller("endpoints", triggers, reconcile)
