"""Deployment → ReplicaSets: pod-template-hash, revisions (rollback and restart included), rolling and
recreate strategies, and status with the Available/Progressing conditions."""

from __future__ import annotations

import copy
from typing import Any

from kubesim.controllers.base import Context, Controller, Key
from kubesim.controllers.cache import controller_ref
from kubesim.controllers.replicasets import REPLICASETS
from kubesim.controllers.util import deleting, int_or_percent, owner_ref, revision, set_condition, template_hash
from kubesim.controllers.workloads import adopt, write_status
from kubesim.resources import ResourceType

DEPLOYMENTS = ("apps", "deployments")
HASH = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
HISTORY = "deployment.kubernetes.io/revision-history"
NOT_COPIED = {"kubectl.kubernetes.io/last-applied-configuration", REVISION, HISTORY,
              "deployment.kubernetes.io/desired-replicas", "deployment.kubernetes.io/max-replicas"}
COMPONENT = "deployment-controller"


def triggers(ctx: Context, event: str, rt: ResourceType, obj: dict[str, Any],
             old: dict[str, Any] | None) -> list[Key]:
    if rt.key == DEPLOYMENTS:
        return [(obj["metadata"].get("namespace", ""), obj["metadata"]["name"])]
    if rt.key == REPLICASETS:
        ref = controller_ref(obj)
        if ref and ref.get("kind") == "Deployment":
            return [(obj["metadata"].get("namespace", ""), str(ref["name"]))]
    return []


def bare_template(template: dict[str, Any]) -> dict[str, Any]:
    """A pod template without the pod-template-hash label, for comparing revisions."""
    clean = copy.deepcopy(template)
    labels = (clean.get("metadata") or {}).get("labels")
    if labels:
        labels.pop(HASH, None)
    return clean


def _copied_annotations(deploy: dict[str, Any]) -> dict[str, str]:
    annotations = deploy["metadata"].get("annotations") or {}
    return {k: v for k, v in annotations.items() if k not in NOT_COPIED}


def _create_rs(ctx: Context, deploy: dict[str, Any], number: int, replicas: int) -> dict[str, Any]:
    spec = deploy["spec"]
    collisions = int((deploy.get("status") or {}).get("collisionCount") or 0)
    digest = template_hash(bare_template(spec["template"]), collisions)
    template = copy.deepcopy(spec["template"])
    template.setdefault("metadata", {}).setdefault("labels", {})[HASH] = digest
    selector = copy.deepcopy(spec["selector"])
    selector.setdefault("matchLabels", {})[HASH] = digest
    name = f"{deploy['metadata']['name']}-{digest}"
    annotations = {**_copied_annotations(deploy), REVISION: str(number),
                   "deployment.kubernetes.io/desired-replicas": str(spec.get("replicas", 1)),
                   "deployment.kubernetes.io/max-replicas": str(spec.get("replicas", 1) + _surge(deploy))}
    rs = {"metadata": {"name": name, "namespace": deploy["metadata"].get("namespace"),
                       "labels": dict(template["metadata"]["labels"]), "annotations": annotations,
                       "ownerReferences": [owner_ref(deploy)]},
          "spec": {"replicas": replicas, "minReadySeconds": spec.get("minReadySeconds", 0),
                   "selector": selector, "template": template}}
    created = ctx.state.create(ctx.rt(*REPLICASETS), rs)
    if replicas:
        ctx.event(deploy, "Normal", "ScalingReplicaSet",
                  f"Scaled up replica set {name} to {replicas} from 0", COMPONENT)
    return created


def _surge(deploy: dict[str, Any]) -> int:
    strategy = (deploy.get("spec") or {}).get("strategy") or {}
    if strategy.get("type") == "Recreate":
        return 0
    rolling = strategy.get("rollingUpdate") or {}
    return int_or_percent(rolling.get("maxSurge", "25%"), int(deploy["spec"].get("replicas", 1)), True)


def _unavailable(deploy: dict[str, Any]) -> int:
    rolling = ((deploy.get("spec") or {}).get("strategy") or {}).get("rollingUpdate") or {}
    replicas = int(deploy["spec"].get("replicas", 1))
    value = int_or_percent(rolling.get("maxUnavailable", "25%"), replicas, False)
    return 1 if value == 0 and _surge(deploy) == 0 else value


