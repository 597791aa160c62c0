"""What the workload controllers share: pods from templates, ControllerRevisions, status writes."""

from __future__ import annotations

import copy
from typing import Any

from kubesim.controllers.base import Context
from kubesim.controllers.cache import PODS, controller_ref, is_terminal
from kubesim.controllers.util import deleting, matches, owner_ref, pod_ready, unique_name

REVISIONS = ("apps", "controllerrevisions")


def pod_from_template(
    template: dict[str, Any], owner: dict[str, Any], name: str, labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    meta = template.get("metadata") or {}
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": owner["metadata"].get("namespace"),
            "labels": {**(meta.get("labels") or {}), **(labels or {})},
            "ownerReferences": [owner_ref(owner)],
        },
        "spec": copy.deepcopy(template.get("spec") or {}),
    }
    if meta.get("annotations"):
        pod["metadata"]["annotations"] = dict(meta["annotations"])
    return pod


def create_pod(ctx: Context, owner: dict[str, Any], pod: dict[str, Any], component: str) -> dict[str, Any]:
    created = ctx.state.create(ctx.rt(*PODS), pod)
    ctx.event(owner, "Normal", "SuccessfulCreate", f"Created pod: {created['metadata']['name']}", component)
    return created


def new_pod_name(ctx: Context, owner: dict[str, Any], prefix: str) -> str:
    namespace = owner["metadata"].get("namespace", "")

    def exists(name: str) -> bool:
        return ctx.obj(PODS, namespace, name) is not None

    # the resource version keeps names fresh across restarts while staying deterministic
    return unique_name(ctx.used_names, exists, prefix, ctx.state.name, namespace, ctx.state.resource_version())


def delete_pod(ctx: Context, owner: dict[str, Any], pod: dict[str, Any], component: str) -> None:
    meta = pod["metadata"]
    ctx.state.delete(ctx.rt(*PODS), meta.get("namespace"), meta["name"])
    ctx.event(owner, "Normal", "SuccessfulDelete", f"Deleted pod: {meta['name']}", component)


def live_pods(ctx: Context, owner: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in ctx.cache.owned(PODS, owner) if not deleting(p) and not is_terminal(p)]


def deletion_order(pod: dict[str, Any]) -> tuple[int, int, int, str]:
    """Pods to remove first: unscheduled, then pending, then not ready, newest first."""
    status = pod.get("status") or {}
    scheduled = 1 if (pod.get("spec") or {}).get("nodeName") else 0
    running = 1 if status.get("phase") == "Running" else 0
    ready = 1 if pod_ready(pod) else 0
    return scheduled, running, ready, _negated(pod["metadata"].get("creationTimestamp", ""))


def _negated(text: str) -> str:
    return "".join(chr(0x10FFFF - ord(ch)) for ch in text)


def ensure_revision(ctx: Context, owner: dict[str, Any], name: str, template: dict[str, Any],
                    labels: dict[str, str]) -> dict[str, Any]:
    """The ControllerRevision holding ``template``; created with the next revision number if missing."""
    namespace = owner["metadata"].get("namespace", "")
    found = ctx.obj(REVISIONS, namespace, name)
    if found is not None:
        return found
    owned = ctx.cache.owned(REVISIONS, owner)
    number = max((int(r.get("revision", 0)) for r in owned), default=0) + 1
    revision = {
        "metadata": {"name": name, "namespace": namespace, "labels": labels,
                     "ownerReferences": [owner_ref(owner)]},
        "data": {"spec": {"template": {**copy.deepcopy(template), "$patch": "replace"}}},
        "revision": number,
    }
    return ctx.state.create(ctx.rt(*REVISIONS), revision)


def adopt(ctx: Context, owner: dict[str, Any], key: tuple[str, str], selector: dict[str, Any] | None) -> None:
    """Take ownership of orphans matching ``selector``, as controllers adopt what they select."""
    if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        return
    for obj in ctx.cache.in_namespace(key, owner["metadata"].get("namespace", "")):
        if controller_ref(obj) is not None or deleting(obj) or not matches(selector, obj["metadata"].get("labels")):
            continue
        fresh = ctx.state.get(ctx.rt(*key), obj["metadata"].get("namespace"), obj["metadata"]["name"])
        if fresh is not None:
            fresh["metadata"]["ownerReferences"] = [*(fresh["metadata"].get("ownerReferences") or []),
                                                    owner_ref(owner)]
            ctx.state.update(ctx.rt(*key), fresh)


def write_status(ctx: Context, key: tuple[str, str], obj: dict[str, Any], status: dict[str, Any]) -> None:
    """Write ``status`` if it differs from what is stored."""
    if (obj.get("status") or {}) == status:
        return
    fresh = ctx.state.get(ctx.rt(*key), obj["metadata"].get("namespace"), obj["metadata"]["name"])
    if fresh is None:
        return
    fresh["status"] = status
    ctx.state.update(ctx.rt(*key), fresh, subresource="status")
