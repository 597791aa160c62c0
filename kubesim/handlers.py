"""The resource verbs: get, list, create, update, patch, delete, deletecollection."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from . import apply, errors, knownfields, patch, selectors, tables
from .httputil import JSON, dumps, flag, int_param, json_response, read_body, wants_table
from .resources import ResourceType
from .store import ClusterState, copy_obj

_PATCH_TYPES = {
    "application/merge-patch+json": "merge",
    "application/json-patch+json": "json",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
    "application/apply-patch+json": "apply",
}


@dataclass(frozen=True)
class Target:
    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None = None


def list_kind(rt: ResourceType) -> str:
    return f"{rt.kind}List"


def filtered(request: Request, state: ClusterState, target: Target) -> list[dict[str, Any]]:
    pred = selectors.combine(
        selectors.label_selector(request.query_params.get("labelSelector")),
        selectors.field_selector(request.query_params.get("fieldSelector"), target.rt),
    )
    items = state.scan(target.rt, target.namespace)
    return items if pred is None else [o for o in items if pred(o)]


def _encode_continue(rv: int, start: str) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_continue(token: str, state: ClusterState) -> str:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        rv, start = int(data["rv"]), str(data["start"])
    except (ValueError, KeyError, TypeError) as exc:
        raise errors.bad_request(f"continue key is not valid: {exc}") from exc
    if rv < state.oldest_resource_version():
        raise errors.gone(
            "The provided continue parameter is too old to display a consistent list result. You can "
            "start a new list without the continue parameter, or use the continue token in this response "
            "to retrieve the remainder of the results. Continuing with the provided token results in an "
            "inconsistent list - objects that were created, modified, or deleted between the time the "
            "first chunk was returned and now may show up in the list."
        )
    return start


def _key(obj: dict[str, Any]) -> str:
    meta = obj["metadata"]
    return f"{meta.get('namespace', '')}/{meta['name']}"


def paginate(request: Request, state: ClusterState, items: list[dict[str, Any]]) -> tuple[
        list[dict[str, Any]], dict[str, Any]]:
    meta: dict[str, Any] = {"resourceVersion": str(state.resource_version())}
    token = request.query_params.get("continue")
    if token:
        start = _decode_continue(token, state)
        items = [o for o in items if _key(o) > start]
    limit = int_param(request, "limit")
    if limit and limit > 0 and len(items) > limit:
        page = items[:limit]
        meta["continue"] = _encode_continue(state.resource_version(), _key(page[-1]))
        meta["remainingItemCount"] = len(items) - limit
        return page, meta
    return items, meta


def list_objects(request: Request, state: ClusterState, target: Target) -> Response:
    items, meta = paginate(request, state, filtered(request, state, target))
    if wants_table(request):
        return json_response(tables.table(target.rt, items, meta, request, state.clock.now()))
    head = dumps({"kind": list_kind(target.rt), "apiVersion": target.rt.api_version, "metadata": meta})
    body = head[:-1] + b',"items":[' + b",".join(state.encoded(target.rt, o) for o in items) + b"]}"
    return Response(body, media_type=JSON)


def get_current(state: ClusterState, target: Target) -> dict[str, Any]:
    obj = state.get(target.rt, target.namespace, target.name or "")
    if obj is None:
        raise errors.not_found(target.rt.group, target.rt.plural, target.name or "")
    return obj


def get_object(request: Request, state: ClusterState, target: Target) -> Response:
    obj = get_current(state, target)
    if wants_table(request):
        return json_response(tables.table(target.rt, [obj], {"resourceVersion": obj["metadata"]["resourceVersion"]},
                                          request, state.clock.now()))
    return json_response(obj)


def _check_body(body: Any, target: Target, require_name: bool) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise errors.bad_request("the body of the request was in an unknown format")
    meta = body.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise errors.bad_request("metadata must be an object")
    kind, api_version = body.get("kind"), body.get("apiVersion")
    if kind and kind != target.rt.kind or api_version and api_version != target.rt.api_version:
        raise errors.bad_request(
            f"the API version in the data ({api_version}) does not match the expected API version "
            f"({target.rt.api_version})" if api_version != target.rt.api_version else
            f"the kind in the data ({kind}) does not match the expected kind ({target.rt.kind})"
        )
    if target.rt.namespaced:
        body_ns = meta.get("namespace")
        if body_ns and target.namespace and body_ns != target.namespace:
            raise errors.bad_request("the namespace of the provided object does not match the namespace sent "
                                     "on the request")
        meta["namespace"] = target.namespace or body_ns
    if require_name and target.name and meta.get("name") not in (None, target.name):
        raise errors.bad_request(f"the name of the object ({meta.get('name')}) does not match the name on "
                                 f"the URL ({target.name})")
    if require_name and target.name:
        meta["name"] = target.name
    return body


def manager_name(request: Request, default: str | None = None) -> str:
    manager = request.query_params.get("fieldManager")
    if manager:
        return manager
    if default:
        return default
    agent = request.headers.get("user-agent", "unknown")
    return agent.split("/")[0].split(" ")[0] or "unknown"


async def create_object(request: Request, state: ClusterState, target: Target) -> Response:
    body = _check_body(await read_body(request), target, require_name=False)
    warnings = apply.warning_headers(apply.validate_fields(request, target.rt, body))
    knownfields.prune(target.rt, body)
    body = apply.record_update(None, body, manager_name(request), target.rt.api_version, state)
    if request.query_params.get("dryRun"):
        return json_response(_dry_create(state, target.rt, body), 201, warnings)
    return json_response(state.create(target.rt, body), 201, warnings)


def _dry_create(state: ClusterState, rt: ResourceType, body: dict[str, Any]) -> dict[str, Any]:
    return state.prepare_create(rt, body)


async def update_object(request: Request, state: ClusterState, target: Target) -> Response:
    body = _check_body(await read_body(request), target, require_name=True)
    warnings = apply.warning_headers(apply.validate_fields(request, target.rt, body))
    knownfields.prune(target.rt, body)
    current = get_current(state, target)
    body = apply.record_update(current, body, manager_name(request), target.rt.api_version, state)
    if request.query_params.get("dryRun"):
        return json_response(state.prepare_update(target.rt, body, target.subresource), headers=warnings)
    return json_response(state.update(target.rt, body, target.subresource), headers=warnings)


def patch_type(request: Request) -> str:
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    kind = _PATCH_TYPES.get(content_type)
    if kind is None:
        raise errors.unsupported_media_type(content_type)
    return kind


def patched(request: Request, kind: str, body: Any, current: dict[str, Any], rt: ResourceType) -> dict[str, Any]:
    if kind == "merge":
        result = patch.merge_patch(current, body)
    elif kind == "json":
        result = patch.json_patch(current, body)
    else:
        if rt.group not in _BUILTIN_GROUPS:
            raise errors.unsupported_media_type("application/strategic-merge-patch+json")
        result = patch.strategic_merge(current, body, rt.kind)
    if not isinstance(result, dict):
        raise errors.bad_request("patch result is not an object")
    return result


_BUILTIN_GROUPS = {"", "apps", "batch", "autoscaling", "networking.k8s.io", "storage.k8s.io", "policy",
                   "rbac.authorization.k8s.io", "discovery.k8s.io", "events.k8s.io", "apiextensions.k8s.io"}


async def patch_object(request: Request, state: ClusterState, target: Target) -> Response:
    kind = patch_type(request)
    body = await read_body(request)
    if kind == "apply":
        return json_response(*apply.server_side_apply(request, state, target, body))
    current = get_current(state, target)
    result = patched(request, kind, body, current, target.rt)
    result = _check_body(result, target, require_name=True)
    # Unknown fields can only come from the patch, so that is what fieldValidation looks at.
    checked = body if isinstance(body, dict) else {}
    warnings = apply.warning_headers(apply.validate_fields(request, target.rt, checked))
    knownfields.prune(target.rt, result)
    result = apply.record_update(current, result, manager_name(request), target.rt.api_version, state)
    if request.query_params.get("dryRun"):
        return json_response(state.prepare_update(target.rt, result, target.subresource), headers=warnings)
    return json_response(state.update(target.rt, result, target.subresource), headers=warnings)


async def _delete_options(request: Request) -> dict[str, Any]:
    body = await read_body(request)
    options: dict[str, Any] = dict(body) if isinstance(body, dict) else {}
    if request.query_params.get("propagationPolicy"):
        options["propagationPolicy"] = request.query_params["propagationPolicy"]
    grace = int_param(request, "gracePeriodSeconds")
    if grace is not None:
        options["gracePeriodSeconds"] = grace
    if "orphanDependents" in request.query_params:
        options["orphanDependents"] = flag(request, "orphanDependents")
    if options.get("orphanDependents") is True and "propagationPolicy" not in options:
        options["propagationPolicy"] = "Orphan"
    policy = options.get("propagationPolicy", "Background")
    if policy not in ("Background", "Foreground", "Orphan"):
        raise errors.bad_request(f'propagationPolicy: Unsupported value: "{policy}": supported values: '
                                 '"Foreground", "Background", "Orphan"')
    return options


def _do_delete(state: ClusterState, rt: ResourceType, obj: dict[str, Any], options: dict[str, Any]) -> tuple[
        dict[str, Any], bool]:
    meta = obj["metadata"]
    result = state.delete(rt, meta.get("namespace"), meta["name"], options.get("propagationPolicy", "Background"),
                          options.get("gracePeriodSeconds"), options.get("preconditions"))
    pending = state.get(rt, meta.get("namespace"), meta["name"]) is not None
    return result, pending


async def delete_object(request: Request, state: ClusterState, target: Target) -> Response:
    options = await _delete_options(request)
    current = get_current(state, target)
    if request.query_params.get("dryRun") or options.get("dryRun"):
        return json_response(current)
    result, pending = _do_delete(state, target.rt, current, options)
    if pending or target.rt.kind == "Pod":
        return json_response(result)
    meta = result["metadata"]
    details = {"name": meta["name"], "kind": target.rt.plural, "uid": meta.get("uid")}
    if target.rt.group:
        details["group"] = target.rt.group
    return json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                          "details": details})


async def delete_collection(request: Request, state: ClusterState, target: Target) -> Response:
    options = await _delete_options(request)
    deleted = []
    for obj in [copy_obj(o) for o in filtered(request, state, target)]:
        result, _ = _do_delete(state, target.rt, obj, options)
        deleted.append(result)
    return json_response({"kind": list_kind(target.rt), "apiVersion": target.rt.api_version,
                          "metadata": {"resourceVersion": str(state.resource_version())}, "items": deleted})
