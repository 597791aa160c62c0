"""Known fields of the common kinds, for fieldValidation=Strict and the OpenAPI documents.

A type maps field -> type name; "" means a scalar or free-form value that is not checked further.
Kinds not described here are accepted as they come.
"""

from __future__ import annotations

from typing import Any

from .resources import ResourceType

_T = dict[str, str]


def _fields(names: str, **typed: str) -> _T:
    out = {name: "" for name in names.split()}
    out.update(typed)
    return out


TYPES: dict[str, _T] = {
    "ObjectMeta": _fields("name generateName namespace uid resourceVersion generation creationTimestamp "
                          "deletionTimestamp deletionGracePeriodSeconds labels annotations ownerReferences "
                          "finalizers managedFields selfLink"),
    "PodTemplateSpec": _fields("", metadata="ObjectMeta", spec="PodSpec"),
    "PodSpec": _fields(
        "volumes ephemeralContainers restartPolicy terminationGracePeriodSeconds activeDeadlineSeconds "
        "dnsPolicy nodeSelector serviceAccountName serviceAccount automountServiceAccountToken nodeName "
        "hostNetwork hostPID hostIPC shareProcessNamespace securityContext imagePullSecrets hostname subdomain "
        "affinity schedulerName tolerations hostAliases priorityClassName priority dnsConfig readinessGates "
        "runtimeClassName enableServiceLinks preemptionPolicy overhead topologySpreadConstraints "
        "setHostnameAsFQDN os hostUsers schedulingGates resourceClaims resources",
        containers="Container[]", initContainers="Container[]"),
    "Container": _fields(
        "name image command args workingDir ports envFrom env resources resizePolicy restartPolicy "
        "volumeMounts volumeDevices livenessProbe readinessProbe startupProbe lifecycle terminationMessagePath "
        "terminationMessagePolicy imagePullPolicy securityContext stdin stdinOnce tty"),
    "DeploymentSpec": _fields("replicas selector strategy minReadySeconds revisionHistoryLimit paused "
                              "progressDeadlineSeconds", template="PodTemplateSpec"),
    "ReplicaSetSpec": _fields("replicas minReadySeconds selector", template="PodTemplateSpec"),
    "StatefulSetSpec": _fields("replicas selector volumeClaimTemplates serviceName podManagementPolicy "
                               "updateStrategy revisionHistoryLimit minReadySeconds "
                               "persistentVolumeClaimRetentionPolicy ordinals", template="PodTemplateSpec"),
    "DaemonSetSpec": _fields("selector updateStrategy minReadySeconds revisionHistoryLimit",
                             template="PodTemplateSpec"),
    "JobSpec": _fields("parallelism completions activeDeadlineSeconds podFailurePolicy successPolicy "
                       "backoffLimit backoffLimitPerIndex maxFailedIndexes selector manualSelector "
                       "ttlSecondsAfterFinished completionMode suspend podReplacementPolicy managedBy",
                       template="PodTemplateSpec"),
    "ServiceSpec": _fields("ports selector clusterIP clusterIPs type externalIPs sessionAffinity loadBalancerIP "
                           "loadBalancerSourceRanges externalName externalTrafficPolicy healthCheckNodePort "
                           "publishNotReadyAddresses sessionAffinityConfig ipFamilies ipFamilyPolicy "
                           "allocateLoadBalancerNodePorts loadBalancerClass internalTrafficPolicy "
                           "trafficDistribution"),
}

KINDS: dict[str, _T] = {
    "Pod": _fields("status", metadata="ObjectMeta", spec="PodSpec"),
    "Deployment": _fields("status", metadata="ObjectMeta", spec="DeploymentSpec"),
    "ReplicaSet": _fields("status", metadata="ObjectMeta", spec="ReplicaSetSpec"),
    "StatefulSet": _fields("status", metadata="ObjectMeta", spec="StatefulSetSpec"),
    "DaemonSet": _fields("status", metadata="ObjectMeta", spec="DaemonSetSpec"),
    "Job": _fields("status", metadata="ObjectMeta", spec="JobSpec"),
    "Service": _fields("status", metadata="ObjectMeta", spec="ServiceSpec"),
    "ConfigMap": _fields("data binaryData immutable", metadata="ObjectMeta"),
    "Secret": _fields("data stringData type immutable", metadata="ObjectMeta"),
    "Namespace": _fields("spec status", metadata="ObjectMeta"),
    "ServiceAccount": _fields("secrets imagePullSecrets automountServiceAccountToken", metadata="ObjectMeta"),
}


def unknown_fields(rt: ResourceType, obj: dict[str, Any]) -> list[str]:
    fields = KINDS.get(rt.kind) if rt.group in ("", "apps", "batch") else None
    if fields is None:
        return []
    found: list[str] = []
    for key, value in obj.items():
        if key in ("apiVersion", "kind"):
            continue
        _check(key, value, fields, "", found)
    return found


def _check(key: str, value: Any, fields: _T, prefix: str, found: list[str]) -> None:
    if key.startswith("$"):
        return
    path = f"{prefix}.{key}" if prefix else key
    if key not in fields:
        found.append(path)
        return
    type_name = fields[key]
    if not type_name:
        return
    many = type_name.endswith("[]")
    sub_fields = TYPES[type_name.removesuffix("[]")]
    items = value if many and isinstance(value, list) else [value]
    for index, item in enumerate(items):
        if isinstance(item, dict):
            item_path = f"{path}[{index}]" if many else path
            for sub_key, sub_value in item.items():
                _check(sub_key, sub_value, sub_fields, item_path, found)


def prune(rt: ResourceType, obj: dict[str, Any]) -> None:
    """Drop the fields a typed decoder would drop (Ignore and Warn keep the request, not the fields)."""
    fields = KINDS.get(rt.kind) if rt.group in ("", "apps", "batch") else None
    if fields is not None:
        _prune(obj, fields, top=True)


def _prune(obj: dict[str, Any], fields: _T, top: bool = False) -> None:
    for key in list(obj):
        if top and key in ("apiVersion", "kind"):
            continue
        if key not in fields:
            del obj[key]
            continue
        type_name = fields[key]
        if not type_name:
            continue
        sub_fields = TYPES[type_name.removesuffix("[]")]
        value = obj[key]
        items = value if type_name.endswith("[]") and isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, dict):
                _prune(item, sub_fields)
