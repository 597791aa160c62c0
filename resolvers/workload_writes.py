"""Workloads of a cluster: create from a manifest, merge-patch, delete, scale through `scale`."""

from __future__ import annotations

from typing import Any

from app import validation
from app.context import RequestContext
from app.db.models import Cluster
from app.errors import BadUserInput, FieldErrors
from resolvers.kube_writes import Obj, deleted_pending, meta, require_replicas, spec_replicas, writing
from resolvers.workloads import workload_kind

CREATABLE = {
    "Deployment": "apps/v1",
    "StatefulSet": "apps/v1",
    "DaemonSet": "apps/v1",
    "Job": "batch/v1",
    "CronJob": "batch/v1",
}
SCALABLE = ("Deployment", "StatefulSet", "ReplicaSet")


def _checked_manifest(namespace: str, manifest: Any) -> tuple[str, Obj]:
    """The workload's kind and the object to create; BAD_USER_INPUT naming each problem."""
    if not isinstance(manifest, dict):
        raise BadUserInput.field("manifest", "must be a JSON object")
    errors = FieldErrors()
    kind = str(manifest.get("kind") or "")
    if kind not in CREATABLE:
        errors.add("manifest.kind", f"must be one of {', '.join(CREATABLE)}")
    api_version = manifest.get("apiVersion") or CREATABLE.get(kind)
    if kind in CREATABLE and api_version != CREATABLE[kind]:
        errors.add("manifest.apiVersion", f"a {kind} is {CREATABLE[kind]}")
    validation.kube_namespace(errors, "namespace", namespace)
    metadata = manifest.get("metadata")
    if not isinstance(metadata, dict) or not (metadata.get("name") or metadata.get("generateName")):
        errors.add("manifest.metadata.name", "is required")
    else:
        _check_names(errors, kind, namespace, metadata)
    spec_replicas(errors, "manifest", manifest)
    errors.raise_if_any()
    body = {**manifest, "apiVersion": api_version, "metadata": {**manifest["metadata"], "namespace": namespace}}
    return kind, body


def _check_names(errors: FieldErrors, kind: str, namespace: str, metadata: dict[str, Any]) -> None:
    if metadata.get("name"):
        validation.kube_name(errors, "manifest.metadata.name", metadata["name"], kind)
    prefix = metadata.get("generateName")
    if prefix:  # as Kubernetes checks a prefix: a trailing '-' stands for what it appends
        masked = f"{prefix[:-1]}a" if isinstance(prefix, str) and prefix.endswith("-") else prefix
        validation.kube_name(errors, "manifest.metadata.generateName", masked, kind)
    if metadata.get("namespace") not in (None, namespace):
        errors.add("manifest.metadata.namespace", f"differs from the namespace argument {namespace!r}")


async def create_workload(ctx: RequestContext, cluster: Cluster, namespace: str, manifest: Any) -> Obj:
    kind, body = _checked_manifest(namespace, manifest)
    async with writing(ctx, cluster) as w:
        created = await w.client.create(kind, namespace, body)
        name = meta(created).get("name", "")
        await w.audit("workload.created", kind, namespace, name, {"uid": meta(created).get("uid")})
    return created


async def update_workload(
    ctx: RequestContext, cluster: Cluster, kind: str, namespace: str, name: str, patch: Any
) -> Obj:
    resolved = workload_kind(kind)
    if not isinstance(patch, dict) or not patch:
        raise BadUserInput.field("patch", "must be a non-empty JSON object (a merge patch)")
    errors = FieldErrors()
    spec_replicas(errors, "patch", patch)
    errors.raise_if_any()
    async with writing(ctx, cluster) as w:
        updated = await w.client.patch(resolved, namespace, name, patch, "merge")
        await w.audit("workload.updated", resolved, namespace, name, {"patchType": "merge", "patch": patch})
    return updated


async def delete_workload(
    ctx: RequestContext, cluster: Cluster, kind: str, namespace: str, name: str
) -> tuple[Obj, bool]:
    """The workload as it was, and whether its deletion waits for finalizers."""
    resolved = workload_kind(kind)
    async with writing(ctx, cluster) as w:
        current = await w.client.get(resolved, namespace, name)
        result = await w.client.delete(resolved, namespace, name)
        await w.audit("workload.deleted", resolved, namespace, name, {"uid": meta(current).get("uid")})
    return current, deleted_pending(result)


async def scale_workload(
    ctx: RequestContext, cluster: Cluster, kind: str, namespace: str, name: str, replicas: int
) -> Obj:
    resolved = workload_kind(kind)
    if resolved not in SCALABLE:
        raise BadUserInput.field("kind", f"only {', '.join(SCALABLE)} scale; a {resolved} has no replicas")
    require_replicas(replicas)
    async with writing(ctx, cluster) as w:
        before = await w.client.get_subresource(resolved, namespace, name, "scale")
        previous = (before.get("spec") or {}).get("replicas")
        await w.client.patch_subresource(resolved, namespace, name, "scale", {"spec": {"replicas": replicas}})
        await w.audit("workload.scaled", resolved, namespace, name, {"replicas": [previous, replicas]})
        return await w.client.get(resolved, namespace, name)
