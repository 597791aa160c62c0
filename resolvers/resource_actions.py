"""Any kind the cluster serves: patch (merge, strategic merge, JSON patch) and delete with confirmation."""

from __future__ import annotations

from typing import Any

from app import validation
from app.context import RequestContext
from app.db.models import Cluster
from app.errors import BadUserInput, FieldErrors
from app.k8s.resources import ResourceKind
from resolvers.kube import without_secret_data
from resolvers.kube_writes import Obj, deleted_pending, meta, require_confirm, spec_replicas, writing
from resolvers.workload_writes import SCALABLE

PATCH_TYPES = ("merge", "strategic", "json")


def _check_patch(patch: Any, patch_type: str) -> None:
    if patch_type not in PATCH_TYPES:
        raise BadUserInput.field("patchType", f"must be one of {', '.join(PATCH_TYPES)}")
    if patch_type == "json":
        if not isinstance(patch, list) or not all(isinstance(op, dict) and "op" in op for op in patch):
            raise BadUserInput.field("patch", "a JSON patch is a list of operations ({op, path, value})")
    elif not isinstance(patch, dict):
        raise BadUserInput.field("patch", f"a {patch_type} patch is a JSON object")


def _check_replicas(kind: str, patch: Any, patch_type: str) -> None:
    """The bounds of scaleWorkload hold for a patch of a workload's ``spec.replicas`` too."""
    if kind not in SCALABLE:
        return
    errors = FieldErrors()
    if patch_type != "json":
        spec_replicas(errors, "patch", patch)
    for op in patch if patch_type == "json" else []:
        if op.get("op") in ("add", "replace") and op.get("path") == "/spec/replicas":
            validation.replicas(errors, "patch.spec.replicas", op.get("value"))
        elif op.get("op") in ("add", "replace") and op.get("path") == "/spec":
            spec_replicas(errors, "patch", {"spec": op.get("value")})
    errors.raise_if_any()


def _audited_patch(kind: str, patch: Any) -> Any:
    """What the audit keeps of a patch: for a Secret, the keys it touched, never their values."""
    if kind != "Secret":
        return patch
    if isinstance(patch, list):
        return [{"op": op.get("op"), "path": op.get("path")} for op in patch]
    return {key: sorted(value) if isinstance(value, dict) else "…" for key, value in patch.items()}


def scoped_namespace(rk: ResourceKind, namespace: str | None) -> str | None:
    """The namespace of an object of ``rk``: required for namespaced kinds, ignored for the others."""
    if not rk.namespaced:
        return None
    if not namespace:
        raise BadUserInput.field("namespace", f"a {rk.kind} lives in a namespace: give one")
    return namespace


def shown(obj: Obj) -> Obj:
    """An object as the API returns it: Secret values are never part of a write's answer."""
    return without_secret_data(obj) if obj.get("kind") == "Secret" else obj


async def patch_resource(
    ctx: RequestContext, cluster: Cluster, kind: str, namespace: str | None, name: str, patch: Any, patch_type: str
) -> Obj:
    _check_patch(patch, patch_type)
    async with writing(ctx, cluster) as w:
        rk = await w.client.kind(kind)
        ns = scoped_namespace(rk, namespace)
        _check_replicas(rk.kind, patch, patch_type)
        result = await w.client.patch(rk, ns, name, patch, patch_type)
        changes = {"patchType": patch_type, "patch": _audited_patch(rk.kind, patch)}
        await w.audit("resource.patched", rk.kind, ns, name, changes)
    return shown(result)


async def delete_resource(
    ctx: RequestContext, cluster: Cluster, kind: str, namespace: str | None, name: str, confirm: bool
) -> tuple[Obj, bool]:
    """The object as it was before deletion, and whether it still waits for finalizers."""
    require_confirm(confirm, f"{kind} {name!r}")
    async with writing(ctx, cluster) as w:
        rk = await w.client.kind(kind)
        ns = scoped_namespace(rk, namespace)
        current = await w.client.get(rk, ns, name)
        result = await w.client.delete(rk, ns, name)
        await w.audit("resource.deleted", rk.kind, ns, name, {"uid": meta(current).get("uid")})
    return shown(current), deleted_pending(result)
