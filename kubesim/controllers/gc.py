"""Garbage collection through ownerReferences.

* An object whose owners are all gone is deleted (background propagation).
* An owner being deleted with the ``foregroundDeletion`` finalizer has its dependents deleted
  first; once none that block owner deletion remain, the finalizer is removed.
* An owner being deleted with the ``orphan`` finalizer has its ownerReferences removed from its
  dependents, then the finalizer is removed.
"""

from __future__ import annotations

from typing import Any

from kubesim.controllers.base import Context, Controller, Key
from kubesim.controllers.cache import Ref
from kubesim.controllers.util import deleting
from kubesim.errors import ApiError
from kubesim.resources import ResourceType

FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"


def _object_key(ref: Ref) -> Key:
    (group, plural), namespace, name = ref
    return ("object", group, plural, namespace, name)


def _ref_of(rt: ResourceType, obj: dict[str, Any]) -> Ref:
    return (rt.key, obj["metadata"].get("namespace") or "", obj["metadata"]["name"])


def triggers(ctx: Context, event: str, rt: ResourceType, obj: dict[str, Any],
             old: dict[str, Any] | None) -> list[Key]:
    meta = obj["metadata"]
    keys: list[Key] = []
    if event == "DELETED":
        if ctx.cache.dependents(meta.get("uid", "")):
            keys.append(("owner", meta.get("uid", "")))
        for owner in meta.get("ownerReferences") or []:
            ref = ctx.cache.by_uid.get(owner.get("uid", ""))
            if ref is not None:
                keys.append(_object_key(ref))
        return keys
    finalizers = meta.get("finalizers") or []
    if meta.get("deletionTimestamp") and (FOREGROUND in finalizers or ORPHAN in finalizers):
        keys.append(_object_key(_ref_of(rt, obj)))
    refs = meta.get("ownerReferences") or []
    changed = old is None or old["metadata"].get("ownerReferences") != refs
    if refs and changed and any(r.get("uid") not in ctx.cache.by_uid for r in refs):
        keys.append(_object_key(_ref_of(rt, obj)))
    return keys


def _delete(ctx: Context, ref: Ref, propagation: str = "Background") -> None:
    try:
        ctx.state.delete(ctx.rt(*ref[0]), ref[1] or None, ref[2], propagation=propagation)
    except ApiError as exc:
        if exc.code != 404:
            raise


def _drop_owner(ctx: Context, ref: Ref, uid: str) -> None:
    rt = ctx.rt(*ref[0])
    fresh = ctx.state.get(rt, ref[1] or None, ref[2])
    if fresh is None:
        return
    refs = [r for r in fresh["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
    if refs:
        fresh["metadata"]["ownerReferences"] = refs
    else:
        fresh["metadata"].pop("ownerReferences", None)
    ctx.state.update(rt, fresh)


def _remove_finalizer(ctx: Context, ref: Ref, finalizer: str) -> None:
    rt = ctx.rt(*ref[0])
    fresh = ctx.state.get(rt, ref[1] or None, ref[2])
    if fresh is None:
        return
    fresh["metadata"]["finalizers"] = [f for f in fresh["metadata"].get("finalizers") or [] if f != finalizer]
    ctx.state.update(rt, fresh)


def _orphaned(ctx: Context, uid: str) -> None:
    """The owner ``uid`` is gone: delete dependents with no other live owner, unlink the rest."""
    for ref in ctx.cache.dependents(uid):
        dep = ctx.cache.resolve(ref)
        if dep is None or deleting(dep):
            continue
        others = [r for r in dep["metadata"].get("ownerReferences") or []
                  if r.get("uid") != uid and r.get("uid") in ctx.cache.by_uid]
        if others:
            _drop_owner(ctx, ref, uid)
        else:
            _delete(ctx, ref)


def _finalize(ctx: Context, ref: Ref, obj: dict[str, Any]) -> None:
    uid = obj["metadata"].get("uid", "")
    finalizers = obj["metadata"].get("finalizers") or []
    if ORPHAN in finalizers:
        for dependent in ctx.cache.dependents(uid):
            _drop_owner(ctx, dependent, uid)
        _remove_finalizer(ctx, ref, ORPHAN)
        return
    if FOREGROUND not in finalizers:
        return
    blocking = 0
    for dep_ref in ctx.cache.dependents(uid):
        dep = ctx.cache.resolve(dep_ref)
        if dep is None:
            continue
        refs = dep["metadata"].get("ownerReferences") or []
        owner: dict[str, Any] = next((r for r in refs if r.get("uid") == uid), {})
        blocking += 1 if owner.get("blockOwnerDeletion") else 0
        if not deleting(dep):
            nested = ctx.cache.dependents(dep["metadata"].get("uid", ""))
            _delete(ctx, dep_ref, "Foreground" if nested else "Background")
    if blocking == 0 or not any(ctx.cache.resolve(d) for d in ctx.cache.dependents(uid)):
        _remove_finalizer(ctx, ref, FOREGROUND)


def _dangling(ctx: Context, ref: Ref, obj: dict[str, Any]) -> None:
    refs = obj["metadata"].get("ownerReferences") or []
    live = [r for r in refs if r.get("uid") in ctx.cache.by_uid]
    if not refs or len(live) == len(refs):
        return
    if live:
        for r in refs:
            if r not in live:
                _drop_owner(ctx, ref, r.get("uid", ""))
    else:
        _delete(ctx, ref)


def reconcile(ctx: Context, key: Key) -> None:
    if key[0] == "owner":
        _orphaned(ctx, key[1])
        return
    ref: Ref = ((key[1], key[2]), key[3], key[4])
    obj = ctx.cache.resolve(ref)
    if obj is None:
        return
    if deleting(obj):
        _finalize(ctx, ref, obj)
    else:
        _dangling(ctx, ref, obj)


CONTROLLER = Controller("garbage-collector", triggers, reconcile)
