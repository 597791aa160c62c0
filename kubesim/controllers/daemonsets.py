"""DaemonSet: one pod per eligible node, pinned with node affinity, rolled one node at a time."""

from __future__ import annotations

import copy
from typing import Any

from kubesim.controllers.base import Context, Controller, Key
from kubesim.controllers.cache import PODS, controller_ref
from kubesim.controllers.nodes import NODES
from kubesim.controllers.scheduler import why_not
from kubesim.controllers.util import deleting, pod_ready, template_hash
from kubesim.controllers.workloads import (
    create_pod,
    delete_pod,
    ensure_revision,
    live_pods,
    new_pod_name,
    pod_from_template,
    write_status,
)
from kubesim.resources import ResourceType

DAEMONSETS = ("apps", "daemonsets")
REVISION_LABEL = "controller-revision-hash"
COMPONENT = "daemonset-controller"
TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]


def triggers(ctx: Context, event: str, rt: ResourceType, obj: dict[str, Any],
             old: dict[str, Any] | None) -> list[Key]:
    if rt.key == DAEMONSETS:
        return [(obj["metadata"].get("namespace", ""), obj["metadata"]["name"])]
    if rt.key == PODS:
        ref = controller_ref(obj)
        if ref and ref.get("kind") == "DaemonSet":
            return [(obj["metadata"].get("namespace", ""), str(ref["name"]))]
    if rt.key == NODES and (event != "MODIFIED" or old is None or old.get("spec") != obj.get("spec")
                            or (old["metadata"].get("labels") != obj["metadata"].get("labels"))):
        return [(ds["metadata"].get("namespace", ""), ds["metadata"]["name"]) for ds in ctx.cache.all(DAEMONSETS)]
    return []


def _template_for(ds: dict[str, Any]) -> dict[str, Any]:
    template = copy.deepcopy(ds["spec"]["template"])
    spec = template.setdefault("spec", {})
    present = {(t.get("key"), t.get("effect")) for t in spec.get("tolerations") or []}
    spec["tolerations"] = (spec.get("tolerations") or []) + [
        t for t in TOLERATIONS if (t["key"], t["effect"]) not in present]
    return template


def _pin(template: dict[str, Any], node: str) -> dict[str, Any]:
    pinned = copy.deepcopy(template)
    term = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}
    affinity = pinned["spec"].setdefault("affinity", {}).setdefault("nodeAffinity", {})
    affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [term]}
    return pinned


def eligible(ctx: Context, ds: dict[str, Any], template: dict[str, Any]) -> list[str]:
    probe = {"metadata": {"name": "probe"}, "spec": template.get("spec") or {}}
    names = []
    for node in ctx.cache.all(NODES):
        reason = why_not(ctx, probe, node, (0, 0))
        if not reason or reason.startswith(("Too many", "Insufficient")):
            names.append(node["metadata"]["name"])
    return sorted(names)


def _target(pod: dict[str, Any]) -> str:
    terms = (((pod["spec"].get("affinity") or {}).get("nodeAffinity") or {})
             .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or []
    for term in terms:
        for field in term.get("matchFields") or []:
            if field.get("key") == "metadata.name" and field.get("values"):
                return str(field["values"][0])
    return str(pod["spec"].get("nodeName") or "")


def _sync(ctx: Context, ds: dict[str, Any], revision: str, nodes: list[str]) -> None:
    template = _template_for(ds)
    by_node: dict[str, list[dict[str, Any]]] = {}
    for pod in live_pods(ctx, ds):
        by_node.setdefault(_target(pod), []).append(pod)
    for node in nodes:
        if node not in by_node:
            name = new_pod_name(ctx, ds, f"{ds['metadata']['name']}-")
            labels = {REVISION_LABEL: revision, "pod-template-generation": str(ds["metadata"].get("generation", 1))}
            create_pod(ctx, ds, pod_from_template(_pin(template, node), ds, name, labels), COMPONENT)
    for node, pods in by_node.items():
        for pod in pods[1:] if node in nodes else pods:
            delete_pod(ctx, ds, pod, COMPONENT)
    stale = [pods[0] for node, pods in sorted(by_node.items())
             if node in nodes and pods[0]["metadata"]["labels"].get(REVISION_LABEL) != revision]
    if stale and all(pod_ready(pods[0]) for pods in by_node.values()):
        delete_pod(ctx, ds, stale[0], COMPONENT)


def _status(ctx: Context, ds: dict[str, Any], revision: str, nodes: list[str]) -> dict[str, Any]:
    pods = [p for p in live_pods(ctx, ds) if _target(p) in nodes]
    ready = sum(1 for p in pods if pod_ready(p))
    status = {"currentNumberScheduled": len({_target(p) for p in pods}), "desiredNumberScheduled": len(nodes),
              "numberMisscheduled": 0, "numberReady": ready, "numberAvailable": ready,
              "observedGeneration": ds["metadata"].get("generation", 1),
              "updatedNumberScheduled": sum(1 for p in pods if p["metadata"]["labels"].get(REVISION_LABEL) == revision)}
    if len(nodes) - ready > 0:
        status["numberUnavailable"] = len(nodes) - ready
    return status


def reconcile(ctx: Context, key: Key) -> None:
    ds = ctx.obj(DAEMONSETS, key[0], key[1])
    if ds is None or deleting(ds):
        return
    revision = f"{key[1]}-{template_hash(ds['spec']['template'])}"
    labels = dict((ds["spec"].get("selector") or {}).get("matchLabels") or {})
    ensure_revision(ctx, ds, revision, ds["spec"]["template"], {**labels, REVISION_LABEL: revision})
    nodes = eligible(ctx, ds, _template_for(ds))
    _sync(ctx, ds, revision, nodes)
    write_status(ctx, DAEMONSETS, ds, _status(ctx, ds, revision, nodes))


CONTROLLER = Controller("daemonsets", triggers, reconcile)
