"""PersistentVolumeClaims bound to matching PersistentVolumes, provisioned from a StorageClass when none
is available; released volumes are deleted or kept as their reclaim policy says."""

from __future__ import annotations

from typing import Any

from kubesim.controllers.base import Context, Controller, Key
from kubesim.controllers.cache import PODS
from kubesim.controllers.util import deleting
from kubesim.quantity import parse_quantity
from kubesim.resources import ResourceType

PVCS = ("", "persistentvolumeclaims")
PVS = ("", "persistentvolumes")
CLASSES = ("storage.k8s.io", "storageclasses")
DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
COMPONENT = "persistentvolume-controller"


def triggers(ctx: Context, event: str, rt: ResourceType, obj: dict[str, Any],
             old: dict[str, Any] | None) -> list[Key]:
    meta = obj["metadata"]
    if rt.key == PVCS:
        keys: list[Key] = [] if event == "DELETED" else [("claim", meta.get("namespace", ""), meta["name"])]
        volume = (obj.get("spec") or {}).get("volumeName")
        return keys + ([("volume", "", volume)] if volume else [])
    if rt.key == PVS and event != "DELETED":
        claim = (obj.get("spec") or {}).get("claimRef") or {}
        keys = [("volume", "", meta["name"])]
        if claim.get("name"):
            keys.append(("claim", claim.get("namespace", ""), claim["name"]))
        return keys
    if rt.key == PODS and (obj.get("spec") or {}).get("nodeName") and not (old or {}).get("spec", {}).get("nodeName"):
        return [("claim", meta.get("namespace", ""), v["persistentVolumeClaim"]["claimName"])
                for v in (obj.get("spec") or {}).get("volumes") or [] if v.get("persistentVolumeClaim")]
    return []


def class_of(ctx: Context, pvc: dict[str, Any]) -> dict[str, Any] | None:
    name = (pvc.get("spec") or {}).get("storageClassName")
    if name:
        return ctx.obj(CLASSES, "", name)
    if name == "":
        return None
    return next((sc for sc in ctx.cache.all(CLASSES)
                 if (sc["metadata"].get("annotations") or {}).get(DEFAULT_CLASS) == "true"), None)


def _fits(pv: dict[str, Any], pvc: dict[str, Any], class_name: str) -> bool:
    spec, want = pv.get("spec") or {}, pvc.get("spec") or {}
    claim = spec.get("claimRef")
    if (pv.get("status") or {}).get("phase") not in (None, "Available", "Pending") or deleting(pv):
        return False
    meta = pvc["metadata"]
    if claim and (claim.get("name"), claim.get("namespace")) != (meta["name"], meta.get("namespace")):
        return False
    if spec.get("storageClassName", "") != class_name:
        return False
    request = parse_quantity(((want.get("resources") or {}).get("requests") or {}).get("storage", "0"))
    if parse_quantity((spec.get("capacity") or {}).get("storage", "0")) < request:
        return False
    return set(want.get("accessModes") or []) <= set(spec.get("accessModes") or [])


def _consumer_scheduled(ctx: Context, pvc: dict[str, Any]) -> bool:
    name = pvc["metadata"]["name"]
    for pod in ctx.cache.in_namespace(PODS, pvc["metadata"].get("namespace", "")):
        claims = {(v.get("persistentVolumeClaim") or {}).get("claimName") for v in pod["spec"].get("volumes") or []}
        if name in claims and pod["spec"].get("nodeName"):
            return True
    return False


def _provision(ctx: Context, pvc: dict[str, Any], sc: dict[str, Any]) -> dict[str, Any]:
    spec = pvc.get("spec") or {}
    name = f"pvc-{pvc['metadata']['uid']}"
    storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
    pv = {"metadata": {"name": name, "annotations": {"pv.kubernetes.io/provisioned-by": sc.get("provisioner", ""),
                                                     "volume.kubernetes.io/provisioner-deletion-secret-name": ""}},
          "spec": {"capacity": {"storage": storage}, "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                   "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy", "Delete"),
                   "storageClassName": sc["metadata"]["name"], "volumeMode": spec.get("volumeMode", "Filesystem"),
                   "csi": {"driver": sc.get("provisioner", ""), "volumeHandle": name, "fsType": "ext4"}}}
    created = ctx.state.create(ctx.rt(*PVS), pv)
    ctx.event(pvc, "Normal", "ProvisioningSucceeded",
              f"Successfully provisioned volume {name}", f"{sc.get('provisioner', '')}_csi-provisioner")
    return created