def scale_rs(ctx: Context, deploy: dict[str, Any], rs: dict[str, Any], replicas: int) -> None:
    current = int((rs.get("spec") or {}).get("replicas", 0))
    fresh = ctx.state.get(ctx.rt(*REPLICASETS), rs["metadata"].get("namespace"), rs["metadata"]["name"])
    if fresh is None or current == replicas:
        return
    fresh["spec"]["replicas"] = replicas
    annotations = fresh["metadata"].setdefault("annotations", {})
    annotations["deployment.kubernetes.io/desired-replicas"] = str(deploy["spec"].get("replicas", 1))
    annotations["deployment.kubernetes.io/max-replicas"] = str(deploy["spec"].get("replicas", 1) + _surge(deploy))
    ctx.state.update(ctx.rt(*REPLICASETS), fresh)
    direction = "up" if replicas > current else "down"
    ctx.event(deploy, "Normal", "ScalingReplicaSet",
              f"Scaled {direction} replica set {rs['metadata']['name']} to {replicas} from {current}", COMPONENT)


def _promote(ctx: Context, rs: dict[str, Any], number: int) -> dict[str, Any]:
    """Give an old ReplicaSet the newest revision, as a rollback does."""
    fresh = ctx.state.get(ctx.rt(*REPLICASETS), rs["metadata"].get("namespace"), rs["metadata"]["name"])
    if fresh is None:
        return rs
    annotations = fresh["metadata"].setdefault("annotations", {})
    old = annotations.get(REVISION, "")
    history = [h for h in annotations.get(HISTORY, "").split(",") if h] + ([old] if old else [])
    annotations[REVISION] = str(number)
    annotations[HISTORY] = ",".join(history)
    return ctx.state.update(ctx.rt(*REPLICASETS), fresh)


def find_new(deploy: dict[str, Any], rss: list[dict[str, Any]]) -> dict[str, Any] | None:
    wanted = bare_template(deploy["spec"]["template"])
    matching = [rs for rs in rss if bare_template(rs["spec"]["template"]) == wanted]
    return min(matching, key=lambda rs: rs["metadata"].get("creationTimestamp", "")) if matching else None


def _sync_revision(ctx: Context, deploy: dict[str, Any], new: dict[str, Any]) -> None:
    annotations = deploy["metadata"].get("annotations") or {}
    if annotations.get(REVISION) == str(revision(new)):
        return
    fresh = ctx.state.get(ctx.rt(*DEPLOYMENTS), deploy["metadata"].get("namespace"), deploy["metadata"]["name"])
    if fresh is not None:
        fresh["metadata"].setdefault("annotations", {})[REVISION] = str(revision(new))
        ctx.state.update(ctx.rt(*DEPLOYMENTS), fresh)


def _new_rs(ctx: Context, deploy: dict[str, Any], rss: list[dict[str, Any]]) -> dict[str, Any]:
    newest = max((revision(rs) for rs in rss), default=0)
    new = find_new(deploy, rss)
    if new is None:
        new = _create_rs(ctx, deploy, newest + 1, 0 if rss else int(deploy["spec"].get("replicas", 1)))
    elif revision(new) < newest:
        new = _promote(ctx, new, newest + 1)
    return new


def _rolling(ctx: Context, deploy: dict[str, Any], new: dict[str, Any], olds: list[dict[str, Any]]) -> None:
    replicas = int(deploy["spec"].get("replicas", 1))
    total = sum(int(rs["spec"].get("replicas", 0)) for rs in olds) + int(new["spec"].get("replicas", 0))
    new_replicas = int(new["spec"].get("replicas", 0))
    if new_replicas > replicas or not any(int(rs["spec"].get("replicas", 0)) for rs in olds):
        scale_rs(ctx, deploy, new, replicas)
    elif new_replicas < replicas:
        room = replicas + _surge(deploy) - total
        if room > 0:
            scale_rs(ctx, deploy, new, new_replicas + min(room, replicas - new_replicas))
    new = ctx.obj(REPLICASETS, new["metadata"].get("namespace", ""), new["metadata"]["name"]) or new
    total = sum(int(rs["spec"].get("replicas", 0)) for rs in olds) + int(new["spec"].get("replicas", 0))
    new_unavailable = int(new["spec"].get("replicas", 0)) - int(new.get("status", {}).get("availableReplicas", 0))
    budget = total - (replicas - _unavailable(deploy)) - new_unavailable
    for rs in sorted(olds, key=revision):
        have = int(rs["spec"].get("replicas", 0))
        unhealthy = have - int((rs.get("status") or {}).get("availableReplicas", 0))
        take = min(have, max(budget, 0) + unhealthy)
        if take > 0:
            scale_rs(ctx, deploy, rs, have - take)
            budget -= max(take - unhealthy, 0)


