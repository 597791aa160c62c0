"""The Starlette application serving one cluster's API."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute

from . import discovery, errors, handlers, openapi, prometheus, reviews, subresources
from . import exec as pod_exec
from .control import ControlState
from .handlers import Target
from .httputil import check_media_types, error_response, flag, json_response
from .store import ClusterState
from .watch import WatchSettings, watch_response


@dataclass
class Cluster:
    name: str
    state: ClusterState
    token: str
    control: ControlState = field(default_factory=ControlState)
    watches: WatchSettings = field(default_factory=WatchSettings)
    address: str = "127.0.0.1:0"
    version: str | None = None  # the Kubernetes version /version reports; None: kubesim's own


def authorize(cluster: Cluster, headers: Any) -> None:
    if headers.get("authorization", "") != f"Bearer {cluster.token}":
        raise errors.unauthorized()


def parse_target(cluster: Cluster, parts: list[str]) -> tuple[Target, str, str] | None:
    """Split /api/v1/... or /apis/g/v/... into a Target; None when the path is not a resource path."""
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    if not rest:
        return None
    watch_prefix = rest[0] == "watch"
    if watch_prefix:
        rest = rest[1:]
    registry = cluster.state.resources
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        rt = registry.get(group, version, rest[2])
        if rt is not None and rt.namespaced:
            namespace, rest = rest[1], rest[2:]
    rt = registry.get(group, version, rest[0])
    if rt is None or len(rest) > 3:
        raise errors.ApiError(404, "NotFound", "the server could not find the requested resource",
                              {})
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if sub is not None and sub not in rt.subresources:
        raise errors.ApiError(404, "NotFound", "the server could not find the requested resource", {})
    return Target(rt, namespace, name, sub), group, "watch" if watch_prefix else ""


async def dispatch(cluster: Cluster, request: Request) -> Response:
    path = request.url.path.strip("/")
    parts = [p for p in path.split("/") if p]
    simple = _simple(cluster, request, parts)
    if simple is not None:
        return simple
    parsed = parse_target(cluster, parts)
    if parsed is None:
        raise errors.ApiError(404, "NotFound", "the server could not find the requested resource", {})
    target, _, prefix = parsed
    return await _resource(cluster, request, target, prefix == "watch")


async def _resource(cluster: Cluster, request: Request, target: Target, watch: bool) -> Response:
    state, method = cluster.state, request.method
    verb = _verb(method, target, watch or flag(request, "watch"))
    cluster.control.count(verb, _resource_name(target))
    if not target.subresource and verb not in target.rt.verbs:
        raise errors.method_not_allowed()
    if not target.rt.storage:
        if target.rt.group == "metrics.k8s.io":
            return subresources.metrics(request, state, target)
        return await reviews.handle(request, target)
    if target.subresource:
        return await subresources.handle(request, cluster, target)
    if method == "GET":
        if watch or flag(request, "watch"):
            return await watch_response(request, state, target, cluster.watches)
        if target.name is None:
            return handlers.list_objects(request, state, target)
        return handlers.get_object(request, state, target)
    if method == "POST" and target.name is None:
        return await handlers.create_object(request, state, target)
    if method == "PUT" and target.name:
        return await handlers.update_object(request, state, target)
    if method == "PATCH" and target.name:
        return await handlers.patch_object(request, state, target)
    if method == "DELETE":
        if target.name is None:
            return await handlers.delete_collection(request, state, target)
        return await handlers.delete_object(request, state, target)
    raise errors.method_not_allowed()


def _verb(method: str, target: Target, watch: bool) -> str:
    if target.subresource:
        return {"GET": "get", "PUT": "update", "PATCH": "patch", "POST": "create"}.get(method, method.lower())
    if method == "GET":
        return "watch" if watch else "get" if target.name else "list"
    if method == "DELETE" and not target.name:
        return "deletecollection"
    return {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method, method.lower())


def _resource_name(target: Target) -> str:
    name = target.rt.qualified
    return f"{name}/{target.subresource}" if target.subresource else name


def _simple(cluster: Cluster, request: Request, parts: list[str]) -> Response | None:
    registry = cluster.state.resources
    accept = request.headers.get("accept", "")
    if parts in (["healthz"], ["livez"], ["readyz"]):
        return PlainTextResponse("ok")
    if parts == ["metrics"]:
        if request.method not in ("GET", "HEAD"):
            raise errors.method_not_allowed()
        return prometheus.metrics_response(cluster.state, request)
    if parts == ["version"]:
        return json_response(discovery.version_info(cluster.version))
    if parts and parts[0] == "openapi":
        return openapi.handle(registry, parts[1:])
    if parts in (["api"], ["apis"]) and discovery.wants_aggregated(accept):
        doc = discovery.aggregated(registry, legacy=parts == ["api"])
        return Response(json_response(doc).body, media_type=discovery.AGGREGATED)
    if parts == ["api"]:
        return json_response(discovery.api_versions(cluster.address))
    if parts == ["apis"]:
        return json_response(discovery.api_group_list(registry))
    found: dict[str, Any] | None = None
    if parts == ["api", "v1"]:
        found = discovery.resource_list(registry, "", "v1")
    elif len(parts) == 2 and parts[0] == "apis":
        found = discovery.api_group(registry, parts[1])
    elif len(parts) == 3 and parts[0] == "apis":
        found = discovery.resource_list(registry, parts[1], parts[2])
    else:
        return None
    if found is None:
        raise errors.ApiError(404, "NotFound", "the server could not find the requested resource", {})
    return json_response(found)


async def endpoint(request: Request) -> Response:
    cluster: Cluster = request.app.state.cluster
    started = time.perf_counter()
    response: Response
    try:
        cluster.control.record_request(request)
        await cluster.control.inject(request)
        authorize(cluster, request.headers)
        check_media_types(request)
        response = await dispatch(cluster, request)
    except errors.ApiError as err:
        response = error_response(err)
    except asyncio.CancelledError:
        raise
    cluster.control.record_response(request, response.status_code, time.perf_counter() - started)
    return response


def build_app(cluster: Cluster) -> Starlette:
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
    routes = [
        WebSocketRoute("/api/v1/namespaces/{namespace}/pods/{name}/exec", pod_exec.websocket_endpoint),
        Route("/{path:path}", endpoint, methods=methods),
    ]
    app = Starlette(routes=routes)
    app.state.cluster = cluster
    return app