def _bind(ctx: Context, pvc: dict[str, Any], pv: dict[str, Any], class_name: str) -> None:
    meta = pvc["metadata"]
    fresh_pv = ctx.state.get(ctx.rt(*PVS), None, pv["metadata"]["name"])
    fresh_pvc = ctx.state.get(ctx.rt(*PVCS), meta.get("namespace"), meta["name"])
    if fresh_pv is None or fresh_pvc is None:
        return
    fresh_pv["spec"]["claimRef"] = {"kind": "PersistentVolumeClaim", "namespace": meta.get("namespace"),
                                    "name": meta["name"], "uid": meta.get("uid"), "apiVersion": "v1",
                                    "resourceVersion": meta.get("resourceVersion")}
    fresh_pv = ctx.state.update(ctx.rt(*PVS), fresh_pv)
    fresh_pv["status"] = {"phase": "Bound"}
    ctx.state.update(ctx.rt(*PVS), fresh_pv, subresource="status")
    fresh_pvc["spec"]["volumeName"] = pv["metadata"]["name"]
    fresh_pvc["spec"]["storageClassName"] = class_name
    fresh_pvc["metadata"].setdefault("annotations", {}).update(
        {"pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes"})
    fresh_pvc = ctx.state.update(ctx.rt(*PVCS), fresh_pvc)
    fresh_pvc["status"] = {"phase": "Bound", "accessModes": pv["spec"].get("accessModes"),
                           "capacity": dict(pv["spec"].get("capacity") or {})}
    ctx.state.update(ctx.rt(*PVCS), fresh_pvc, subresource="status")


def _claim(ctx: Context, namespace: str, name: str) -> None:
    pvc = ctx.obj(PVCS, namespace, name)
    if pvc is None or deleting(pvc) or (pvc.get("status") or {}).get("phase") == "Bound":
        return
    sc = class_of(ctx, pvc)
    class_name = sc["metadata"]["name"] if sc else (pvc.get("spec") or {}).get("storageClassName", "")
    volume = next((pv for pv in sorted(ctx.cache.all(PVS), key=lambda v: v["metadata"]["name"])
                   if _fits(pv, pvc, class_name)), None)
    if volume is None and sc is not None and sc.get("provisioner") != "kubernetes.io/no-provisioner":
        if sc.get("volumeBindingMode") == "WaitForFirstConsumer" and not _consumer_scheduled(ctx, pvc):
            ctx.event(pvc, "Normal", "WaitForFirstConsumer",
                      "waiting for first consumer to be created before binding", COMPONENT)
            return
        volume = _provision(ctx, pvc, sc)
    if volume is None:
        ctx.event(pvc, "Normal", "FailedBinding",
                  "no persistent volumes available for this claim and no storage class is set", COMPONENT)
        return
    _bind(ctx, pvc, volume, class_name)


def _volume(ctx: Context, name: str) -> None:
    pv = ctx.obj(PVS, "", name)
    if pv is None or deleting(pv):
        return
    spec, status = pv.get("spec") or {}, pv.get("status") or {}
    claim = spec.get("claimRef")
    if not claim:
        if status.get("phase") != "Available":
            fresh = ctx.state.get(ctx.rt(*PVS), None, name)
            if fresh is not None:
                fresh["status"] = {"phase": "Available"}
                ctx.state.update(ctx.rt(*PVS), fresh, subresource="status")
        return
    pvc = ctx.obj(PVCS, claim.get("namespace", ""), claim.get("name", ""))
    if pvc is not None and (not claim.get("uid") or pvc["metadata"].get("uid") == claim.get("uid")):
        return
    if spec.get("persistentVolumeReclaimPolicy", "Retain") == "Delete":
        ctx.state.delete(ctx.rt(*PVS), None, name)
    elif status.get("phase") != "Released":
        fresh = ctx.state.get(ctx.rt(*PVS), None, name)
        if fresh is not None:
            fresh["status"] = {"phase": "Released"}
            ctx.state.update(ctx.rt(*PVS), fresh, subresource="status")


def reconcile(ctx: Context, key: Key) -> None:
    if key[0] == "claim":
        _claim(ctx, key[1], key[2])
    else:
        _volume(ctx, key[2])


CONTROLLER = Controller("persistentvolumes", triggers, reconcile)
