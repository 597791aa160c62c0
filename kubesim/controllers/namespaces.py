"""Namespace deletion: a Terminating namespace has its contents deleted, then its finalizer removed."""

from __future__ import annotations

from typing import Any

from kubesim.controllers.base import Context, Controller, Key
from kubesim.controllers.util import deleting
from kubesim.errors import ApiError
from kubesim.resources import ResourceType

NAMESPACES = ("", "namespaces")


def triggers(ctx: Context, event: str, rt: ResourceType, obj: dict[str, Any],
             old: dict[str, Any] | None) -> list[Key]:
    if rt.key == NAMESPACES and event != "DELETED" and deleting(obj):
        return [("", obj["metadata"]["name"])]
    namespace = obj["metadata"].get("namespace")
    if namespace and event == "DELETED":
        ns = ctx.obj(NAMESPACES, "", namespace)
        if ns is not None and deleting(ns):
            return [("", namespace)]
    return []


def _contents(ctx: Context, namespace: str) -> list[tuple[ResourceType, dict[str, Any]]]:
    found: list[tuple[ResourceType, dict[str, Any]]] = []
    for key, rt in list(ctx.cache.types.items()):
        if rt.namespaced and ctx.state.resources.get(rt.group, rt.version, rt.plural) is not None:
            found.extend((rt, obj) for obj in ctx.cache.in_namespace(key, namespace))
    return found


def reconcile(ctx: Context, key: Key) -> None:
    ns = ctx.obj(NAMESPACES, "", key[1])
    if ns is None or not deleting(ns):
        return
    remaining = _contents(ctx, key[1])
    for rt, obj in remaining:
        if deleting(obj):
            continue
        try:
            ctx.state.delete(rt, key[1], obj["metadata"]["name"], propagation="Background")
        except ApiError as exc:
            if exc.code != 404:
                raise
    if _contents(ctx, key[1]):
        return
    rt = ctx.rt(*NAMESPACES)
    fresh = ctx.state.get(rt, None, key[1])
    if fresh is None:
        return
    fresh.setdefault("spec", {})["finalizers"] = []
    ctx.state.update(rt, fresh, subresource="finalize")


CONTROLLER = Controller("namespaces", triggers, reconcile)
