"""Defaulting as the apiserver's registry strategies do it on create and update."""

from __future__ import annotations

import base64
import zlib
from typing import Any

from . import crds
from .resources import ResourceType

_WORKLOADS = {("apps", "deployments"), ("apps", "replicasets"), ("apps", "statefulsets"),
              ("apps", "daemonsets"), ("batch", "jobs")}


def on_create(rt: ResourceType, obj: dict[str, Any]) -> None:
    if "status" in rt.subresources and rt.kind != "Node":
        obj["status"] = {}
    _common(rt, obj)
    key = rt.key
    if key == ("", "namespaces"):
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj["status"] = {"phase": "Active"}
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
    elif key == ("", "pods"):
        obj["status"] = {"phase": "Pending", "qosClass": qos_class(obj.get("spec") or {})}
    elif key in {("", "persistentvolumeclaims"), ("", "persistentvolumes")}:
        obj["status"] = {"phase": "Pending"}
    elif key == ("", "services"):
        obj["status"] = {"loadBalancer": {}}
    elif key == crds.CRD_KEY:
        obj["status"] = crds.initial_status(obj)
    elif key == ("batch", "jobs"):
        _job_selector(obj)


def on_update(rt: ResourceType, new: dict[str, Any], current: dict[str, Any]) -> None:
    if rt.key == ("", "services"):
        old_spec, spec = current.get("spec") or {}, new.setdefault("spec", {})
        for field in ("clusterIP", "clusterIPs"):
            if not spec.get(field) and old_spec.get(field):
                spec[field] = old_spec[field]
    _common(rt, new)


def _common(rt: ResourceType, obj: dict[str, Any]) -> None:
    key = rt.key
    spec = obj.get("spec")
    if key == ("", "pods") and isinstance(spec, dict):
        pod_spec(spec)
    elif key in _WORKLOADS and isinstance(spec, dict):
        _workload(key, spec)
    elif key == ("batch", "cronjobs") and isinstance(spec, dict):
        for field, value in (("concurrencyPolicy", "Allow"), ("suspend", False),
                             ("successfulJobsHistoryLimit", 3), ("failedJobsHistoryLimit", 1)):
            spec.setdefault(field, value)
        job_spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
        _template(job_spec, "Never")
    elif key == ("", "services") and isinstance(spec, dict):
        _service(obj, spec)
    elif key == ("", "secrets"):
        _secret(obj)


def pod_spec(spec: dict[str, Any], restart: str = "Always") -> None:
    for field, value in (("restartPolicy", restart), ("dnsPolicy", "ClusterFirst"),
                         ("schedulerName", "default-scheduler"), ("securityContext", {}),
                         ("terminationGracePeriodSeconds", 30)):
        spec.setdefault(field, value)
    for group in ("initContainers", "containers"):
        for container in spec.get(group) or []:
            if not isinstance(container, dict):
                continue
            image = str(container.get("image", ""))
            tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else "latest"
            container.setdefault("imagePullPolicy", "Always" if tag == "latest" else "IfNotPresent")
            container.setdefault("terminationMessagePath", "/dev/termination-log")
            container.setdefault("terminationMessagePolicy", "File")
            container.setdefault("resources", {})
            for port in container.get("ports") or []:
                if isinstance(port, dict):
                    port.setdefault("protocol", "TCP")


def _template(spec: dict[str, Any], restart: str) -> None:
    template = spec.get("template")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        pod_spec(template["spec"], restart)


def _workload(key: tuple[str, str], spec: dict[str, Any]) -> None:
    if key == ("batch", "jobs"):
        for field, value in (("completions", 1), ("parallelism", 1), ("backoffLimit", 6),
                             ("completionMode", "NonIndexed"), ("suspend", False)):
            spec.setdefault(field, value)
        _template(spec, "Never")
        return
    if key != ("apps", "daemonsets"):
        spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    if key == ("apps", "deployments"):
        spec.setdefault("progressDeadlineSeconds", 600)
        spec.setdefault("strategy", {"type": "RollingUpdate",
                                     "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}})
    elif key == ("apps", "statefulsets"):
        spec.setdefault("podManagementPolicy", "OrderedReady")
        spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
    elif key == ("apps", "daemonsets"):
        spec.setdefault("updateStrategy", {"type": "RollingUpdate",
                                           "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}})
    _template(spec, "Always")


def _job_selector(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    if spec.get("manualSelector") or spec.get("selector"):
        return
    uid = obj["metadata"]["uid"]
    labels = {"batch.kubernetes.io/controller-uid": uid, "controller-uid": uid}
    spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    template = spec.setdefault("template", {})
    template.setdefault("metadata", {}).setdefault("labels", {}).update(labels)


def _service(obj: dict[str, Any], spec: dict[str, Any]) -> None:
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["type"] != "ExternalName":
        if not spec.get("clusterIP"):
            meta = obj.get("metadata") or {}
            digest = zlib.crc32(f"{meta.get('namespace')}/{meta.get('name')}".encode())
            spec["clusterIP"] = f"10.96.{(digest >> 8) % 256}.{digest % 254 + 1}"
        spec.setdefault("clusterIPs", [spec["clusterIP"]] if spec["clusterIP"] != "None" else ["None"])
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))


def _secret(obj: dict[str, Any]) -> None:
    obj.setdefault("type", "Opaque")
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict):
        data = obj.setdefault("data", {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()


def qos_class(spec: dict[str, Any]) -> str:
    containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
    requests = [(c.get("resources") or {}).get("requests") or {} for c in containers]
    limits = [(c.get("resources") or {}).get("limits") or {} for c in containers]
    if not any(requests) and not any(limits):
        return "BestEffort"
    guaranteed = all(
        lim.get("cpu") and lim.get("memory") and (not req or req == {k: lim[k] for k in req if k in lim})
        for req, lim in zip(requests, limits, strict=True)
    )
    return "Guaranteed" if guaranteed else "Burstable"
