"""Subresources: status, scale, finalize, binding, eviction, pods/log, and the metrics.k8s.io API."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from . import apply, errors, eviction, handlers, kindschemas, podlogs, schemacheck, selectors
from .causes import Cause, bad_value
from .handlers import Target
from .httputil import json_response, read_body
from .store import ClusterState, copy_obj

if TYPE_CHECKING:
    from .server import Cluster


async def handle(request: Request, cluster: Cluster, target: Target) -> Response:
    state, sub, method = cluster.state, target.subresource, request.method
    if sub == "log" and method == "GET":
        return await podlogs.respond(request, state, target)
    if sub == "scale":
        return await _scale(request, state, target)
    if sub in ("status", "finalize"):
        return await _status(request, state, target)
    if sub == "binding" and method == "POST":
        return await _binding(request, state, target)
    if sub == "eviction" and method == "POST":
        return await eviction.evict(request, state, target)
    if sub == "exec":
        raise errors.bad_request("Upgrade request required")
    raise errors.method_not_allowed()


async def _status(request: Request, state: ClusterState, target: Target) -> Response:
    if request.method == "GET":
        return json_response(handlers.get_current(state, target))
    manager = handlers.manager_name(request)
    current = handlers.get_current(state, target)
    body = await read_body(request)
    if request.method == "PUT":
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request was in an unknown format")
        new = body
    elif request.method == "PATCH":
        kind = handlers.patch_type(request)
        if kind == "apply":
            return json_response(*apply.server_side_apply(request, state, target, body))
        new = handlers.patched(request, kind, body, current, target.rt)
    else:
        raise errors.method_not_allowed()
    new.setdefault("metadata", {}).update({"name": target.name, "namespace": target.namespace})
    if not target.rt.namespaced:
        new["metadata"].pop("namespace", None)
    new = apply.record_update(current, new, manager, target.rt.api_version, state, target.subresource)
    if request.query_params.get("dryRun"):
        return json_response(state.prepare_update(target.rt, new, target.subresource))
    return json_response(state.update(target.rt, new, target.subresource))


def scale_of(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj["metadata"]
    return {
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                     if k in meta},
        "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
        "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                   "selector": selectors.selector_string((obj.get("spec") or {}).get("selector"))},
    }


async def _scale(request: Request, state: ClusterState, target: Target) -> Response:
    current = handlers.get_current(state, target)
    scale = scale_of(current)
    if request.method == "GET":
        return json_response(scale)
    body = await read_body(request)
    if request.method == "PUT":
        wanted = body if isinstance(body, dict) else {}
    elif request.method == "PATCH":
        wanted = handlers.patched(request, handlers.patch_type(request), body, scale, target.rt)
    else:
        raise errors.method_not_allowed()
    _check_scale(wanted, target.name or "")
    replicas = int((wanted.get("spec") or {}).get("replicas") or 0)
    new = copy_obj(current)
    new["spec"]["replicas"] = replicas
    rv = (wanted.get("metadata") or {}).get("resourceVersion")
    new["metadata"]["resourceVersion"] = rv or current["metadata"]["resourceVersion"]
    new = apply.record_update(current, new, handlers.manager_name(request), target.rt.api_version, state, "scale")
    return json_response(scale_of(state.update(target.rt, new)))


def _check_scale(wanted: dict[str, Any], name: str) -> None:
    found: list[Cause] = []
    schemacheck.check(wanted, kindschemas.schema_of("autoscaling", "Scale") or {}, "", found)
    replicas = (wanted.get("spec") or {}).get("replicas")
    if not found and (replicas is None or replicas < 0):
        found.append(bad_value("spec.replicas", replicas, "must be greater than or equal to 0"))
    if found:
        raise errors.invalid("Scale", "autoscaling", name, found)


async def _binding(request: Request, state: ClusterState, target: Target) -> Response:
    body = await read_body(request) or {}
    node = (body.get("target") or {}).get("name")
    if not node:
        raise errors.invalid("Binding", "", target.name or "", [{
            "reason": "FieldValueRequired", "field": "target.name", "message": "Required value"}])
    pod = handlers.get_current(state, target)
    if pod["spec"].get("nodeName"):
        raise errors.conflict("", "pods", target.name or "", f"pod {target.name} is already assigned to node "
                              f'"{pod["spec"]["nodeName"]}"')
    pod["spec"]["nodeName"] = node
    state.update(target.rt, pod)
    return json_response(_success(), 201)


def _success() -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


def _metrics_module() -> Any:
    try:
        return importlib.import_module("kubesim.metrics")
    except ModuleNotFoundError as exc:
        if exc.name != "kubesim.metrics":
            raise
        raise errors.service_unavailable(1) from exc


def metrics(request: Request, state: ClusterState, target: Target) -> Response:
    if request.method != "GET":
        raise errors.method_not_allowed()
    module = _metrics_module()
    registry = state.resources
    is_node = target.rt.kind == "NodeMetrics"
    source = registry.get("", "v1", "nodes" if is_node else "pods")
    assert source is not None
    make = module.node_metrics if is_node else module.pod_metrics
    if target.name:
        obj = state.get(source, target.namespace, target.name)
        if obj is None or not _has_metrics(obj, is_node):
            raise errors.not_found(target.rt.group, target.rt.plural, target.name)
        return json_response(make(state, obj))
    pred = selectors.label_selector(request.query_params.get("labelSelector"))
    items = [make(state, o) for o in state.scan(source, target.namespace)
             if (pred is None or pred(o)) and _has_metrics(o, is_node)]
    return json_response({"kind": f"{target.rt.kind}List", "apiVersion": target.rt.api_version,
                          "metadata": {}, "items": items})


def _has_metrics(obj: dict[str, Any], is_node: bool) -> bool:
    return is_node or (obj.get("status") or {}).get("phase") == "Running"
