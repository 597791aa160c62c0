"""Decoding of the Kubernetes protobuf envelope for the kinds `kubectl create` sends.

client-go's typed clients (kubectl create configmap/secret/deployment/job --from=cronjob...) send
protobuf bodies and do not fall back to JSON on a 415. The messages below cover the fields those
commands produce; a body with any other kind or field number is refused with 415.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

MAGIC = b"k8s\x00"

# message -> field number -> (json name, type). Types: s string, b bytes, i int, t bool, m:X message,
# ms/mb/mq maps of string/bytes/Quantity, skip (ignored). "*" prefix: repeated; "?" suffix: keep zero.
_S = dict[int, tuple[str, str]]
MESSAGES: dict[str, _S] = {
    "Unknown": {1: ("typeMeta", "m:TypeMeta"), 2: ("raw", "b"), 3: ("contentEncoding", "s"),
                4: ("contentType", "s")},
    "TypeMeta": {1: ("apiVersion", "s"), 2: ("kind", "s")},
    "Time": {1: ("seconds", "i"), 2: ("nanos", "i")},
    "ObjectMeta": {1: ("name", "s"), 2: ("generateName", "s"), 3: ("namespace", "s"), 4: ("selfLink", "s"),
                   5: ("uid", "s"), 6: ("resourceVersion", "s"), 7: ("generation", "i"),
                   8: ("creationTimestamp", "time"), 9: ("deletionTimestamp", "time"),
                   10: ("deletionGracePeriodSeconds", "i?"), 11: ("labels", "ms"), 12: ("annotations", "ms"),
                   13: ("ownerReferences", "*m:OwnerReference"), 14: ("finalizers", "*s")},
    "OwnerReference": {1: ("kind", "s"), 3: ("name", "s"), 4: ("uid", "s"), 5: ("apiVersion", "s"),
                       6: ("controller", "t?"), 7: ("blockOwnerDeletion", "t?")},
    "LabelSelector": {1: ("matchLabels", "ms"), 2: ("matchExpressions", "*m:LabelSelectorRequirement")},
    "LabelSelectorRequirement": {1: ("key", "s"), 2: ("operator", "s"), 3: ("values", "*s")},
    "IntOrString": {1: ("type", "i"), 2: ("intVal", "i"), 3: ("strVal", "s")},
    "ConfigMap": {1: ("metadata", "m:ObjectMeta"), 2: ("data", "ms"), 3: ("binaryData", "mb"),
                  4: ("immutable", "t?")},
    "Secret": {1: ("metadata", "m:ObjectMeta"), 2: ("data", "mb"), 3: ("type", "s"), 4: ("stringData", "ms"),
               5: ("immutable", "t?")},
    "Namespace": {1: ("metadata", "m:ObjectMeta"), 2: ("spec", "m:NamespaceSpec"), 3: ("status", "skip")},
    "NamespaceSpec": {1: ("finalizers", "*s")},
    "ServiceAccount": {1: ("metadata", "m:ObjectMeta"), 2: ("secrets", "*m:ObjectReference"),
                       3: ("imagePullSecrets", "*m:LocalObjectReference"),
                       4: ("automountServiceAccountToken", "t?")},
    "ObjectReference": {1: ("kind", "s"), 2: ("namespace", "s"), 3: ("name", "s"), 4: ("uid", "s"),
                        5: ("apiVersion", "s"), 6: ("resourceVersion", "s"), 7: ("fieldPath", "s")},
    "LocalObjectReference": {1: ("name", "s")},
    "Service": {1: ("metadata", "m:ObjectMeta"), 2: ("spec", "m:ServiceSpec"), 3: ("status", "skip")},
    "ServiceSpec": {1: ("ports", "*m:ServicePort"), 2: ("selector", "ms"), 3: ("clusterIP", "s"), 4: ("type", "s"),
                    5: ("externalIPs", "*s"), 7: ("sessionAffinity", "s"), 8: ("loadBalancerIP", "s"),
                    10: ("externalName", "s"), 11: ("externalTrafficPolicy", "s"),
                    12: ("healthCheckNodePort", "i"), 13: ("publishNotReadyAddresses", "t")},
    "ServicePort": {1: ("name", "s"), 2: ("protocol", "s"), 3: ("port", "i"), 4: ("targetPort", "intstr"),
                    5: ("nodePort", "i")},
    "Deployment": {1: ("metadata", "m:ObjectMeta"), 2: ("spec", "m:DeploymentSpec"), 3: ("status", "skip")},
    "DeploymentSpec": {1: ("replicas", "i?"), 2: ("selector", "m:LabelSelector"), 3: ("template", "m:PodTemplateSpec"),
                       4: ("strategy", "m:DeploymentStrategy"), 5: ("minReadySeconds", "i"),
                       6: ("revisionHistoryLimit", "i?"), 7: ("paused", "t"), 9: ("progressDeadlineSeconds", "i?")},
    "DeploymentStrategy": {1: ("type", "s"), 2: ("rollingUpdate", "m:RollingUpdateDeployment")},
    "RollingUpdateDeployment": {1: ("maxUnavailable", "intstr"), 2: ("maxSurge", "intstr")},
    "Job": {1: ("metadata", "m:ObjectMeta"), 2: ("spec", "m:JobSpec"), 3: ("status", "skip")},
    "JobSpec": {1: ("parallelism", "i?"), 2: ("completions", "i?"), 3: ("activeDeadlineSeconds", "i?"),
                4: ("selector", "m:LabelSelector"), 5: ("manualSelector", "t?"), 6: ("template", "m:PodTemplateSpec"),
                7: ("backoffLimit", "i?"), 8: ("ttlSecondsAfterFinished", "i?"), 9: ("completionMode", "s?"),
                10: ("suspend", "t?")},
    "CronJob": {1: ("metadata", "m:ObjectMeta"), 2: ("spec", "m:CronJobSpec"), 3: ("status", "skip")},
    "CronJobSpec": {1: ("schedule", "s"), 2: ("startingDeadlineSeconds", "i?"), 3: ("concurrencyPolicy", "s"),
                    4: ("suspend", "t?"), 5: ("jobTemplate", "m:JobTemplateSpec"),
                    6: ("successfulJobsHistoryLimit", "i?"), 7: ("failedJobsHistoryLimit", "i?"),
                    8: ("timeZone", "s?")},
    "JobTemplateSpec": {1: ("metadata", "m:ObjectMeta"), 2: ("spec", "m:JobSpec")},
    "PodTemplateSpec": {1: ("metadata", "m:ObjectMeta"), 2: ("spec", "m:PodSpec")},
    "PodSpec": {2: ("containers", "*m:Container"), 3: ("restartPolicy", "s"),
                4: ("terminationGracePeriodSeconds", "i?"), 5: ("activeDeadlineSeconds", "i?"), 6: ("dnsPolicy", "s"),
                7: ("nodeSelector", "ms"), 8: ("serviceAccountName", "s"), 9: ("serviceAccount", "s"),
                10: ("nodeName", "s"), 11: ("hostNetwork", "t"), 12: ("hostPID", "t"), 13: ("hostIPC", "t"),
                14: ("securityContext", "m:Empty"), 15: ("imagePullSecrets", "*m:LocalObjectReference"),
                16: ("hostname", "s"), 17: ("subdomain", "s"), 19: ("schedulerName", "s"),
                20: ("initContainers", "*m:Container"), 24: ("priorityClassName", "s")},
    "Empty": {},
    "SelfSubjectAccessReview": {1: ("metadata", "m:ObjectMeta"), 2: ("spec", "m:SelfSubjectAccessReviewSpec"),
                                3: ("status", "skip")},
    "SelfSubjectAccessReviewSpec": {1: ("resourceAttributes", "m:ResourceAttributes"),
                                    2: ("nonResourceAttributes", "m:NonResourceAttributes")},
    "ResourceAttributes": {1: ("namespace", "s"), 2: ("verb", "s"), 3: ("group", "s"), 4: ("version", "s"),
                           5: ("resource", "s"), 6: ("subresource", "s"), 7: ("name", "s")},
    "NonResourceAttributes": {1: ("path", "s"), 2: ("verb", "s")},
    "SelfSubjectRulesReview": {1: ("metadata", "m:ObjectMeta"), 2: ("spec", "m:SelfSubjectRulesReviewSpec"),
                               3: ("status", "skip")},
    "SelfSubjectRulesReviewSpec": {1: ("namespace", "s")},
    "SelfSubjectReview": {1: ("metadata", "m:ObjectMeta"), 2: ("status", "skip")},
    "Container": {1: ("name", "s"), 2: ("image", "s"), 3: ("command", "*s"), 4: ("args", "*s"),
                  5: ("workingDir", "s"), 6: ("ports", "*m:ContainerPort"), 7: ("env", "*m:EnvVar"),
                  8: ("resources", "m:ResourceRequirements"), 13: ("terminationMessagePath", "s"),
                  14: ("imagePullPolicy", "s"), 16: ("stdin", "t"), 17: ("stdinOnce", "t"), 18: ("tty", "t"),
                  20: ("terminationMessagePolicy", "s")},
    "ContainerPort": {1: ("name", "s"), 2: ("hostPort", "i"), 3: ("containerPort", "i"), 4: ("protocol", "s"),
                      5: ("hostIP", "s")},
    "EnvVar": {1: ("name", "s"), 2: ("value", "s")},
    "ResourceRequirements": {1: ("limits", "mq"), 2: ("requests", "mq")},
}
KINDS = {"ConfigMap", "Secret", "Namespace", "ServiceAccount", "Service", "Deployment", "Job", "CronJob",
         "SelfSubjectAccessReview", "SelfSubjectRulesReview", "SelfSubjectReview"}


class DecodeError(ValueError):
    pass


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise DecodeError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return (result - (1 << 64) if result >= 1 << 63 else result), pos


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            out.append((number, value))
        elif wire == 2:
            size, pos = _varint(data, pos)
            if pos + size > len(data):
                raise DecodeError("truncated field")
            out.append((number, data[pos:pos + size]))
            pos += size
        else:
            raise DecodeError(f"unsupported wire type {wire}")
    return out


def _map_entry(data: bytes, kind: str) -> tuple[str, Any]:
    key, value = "", "" if kind != "mb" else b""
    for number, raw in _fields(data):
        if number == 1 and isinstance(raw, bytes):
            key = raw.decode()
        elif number == 2 and isinstance(raw, bytes):
            value = raw if kind == "mb" else raw.decode() if kind == "ms" else message(raw, "Quantity")
    if kind == "mb":
        return key, base64.b64encode(value if isinstance(value, bytes) else b"").decode()
    return key, value


def _scalar(kind: str, raw: int | bytes) -> Any:
    base = kind.rstrip("?")
    if base == "s":
        return raw.decode() if isinstance(raw, bytes) else str(raw)
    if base == "b":
        return raw
    if base == "t":
        return bool(raw)
    if base == "i":
        return int(raw) if isinstance(raw, int) else 0
    raise DecodeError(f"bad scalar {kind}")


def _special(kind: str, raw: bytes) -> Any:
    parts = {n: v for n, v in _fields(raw)}
    if kind == "time":
        seconds = parts.get(1, 0)
        if not seconds:
            return None
        return datetime.fromtimestamp(int(seconds), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if parts.get(1, 0) == 1:  # IntOrString holding a string
        value = parts.get(3, b"")
        return value.decode() if isinstance(value, bytes) else ""
    value = parts.get(2, 0)
    return value if isinstance(value, int) and value else None


def message(data: bytes, name: str) -> Any:
    if name == "Quantity":
        raw = dict(_fields(data)).get(1, b"")
        return raw.decode() if isinstance(raw, bytes) else ""
    schema = MESSAGES[name]
    out: dict[str, Any] = {}
    for number, raw in _fields(data):
        if number not in schema:
            raise DecodeError(f"{name} field {number} is not supported")
        field, kind = schema[number]
        repeated = kind.startswith("*")
        base = kind.lstrip("*")
        if base == "skip":
            continue
        if base in ("ms", "mb", "mq"):
            if not isinstance(raw, bytes):
                raise DecodeError(f"{name}.{field} is not a map")
            key, value = _map_entry(raw, base)
            out.setdefault(field, {})[key] = value
            continue
        if base.startswith("m:") or base in ("time", "intstr"):
            if not isinstance(raw, bytes):
                raise DecodeError(f"{name}.{field} is not a message")
            value = message(raw, base[2:]) if base.startswith("m:") else _special(base, raw)
        else:
            value = _scalar(base, raw)
        if repeated:
            out.setdefault(field, []).append(value)
        elif value not in (None, "", 0, False, {}) or base.endswith("?") or (base.startswith("m:") and
                                                                             name != "ObjectMeta"):
            out[field] = value
    return out


def decode(body: bytes) -> dict[str, Any]:
    """The JSON form of a protobuf-encoded object; DecodeError when it is not one we understand."""
    if not body.startswith(MAGIC):
        raise DecodeError("missing the protobuf envelope")
    envelope = message(body[len(MAGIC):], "Unknown")
    type_meta = envelope.get("typeMeta") or {}
    kind = type_meta.get("kind", "")
    if kind not in KINDS:
        raise DecodeError(f"kind {kind!r} is not supported in protobuf")
    obj = message(envelope.get("raw") or b"", kind)
    return {"apiVersion": type_meta.get("apiVersion", ""), "kind": kind, **obj}
