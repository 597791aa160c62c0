"""Namespaces of a cluster: create (with a default ResourceQuota), relabel, delete, quota, scale all."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from app.context import RequestContext
from app.db.models import Cluster
from app.errors import AppError, BadUserInput, FieldErrors
from resolvers.kube_writes import (
    ClusterWriter,
    Obj,
    deleted_pending,
    meta,
    require_confirm,
    require_name,
    require_replicas,
    writing,
)

QUOTA_NAME = "default-quota"
PROTECTED = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
SCALABLE_KINDS = ("Deployment", "StatefulSet")
# Input field → ResourceQuota `spec.hard` key.
QUOTA_KEYS = {
    "cpu": "requests.cpu",
    "memory": "requests.memory",
    "limits_cpu": "limits.cpu",
    "limits_memory": "limits.memory",
    "storage": "requests.storage",
    "pods": "pods",
    "services": "services",
    "persistent_volume_claims": "persistentvolumeclaims",
    "config_maps": "configmaps",
    "secrets": "secrets",
}
_QUANTITY = re.compile(r"^[+]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[KMGTPE]i|[numkMGTPE])?$")


@dataclass
class ScaleChange:
    kind: str
    namespace: str
    name: str
    previous_replicas: int
    replicas: int


def quota_hard(quota: dict[str, Any]) -> dict[str, str]:
    """ResourceQuota `spec.hard` from the input's fields; BAD_USER_INPUT naming each bad quantity."""
    errors = FieldErrors()
    hard: dict[str, str] = {}
    for field, key in QUOTA_KEYS.items():
        value = quota.get(field)
        if value is None:
            continue
        text = str(value).strip()
        if not _QUANTITY.match(text):
            errors.add(f"quota.{field}", f"{text!r} is not a Kubernetes quantity (e.g. 500m, 2, 4Gi)")
        hard[key] = text
    errors.raise_if_any()
    if not hard:
        raise BadUserInput.field("quota", "give at least one limit")
    return hard


def _quota_object(namespace: str, hard: dict[str, str]) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {
            "name": QUOTA_NAME,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "fleetgraph"},
        },
        "spec": {"hard": hard},
    }


async def create_namespace(ctx: RequestContext, cluster: Cluster, data: dict[str, Any]) -> Obj:
    name = data["name"]
    require_name("name", name, "Namespace")
    hard = quota_hard(data["quota"]) if data.get("quota") else None
    body: Obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    for key in ("labels", "annotations"):
        if data.get(key):
            body["metadata"][key] = data[key]
    async with writing(ctx, cluster) as w:
        created = await w.client.create("Namespace", None, body)
        if hard is not None:
            await _create_quota_or_undo(w, name, hard)
        changes = {"labels": data.get("labels") or {}, "annotations": data.get("annotations") or {}, "quota": hard}
        await w.audit("namespace.created", "Namespace", None, name, changes)
    return created


async def _create_quota_or_undo(w: ClusterWriter, namespace: str, hard: dict[str, str]) -> None:
    try:
        await w.client.create("ResourceQuota", namespace, _quota_object(namespace, hard))
    except AppError:
        await w.client.delete("Namespace", None, namespace)  # no half-made namespace left behind
        raise


async def update_namespace(ctx: RequestContext, cluster: Cluster, name: str, data: dict[str, Any]) -> Obj:
    patch_meta = {key: data[key] for key in ("labels", "annotations") if data.get(key) is not None}
    if not patch_meta:
        raise BadUserInput.field("input", "give labels or annotations (a null value removes a key)")
    async with writing(ctx, cluster) as w:
        updated = await w.client.patch("Namespace", None, name, {"metadata": patch_meta}, "merge")
        await w.audit("namespace.updated", "Namespace", None, name, patch_meta)
    return updated


async def delete_namespace(ctx: RequestContext, cluster: Cluster, name: str, confirm: bool) -> tuple[Obj, bool]:
    """The namespace as deletion left it, and whether it is still terminating."""
    require_confirm(confirm, f"namespace {name!r} and everything in it")
    if name in PROTECTED:
        raise BadUserInput.field("name", f"namespace {name!r} is a system namespace and cannot be deleted")
    async with writing(ctx, cluster) as w:
        current = await w.client.get("Namespace", None, name)
        result = await w.client.delete("Namespace", None, name)
        await w.audit("namespace.deleted", "Namespace", None, name, {"uid": meta(current).get("uid")})
    return (result if result.get("kind") == "Namespace" else current), deleted_pending(result)


async def update_namespace_quota(ctx: RequestContext, cluster: Cluster, name: str, quota: dict[str, Any]) -> Obj:
    """Sets the given limits of the namespace's `default-quota`, creating it when missing."""
    hard = quota_hard(quota)
    async with writing(ctx, cluster) as w:
        await w.client.get("Namespace", None, name)
        current = await w.get_or_none("ResourceQuota", name, QUOTA_NAME)
        if current is None:
            result = await w.client.create("ResourceQuota", name, _quota_object(name, hard))
            before: dict[str, Any] = {}
        else:
            result = await w.client.patch("ResourceQuota", name, QUOTA_NAME, {"spec": {"hard": hard}}, "merge")
            before = (current.get("spec") or {}).get("hard") or {}
        after = (result.get("spec") or {}).get("hard") or {}
        await w.audit("namespace.quota_updated", "ResourceQuota", name, QUOTA_NAME, {"before": before, "after": after})
    return result


async def scale_namespace(ctx: RequestContext, cluster: Cluster, name: str, replicas: int) -> list[ScaleChange]:
    """Scales every Deployment and StatefulSet of the namespace; the ones whose replicas changed."""
    require_replicas(replicas)
    changed: list[ScaleChange] = []
    async with writing(ctx, cluster) as w:
        await w.client.get("Namespace", None, name)
        failure: AppError | None = None
        try:
            await _scale_all(w, name, replicas, changed)
        except AppError as exc:
            failure = exc  # what was scaled before the failure is audited all the same
        scaled = [{"kind": c.kind, "name": c.name, "from": c.previous_replicas, "to": c.replicas} for c in changed]
        if changed or failure is None:
            changes = {"replicas": replicas, "workloads": scaled, "error": failure.message if failure else None}
            await w.audit("namespace.scaled", "Namespace", None, name, changes)
    if failure is not None:
        raise failure
    return changed


async def _scale_all(w: ClusterWriter, namespace: str, replicas: int, changed: list[ScaleChange]) -> None:
    for kind in SCALABLE_KINDS:
        for obj in (await w.client.list(kind, namespace)).items:
            previous = (obj.get("spec") or {}).get("replicas")
            previous = 1 if previous is None else int(previous)
            if previous == replicas:
                continue
            workload = meta(obj).get("name", "")
            await w.client.patch_subresource(kind, namespace, workload, "scale", {"spec": {"replicas": replicas}})
            changed.append(ScaleChange(kind, namespace, workload, previous, replicas))
