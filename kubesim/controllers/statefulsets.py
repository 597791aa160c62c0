"""StatefulSet: ordinal pods name-0..n-1, PVCs from volumeClaimTemplates, ordered start, rolling update
from the highest ordinal down, and ControllerRevisions."""

from __future__ import annotations

import copy
from typing import Any

from kubesim.controllers.base import Context, Controller, Key
from kubesim.controllers.cache import PODS, controller_ref
from kubesim.controllers.util import deleting, pod_ready, template_hash
from kubesim.controllers.workloads import (
    create_pod,
    delete_pod,
    ensure_revision,
    live_pods,
    pod_from_template,
    write_status,
)
from kubesim.resources import ResourceType

STATEFULSETS = ("apps", "statefulsets")
PVCS = ("", "persistentvolumeclaims")
REVISION_LABEL = "controller-revision-hash"
COMPONENT = "statefulset-controller"


def triggers(ctx: Context, event: str, rt: ResourceType, obj: dict[str, Any],
             old: dict[str, Any] | None) -> list[Key]:
    if rt.key == STATEFULSETS:
        return [(obj["metadata"].get("namespace", ""), obj["metadata"]["name"])]
    if rt.key == PODS:
        ref = controller_ref(obj)
        if ref and ref.get("kind") == "StatefulSet":
            return [(obj["metadata"].get("namespace", ""), str(ref["name"]))]
    return []


def ordinal(sts: dict[str, Any], pod: dict[str, Any]) -> int:
    tail = pod["metadata"]["name"][len(sts["metadata"]["name"]) + 1:]
    return int(tail) if tail.isdigit() else -1


def claim_name(template: dict[str, Any], sts: dict[str, Any], index: int) -> str:
    return f"{template['metadata']['name']}-{sts['metadata']['name']}-{index}"


def _ensure_claims(ctx: Context, sts: dict[str, Any], index: int) -> None:
    namespace = sts["metadata"].get("namespace", "")
    labels = dict((sts["spec"].get("selector") or {}).get("matchLabels") or {})
    for template in sts["spec"].get("volumeClaimTemplates") or []:
        name = claim_name(template, sts, index)
        if ctx.obj(PVCS, namespace, name) is not None:
            continue
        claim = {"metadata": {"name": name, "namespace": namespace,
                              "labels": {**labels, **(template["metadata"].get("labels") or {})}},
                 "spec": copy.deepcopy(template.get("spec") or {})}
        claim["spec"].setdefault("volumeMode", "Filesystem")
        ctx.state.create(ctx.rt(*PVCS), claim)
        ctx.event(sts, "Normal", "SuccessfulCreate",
                  f"create Claim {name} Pod {sts['metadata']['name']}-{index} in StatefulSet "
                  f"{sts['metadata']['name']} success", COMPONENT)


def _new_pod(ctx: Context, sts: dict[str, Any], index: int, revision: str) -> dict[str, Any]:
    name = f"{sts['metadata']['name']}-{index}"
    labels = {REVISION_LABEL: revision, "statefulset.kubernetes.io/pod-name": name,
              "apps.kubernetes.io/pod-index": str(index)}
    pod = pod_from_template(sts["spec"]["template"], sts, name, labels)
    spec = pod["spec"]
    spec["hostname"] = name
    if sts["spec"].get("serviceName"):
        spec["subdomain"] = sts["spec"]["serviceName"]
    volumes = [v for v in spec.get("volumes") or []]
    for template in sts["spec"].get("volumeClaimTemplates") or []:
        volumes = [v for v in volumes if v.get("name") != template["metadata"]["name"]]
        volumes.append({"name": template["metadata"]["name"],
                        "persistentVolumeClaim": {"claimName": claim_name(template, sts, index)}})
    if volumes:
        spec["volumes"] = volumes
    return pod


def _step(ctx: Context, sts: dict[str, Any], pods: dict[int, dict[str, Any]], revision: str) -> None:
    replicas = int(sts["spec"].get("replicas", 1))
    ordered = sts["spec"].get("podManagementPolicy", "OrderedReady") == "OrderedReady"
    for index in range(replicas):
        pod = pods.get(index)
        if pod is None:
            _ensure_claims(ctx, sts, index)
            create_pod(ctx, sts, _new_pod(ctx, sts, index, revision), COMPONENT)
            if ordered:
                return
        elif ordered and not pod_ready(pod):
            return
    extra = sorted((i for i in pods if i >= replicas or i < 0), reverse=True)
    for index in extra[:1] if ordered else extra:
        delete_pod(ctx, sts, pods[index], COMPONENT)
    if extra:
        return
    partition = int(((sts["spec"].get("updateStrategy") or {}).get("rollingUpdate") or {}).get("partition", 0))
    if (sts["spec"].get("updateStrategy") or {}).get("type", "RollingUpdate") != "RollingUpdate":
        return
    stale = [i for i, p in pods.items() if i >= partition and p["metadata"]["labels"].get(REVISION_LABEL) != revision]
    if stale and all(pod_ready(p) for p in pods.values()):
        delete_pod(ctx, sts, pods[max(stale)], COMPONENT)


def _status(sts: dict[str, Any], pods: list[dict[str, Any]], revision: str) -> dict[str, Any]:
    updated = [p for p in pods if p["metadata"]["labels"].get(REVISION_LABEL) == revision]
    ready = sum(1 for p in pods if pod_ready(p))
    old = sts.get("status") or {}
    current = old.get("currentRevision") or revision
    if len(updated) == len(pods) == int(sts["spec"].get("replicas", 1)):
        current = revision
    status = {"observedGeneration": sts["metadata"].get("generation", 1), "replicas": len(pods),
              "readyReplicas": ready, "currentReplicas": sum(
                  1 for p in pods if p["metadata"]["labels"].get(REVISION_LABEL) == current),
              "updatedReplicas": len(updated), "availableReplicas": ready, "currentRevision": current,
              "updateRevision": revision, "collisionCount": 0}
    return {k: v for k, v in status.items() if v or k in ("replicas", "observedGeneration", "collisionCount",
                                                          "availableReplicas")}


def reconcile(ctx: Context, key: Key) -> None:
    sts = ctx.obj(STATEFULSETS, key[0], key[1])
    if sts is None or deleting(sts):
        return
    revision = f"{key[1]}-{template_hash(sts['spec']['template'])}"
    labels = dict((sts["spec"].get("selector") or {}).get("matchLabels") or {})
    ensure_revision(ctx, sts, revision, sts["spec"]["template"], {**labels, REVISION_LABEL: revision})
    pods = {ordinal(sts, p): p for p in live_pods(ctx, sts)}
    _step(ctx, sts, pods, revision)
    write_status(ctx, STATEFULSETS, sts, _status(sts, live_pods(ctx, sts), revision))



CONTROLLER = Controller("statefulsets", triggers, reconcile)