def _recreate(ctx: Context, deploy: dict[str, Any], new: dict[str, Any], olds: list[dict[str, Any]]) -> None:
    for rs in olds:
        scale_rs(ctx, deploy, rs, 0)
    if all(int((rs.get("status") or {}).get("replicas", 0)) == 0 for rs in olds):
        scale_rs(ctx, deploy, new, int(deploy["spec"].get("replicas", 1)))


def _cleanup(ctx: Context, deploy: dict[str, Any], olds: list[dict[str, Any]]) -> None:
    limit = int(deploy["spec"].get("revisionHistoryLimit", 10))
    idle = [rs for rs in olds if int(rs["spec"].get("replicas", 0)) == 0
            and int((rs.get("status") or {}).get("replicas", 0)) == 0]
    for rs in sorted(idle, key=revision)[: max(len(idle) - limit, 0)]:
        ctx.state.delete(ctx.rt(*REPLICASETS), rs["metadata"].get("namespace"), rs["metadata"]["name"])


def _status(ctx: Context, deploy: dict[str, Any], new: dict[str, Any], olds: list[dict[str, Any]]) -> dict[str, Any]:
    every = [new, *olds]
    replicas = int(deploy["spec"].get("replicas", 1))

    def total(field: str, items: list[dict[str, Any]]) -> int:
        return sum(int((rs.get("status") or {}).get(field, 0)) for rs in items)

    status: dict[str, Any] = {k: v for k, v in (deploy.get("status") or {}).items() if k == "collisionCount"}
    status.update({"observedGeneration": deploy["metadata"].get("generation", 1),
                   "replicas": total("replicas", every), "updatedReplicas": total("replicas", [new]),
                   "readyReplicas": total("readyReplicas", every),
                   "availableReplicas": total("availableReplicas", every)})
    spec_total = sum(int(rs["spec"].get("replicas", 0)) for rs in every)
    status["unavailableReplicas"] = max(spec_total - status["availableReplicas"], 0)
    status = {k: v for k, v in status.items() if v or k in ("observedGeneration", "replicas")}
    now, name = ctx.now(), new["metadata"]["name"]
    conditions = (deploy.get("status") or {}).get("conditions") or []
    if status.get("availableReplicas", 0) >= replicas - _unavailable(deploy):
        conditions = set_condition(conditions, "Available", "True", "MinimumReplicasAvailable",
                                   "Deployment has minimum availability.", now, True)
    else:
        conditions = set_condition(conditions, "Available", "False", "MinimumReplicasUnavailable",
                                   "Deployment does not have minimum availability.", now, True)
    done = (status.get("updatedReplicas", 0) == replicas and status.get("availableReplicas", 0) >= replicas
            and status["replicas"] == replicas)
    reason, message = (("NewReplicaSetAvailable", f'ReplicaSet "{name}" has successfully progressed.') if done
                       else ("ReplicaSetUpdated", f'ReplicaSet "{name}" is progressing.'))
    status["conditions"] = set_condition(conditions, "Progressing", "True", reason, message, now, True)
    return status


def reconcile(ctx: Context, key: Key) -> None:
    deploy = ctx.obj(DEPLOYMENTS, key[0], key[1])
    if deploy is None or deleting(deploy):
        return
    adopt(ctx, deploy, REPLICASETS, deploy["spec"].get("selector"))
    rss = [rs for rs in ctx.cache.owned(REPLICASETS, deploy) if not deleting(rs)]
    if deploy["spec"].get("paused"):
        new = find_new(deploy, rss)
    else:
        new = _new_rs(ctx, deploy, rss)
        _sync_revision(ctx, deploy, new)
    if new is None:
        return
    name = new["metadata"]["name"]
    olds = [rs for rs in ctx.cache.owned(REPLICASETS, deploy) if rs["metadata"]["name"] != name]
    if not deploy["spec"].get("paused"):
        if (deploy["spec"].get("strategy") or {}).get("type") == "Recreate":
            _recreate(ctx, deploy, new, olds)
        else:
            _rolling(ctx, deploy, new, olds)
        _cleanup(ctx, deploy, olds)
    deploy = ctx.obj(DEPLOYMENTS, key[0], key[1]) or deploy
    new = ctx.obj(REPLICASETS, key[0], name) or new
    olds = [rs for rs in ctx.cache.owned(REPLICASETS, deploy) if rs["metadata"]["name"] != name]
    write_status(ctx, DEPLOYMENTS, deploy, _status(ctx, deploy, new, olds))


CONTROLLER = Controller("deployments", triggers, reconcile)
