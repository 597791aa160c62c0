"""/openapi/v2 and /openapi/v3: per group-version documents with the GVK and patch parameters kubectl reads."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from . import errors, knownfields
from .httputil import json_response
from .resources import ResourceRegistry, ResourceType

_QUERY = [
    {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
    {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
    {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True},
     "description": "fieldValidation instructs the server on how to handle objects in the request "
                    "containing unknown or duplicate fields. Valid values are: Ignore, Warn, Strict."},
]
_PATCH_TYPES = ["application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json",
                "application/strategic-merge-patch+json"]


def _gv_path(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def definition_name(rt: ResourceType) -> str:
    group = rt.group or "core"
    prefix = "io.k8s.api." + group.replace(".k8s.io", "").replace(".authorization", "") if not rt.group or \
        rt.group.endswith(".k8s.io") or "." not in rt.group else ".".join(reversed(rt.group.split(".")))
    return f"{prefix}.{rt.version}.{rt.kind}"


def _schema_for(rt: ResourceType) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"},
        "metadata": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    }
    for field in knownfields.KINDS.get(rt.kind, {}):
        if field != "metadata":
            properties[field] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    if rt.kind not in knownfields.KINDS:
        for field in ("spec", "status", "data"):
            properties[field] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    # The GVK is carried by the operations only: with a schema this partial, kubectl must not compute
    # strategic merge patches from it (it falls back to its compiled-in types, as for an older server).
    return {"type": "object", "properties": properties}


def _operation(rt: ResourceType, action: str, body: bool = False, patch: bool = False) -> dict[str, Any]:
    gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
    op: dict[str, Any] = {"operationId": f"{action}{rt.kind}", "x-kubernetes-action": action,
                          "x-kubernetes-group-version-kind": gvk,
                          "responses": {"200": {"description": "OK"}}}
    if body or patch:
        op["parameters"] = list(_QUERY)
        types = _PATCH_TYPES if patch else ["application/json"]
        ref = {"$ref": f"#/components/schemas/{definition_name(rt)}"}
        op["requestBody"] = {"content": {t: {"schema": ref} for t in types}, "required": True}
    return op


def v3_document(registry: ResourceRegistry, group: str, version: str) -> dict[str, Any] | None:
    types = [rt for rt in registry.in_group_version(group, version) if rt.storage]
    if not types and not registry.in_group_version(group, version):
        return None
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    base = "/" + _gv_path(group, version)
    for rt in types:
        schemas[definition_name(rt)] = _schema_for(rt)
        collection = f"{base}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else f"{base}/{rt.plural}"
        paths[collection] = {"get": _operation(rt, "list"), "post": _operation(rt, "post", body=True)}
        paths[collection + "/{name}"] = {
            "get": _operation(rt, "get"), "put": _operation(rt, "put", body=True),
            "patch": _operation(rt, "patch", patch=True), "delete": _operation(rt, "delete")}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.37.0"}, "paths": paths,
            "components": {"schemas": schemas}}


def v3_index(registry: ResourceRegistry) -> dict[str, Any]:
    paths = {}
    for group in registry.groups():
        for version in registry.versions(group):
            path = _gv_path(group, version)
            paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash=kubesim{len(registry.all())}"}
    return {"paths": paths}


def v2_document(registry: ResourceRegistry) -> dict[str, Any]:
    definitions = {definition_name(rt): _schema_for(rt) for rt in registry.all() if rt.storage}
    return {"swagger": "2.0", "info": {"title": "Kubernetes", "version": "v1.37.0"}, "paths": {},
            "definitions": definitions}


def handle(registry: ResourceRegistry, parts: list[str]) -> Response:
    if parts == ["v2"]:
        return json_response(v2_document(registry))
    if parts == ["v3"]:
        return json_response(v3_index(registry))
    if len(parts) >= 2 and parts[0] == "v3":
        rest = parts[1:]
        doc = None
        if rest[:1] == ["api"] and len(rest) == 2:
            doc = v3_document(registry, "", rest[1])
        elif rest[:1] == ["apis"] and len(rest) == 3:
            doc = v3_document(registry, rest[1], rest[2])
        if doc is not None:
            return json_response(doc)
    raise errors.ApiError(404, "NotFound", "the server could not find the requested resource", {})
