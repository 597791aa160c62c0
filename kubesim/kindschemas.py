"""The type schemas of the built-in kinds, written compactly and compiled to OpenAPI v3 schemas.

They say what the apiserver's OpenAPI types say of the fields that clients read back typed
(counts, ports, flags, lists, maps): a typed decoder fails on a wrong type, so the apiserver
refuses it, and so does kubesim. Value rules (names, selectors, required fields) live in
validation.py. Notation: S, I, B, N are string, integer, boolean, number; IOS an int-or-string
(ports, surge counts), QTY a quantity (a string or a number); FREE any object; a dict an object
with those fields (others are tolerated); [x] a list of x; {"*": x} a map of string to x.
"""

from __future__ import annotations

from typing import Any

from .schemacheck import Schema

S, I, B, N = "string", "integer", "boolean", "number"  # noqa: E741 - the notation above
IOS, QTY, FREE = "int-or-string", "quantity", "object"
STRINGS: dict[str, Any] = {"*": S}
QUANTITIES: dict[str, Any] = {"*": QTY}

OWNER = {"apiVersion": S, "kind": S, "name": S, "uid": S, "controller": B, "blockOwnerDeletion": B}
META = {
    "name": S, "generateName": S, "namespace": S, "uid": S, "resourceVersion": S, "generation": I,
    "creationTimestamp": S, "deletionTimestamp": S, "deletionGracePeriodSeconds": I, "selfLink": S,
    "labels": STRINGS, "annotations": STRINGS, "ownerReferences": [OWNER], "finalizers": [S],
    "managedFields": [{"manager": S, "operation": S, "apiVersion": S, "time": S, "fieldsType": S,
                       "fieldsV1": FREE, "subresource": S}],
}
SELECTOR = {"matchLabels": STRINGS, "matchExpressions": [{"key": S, "operator": S, "values": [S]}]}
REFERENCE = {"kind": S, "namespace": S, "name": S, "uid": S, "apiVersion": S, "resourceVersion": S,
             "fieldPath": S}
CONDITION = {"type": S, "status": S, "reason": S, "message": S, "lastTransitionTime": S, "lastUpdateTime": S,
             "lastProbeTime": S, "lastHeartbeatTime": S, "observedGeneration": I}
RESOURCES = {"limits": QUANTITIES, "requests": QUANTITIES, "claims": [{"name": S, "request": S}]}
ACTION = {"exec": {"command": [S]},
          "httpGet": {"path": S, "port": IOS, "host": S, "scheme": S, "httpHeaders": [{"name": S, "value": S}]},
          "tcpSocket": {"port": IOS, "host": S}, "sleep": {"seconds": I}}
PROBE = {**ACTION, "grpc": {"port": I, "service": S}, "initialDelaySeconds": I, "timeoutSeconds": I,
         "periodSeconds": I, "successThreshold": I, "failureThreshold": I, "terminationGracePeriodSeconds": I}
SECURITY = {"runAsUser": I, "runAsGroup": I, "runAsNonRoot": B, "privileged": B, "readOnlyRootFilesystem": B,
            "allowPrivilegeEscalation": B, "procMount": S, "capabilities": {"add": [S], "drop": [S]},
            "seccompProfile": {"type": S, "localhostProfile": S}, "seLinuxOptions": STRINGS}
KEY_REF = {"name": S, "key": S, "optional": B}
CONTAINER = {
    "name": S, "image": S, "command": [S], "args": [S], "workingDir": S,
    "ports": [{"name": S, "containerPort": I, "hostPort": I, "protocol": S, "hostIP": S}],
    "env": [{"name": S, "value": S, "valueFrom": {
        "configMapKeyRef": KEY_REF, "secretKeyRef": KEY_REF, "fieldRef": {"apiVersion": S, "fieldPath": S},
        "resourceFieldRef": {"containerName": S, "resource": S, "divisor": QTY}}}],
    "envFrom": [{"prefix": S, "configMapRef": {"name": S, "optional": B}, "secretRef": {"name": S, "optional": B}}],
    "resources": RESOURCES, "resizePolicy": [{"resourceName": S, "restartPolicy": S}], "restartPolicy": S,
    "volumeMounts": [{"name": S, "mountPath": S, "readOnly": B, "subPath": S, "subPathExpr": S,
                      "mountPropagation": S, "recursiveReadOnly": S}],
    "volumeDevices": [{"name": S, "devicePath": S}],
    "livenessProbe": PROBE, "readinessProbe": PROBE, "startupProbe": PROBE,
    "lifecycle": {"postStart": ACTION, "preStop": ACTION, "stopSignal": S},
    "terminationMessagePath": S, "terminationMessagePolicy": S, "imagePullPolicy": S, "securityContext": SECURITY,
    "stdin": B, "stdinOnce": B, "tty": B,
}
ITEMS = [{"key": S, "path": S, "mode": I}]
VOLUME = {
    "name": S, "configMap": {"name": S, "items": ITEMS, "defaultMode": I, "optional": B},
    "secret": {"secretName": S, "items": ITEMS, "defaultMode": I, "optional": B},
    "persistentVolumeClaim": {"claimName": S, "readOnly": B}, "emptyDir": {"medium": S, "sizeLimit": QTY},
    "hostPath": {"path": S, "type": S}, "projected": {"defaultMode": I, "sources": [FREE]},
    "downwardAPI": {"defaultMode": I, "items": [FREE]}, "csi": {"driver": S, "readOnly": B, "fsType": S,
                                                                  "volumeAttributes": STRINGS},
}
POD_SPEC = {
    "containers": [CONTAINER], "initContainers": [CONTAINER], "ephemeralContainers": [CONTAINER],
    "volumes": [VOLUME], "restartPolicy": S, "terminationGracePeriodSeconds": I, "activeDeadlineSeconds": I,
    "dnsPolicy": S, "nodeSelector": STRINGS, "serviceAccountName": S, "serviceAccount": S,
    "automountServiceAccountToken": B, "nodeName": S, "hostNetwork": B, "hostPID": B, "hostIPC": B,
    "shareProcessNamespace": B, "hostname": S, "subdomain": S, "schedulerName": S, "priorityClassName": S,
    "priority": I, "runtimeClassName": S, "enableServiceLinks": B, "preemptionPolicy": S, "overhead": QUANTITIES,
    "setHostnameAsFQDN": B, "hostUsers": B, "imagePullSecrets": [{"name": S}], "affinity": FREE,
    "securityContext": {"runAsUser": I, "runAsGroup": I, "runAsNonRoot": B, "fsGroup": I,
                        "supplementalGroups": [I], "fsGroupChangePolicy": S, "sysctls": [{"name": S, "value": S}],
                        "seccompProfile": {"type": S, "localhostProfile": S}},
    "tolerations": [{"key": S, "operator": S, "value": S, "effect": S, "tolerationSeconds": I}],
    "topologySpreadConstraints": [{"maxSkew": I, "topologyKey": S, "whenUnsatisfiable": S, "minDomains": I,
                                   "labelSelector": SELECTOR, "matchLabelKeys": [S]}],
    "hostAliases": [{"ip": S, "hostnames": [S]}], "readinessGates": [{"conditionType": S}],
    "dnsConfig": {"nameservers": [S], "searches": [S], "options": [{"name": S, "value": S}]},
    "os": {"name": S}, "schedulingGates": [{"name": S}], "resources": RESOURCES,
}
CONTAINER_STATUS = {"name": S, "ready": B, "restartCount": I, "image": S, "imageID": S, "containerID": S,
                    "started": B, "state": FREE, "lastState": FREE, "resources": RESOURCES,
                    "allocatedResources": QUANTITIES}
POD_STATUS = {
    "phase": S, "conditions": [CONDITION], "message": S, "reason": S, "nominatedNodeName": S, "hostIP": S,
    "hostIPs": [{"ip": S}], "podIP": S, "podIPs": [{"ip": S}], "startTime": S, "qosClass": S,
    "containerStatuses": [CONTAINER_STATUS], "initContainerStatuses": [CONTAINER_STATUS],
    "ephemeralContainerStatuses": [CONTAINER_STATUS], "observedGeneration": I,
}
TEMPLATE = {"metadata": META, "spec": POD_SPEC}
CLAIM_SPEC = {"accessModes": [S], "selector": SELECTOR, "resources": RESOURCES, "volumeName": S,
              "storageClassName": S, "volumeMode": S, "dataSource": FREE, "dataSourceRef": FREE,
              "volumeAttributesClassName": S}
CLAIM_STATUS = {"phase": S, "accessModes": [S], "capacity": QUANTITIES, "conditions": [CONDITION],
                "allocatedResources": QUANTITIES}
ROLLING = {"maxSurge": IOS, "maxUnavailable": IOS, "partition": I}
WORKLOAD_STATUS = {
    "observedGeneration": I, "replicas": I, "updatedReplicas": I, "readyReplicas": I, "availableReplicas": I,
    "unavailableReplicas": I, "terminatingReplicas": I, "fullyLabeledReplicas": I, "currentReplicas": I,
    "collisionCount": I, "currentRevision": S, "updateRevision": S, "conditions": [CONDITION],
    "currentNumberScheduled": I, "numberMisscheduled": I, "desiredNumberScheduled": I, "numberReady": I,
    "updatedNumberScheduled": I, "numberAvailable": I, "numberUnavailable": I,
}
JOB_SPEC = {
    "parallelism": I, "completions": I, "activeDeadlineSeconds": I, "backoffLimit": I, "backoffLimitPerIndex": I,
    "maxFailedIndexes": I, "selector": SELECTOR, "manualSelector": B, "template": TEMPLATE,
    "ttlSecondsAfterFinished": I, "completionMode": S, "suspend": B, "podReplacementPolicy": S, "managedBy": S,
    "podFailurePolicy": {"rules": [FREE]}, "successPolicy": {"rules": [FREE]},
}
SERVICE_PORT = {"name": S, "protocol": S, "appProtocol": S, "port": I, "targetPort": IOS, "nodePort": I}
SLICE_PORT = {"name": S, "protocol": S, "port": I, "appProtocol": S}
LOAD_BALANCER = {"ingress": [{"ip": S, "hostname": S, "ipMode": S,
                              "ports": [{"port": I, "protocol": S, "error": S}]}]}
BACKEND = {"service": {"name": S, "port": {"name": S, "number": I}}, "resource": {"apiGroup": S, "kind": S, "name": S}}
PEER = {"podSelector": SELECTOR, "namespaceSelector": SELECTOR, "ipBlock": {"cidr": S, "except": [S]}}
POLICY_PORT = {"protocol": S, "port": IOS, "endPort": I}
RULE = {"verbs": [S], "apiGroups": [S], "resources": [S], "resourceNames": [S], "nonResourceURLs": [S]}
BINDING = {"subjects": [{"kind": S, "apiGroup": S, "name": S, "namespace": S}],
           "roleRef": {"apiGroup": S, "kind": S, "name": S}}
METRIC_TARGET = {"type": S, "value": QTY, "averageValue": QTY, "averageUtilization": I}
SCALING_RULES = {"stabilizationWindowSeconds": I, "selectPolicy": S,
                 "policies": [{"type": S, "value": I, "periodSeconds": I}]}
NODE_INFO = {name: S for name in ("machineID", "systemUUID", "bootID", "kernelVersion", "osImage",
                                 "containerRuntimeVersion", "kubeletVersion", "kubeProxyVersion",
                                 "operatingSystem", "architecture")}
CRD_VERSION = {"name": S, "served": B, "storage": B, "deprecated": B, "deprecationWarning": S,
               "schema": {"openAPIV3Schema": FREE}, "subresources": FREE, "selectableFields": [{"jsonPath": S}],
               "additionalPrinterColumns": [{"name": S, "type": S, "format": S, "description": S, "priority": I,
                                             "jsonPath": S}]}

# (group, kind) -> the object's fields besides apiVersion, kind and metadata.
_KINDS: dict[tuple[str, str], dict[str, Any]] = {
    ("", "Namespace"): {"spec": {"finalizers": [S]}, "status": {"phase": S, "conditions": [CONDITION]}},
    ("", "Node"): {
        "spec": {"podCIDR": S, "podCIDRs": [S], "providerID": S, "unschedulable": B,
                 "taints": [{"key": S, "value": S, "effect": S, "timeAdded": S}]},
        "status": {"capacity": QUANTITIES, "allocatable": QUANTITIES, "phase": S, "conditions": [CONDITION],
                   "addresses": [{"type": S, "address": S}], "nodeInfo": NODE_INFO,
                   "images": [{"names": [S], "sizeBytes": I}], "daemonEndpoints": {"kubeletEndpoint": {"Port": I}},
                   "volumesInUse": [S]}},
    ("", "Pod"): {"spec": POD_SPEC, "status": POD_STATUS},
    ("", "Service"): {
        "spec": {"ports": [SERVICE_PORT], "selector": STRINGS, "clusterIP": S, "clusterIPs": [S], "type": S,
                 "externalIPs": [S], "sessionAffinity": S, "loadBalancerIP": S, "loadBalancerSourceRanges": [S],
                 "externalName": S, "externalTrafficPolicy": S, "healthCheckNodePort": I,
                 "publishNotReadyAddresses": B, "ipFamilies": [S], "ipFamilyPolicy": S,
                 "allocateLoadBalancerNodePorts": B, "loadBalancerClass": S, "internalTrafficPolicy": S,
                 "trafficDistribution": S, "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": I}}},
        "status": {"loadBalancer": LOAD_BALANCER, "conditions": [CONDITION]}},
    ("", "Endpoints"): {"subsets": [{
        "addresses": [{"ip": S, "hostname": S, "nodeName": S, "targetRef": REFERENCE}],
        "notReadyAddresses": [{"ip": S, "hostname": S, "nodeName": S, "targetRef": REFERENCE}],
        "ports": [SLICE_PORT]}]},
    ("", "ConfigMap"): {"data": STRINGS, "binaryData": STRINGS, "immutable": B},
    ("", "Secret"): {"data": STRINGS, "stringData": STRINGS, "type": S, "immutable": B},
    ("", "ServiceAccount"): {"secrets": [REFERENCE], "imagePullSecrets": [{"name": S}],
                             "automountServiceAccountToken": B},
    ("", "PersistentVolumeClaim"): {"spec": CLAIM_SPEC, "status": CLAIM_STATUS},
    ("", "PersistentVolume"): {
        "spec": {"capacity": QUANTITIES, "accessModes": [S], "persistentVolumeReclaimPolicy": S,
                 "storageClassName": S, "volumeMode": S, "claimRef": REFERENCE, "mountOptions": [S],
                 "hostPath": {"path": S, "type": S}, "local": {"path": S, "fsType": S}, "csi": FREE, "nfs": FREE,
                 "nodeAffinity": FREE, "volumeAttributesClassName": S},
        "status": {"phase": S, "message": S, "reason": S, "lastPhaseTransitionTime": S}},
    ("", "Event"): {
        "involvedObject": REFERENCE, "reason": S, "message": S, "source": {"component": S, "host": S},
        "firstTimestamp": S, "lastTimestamp": S, "count": I, "type": S, "eventTime": S,
        "series": {"count": I, "lastObservedTime": S}, "action": S, "related": REFERENCE,
        "reportingComponent": S, "reportingInstance": S},
    ("", "ResourceQuota"): {"spec": {"hard": QUANTITIES, "scopes": [S], "scopeSelector": FREE},
                            "status": {"hard": QUANTITIES, "used": QUANTITIES}},
    ("", "LimitRange"): {"spec": {"limits": [{
        "type": S, "max": QUANTITIES, "min": QUANTITIES, "default": QUANTITIES, "defaultRequest": QUANTITIES,
        "maxLimitRequestRatio": QUANTITIES}]}},
    ("apps", "Deployment"): {
        "spec": {"replicas": I, "selector": SELECTOR, "template": TEMPLATE, "minReadySeconds": I,
                 "revisionHistoryLimit": I, "paused": B, "progressDeadlineSeconds": I,
                 "strategy": {"type": S, "rollingUpdate": ROLLING}},
        "status": WORKLOAD_STATUS},
    ("apps", "ReplicaSet"): {"spec": {"replicas": I, "minReadySeconds": I, "selector": SELECTOR,
                                      "template": TEMPLATE}, "status": WORKLOAD_STATUS},
    ("apps", "StatefulSet"): {
        "spec": {"replicas": I, "selector": SELECTOR, "template": TEMPLATE, "serviceName": S,
                 "podManagementPolicy": S, "updateStrategy": {"type": S, "rollingUpdate": ROLLING},
                 "revisionHistoryLimit": I, "minReadySeconds": I, "ordinals": {"start": I},
                 "volumeClaimTemplates": [{"apiVersion": S, "kind": S, "metadata": META, "spec": CLAIM_SPEC}],
                 "persistentVolumeClaimRetentionPolicy": {"whenDeleted": S, "whenScaled": S}},
        "status": WORKLOAD_STATUS},
    ("apps", "DaemonSet"): {
        "spec": {"selector": SELECTOR, "template": TEMPLATE, "minReadySeconds": I, "revisionHistoryLimit": I,
                 "updateStrategy": {"type": S, "rollingUpdate": ROLLING}},
        "status": WORKLOAD_STATUS},
    ("apps", "ControllerRevision"): {"data": FREE, "revision": I},
    ("autoscaling", "HorizontalPodAutoscaler"): {
        "spec": {"scaleTargetRef": {"kind": S, "name": S, "apiVersion": S}, "minReplicas": I, "maxReplicas": I,
                 "metrics": [{"type": S, "resource": {"name": S, "target": METRIC_TARGET},
                              "containerResource": {"name": S, "container": S, "target": METRIC_TARGET},
                              "pods": FREE, "object": FREE, "external": FREE}],
                 "behavior": {"scaleUp": SCALING_RULES, "scaleDown": SCALING_RULES}},
        "status": {"observedGeneration": I, "lastScaleTime": S, "currentReplicas": I, "desiredReplicas": I,
                   "currentMetrics": [FREE], "conditions": [CONDITION]}},
    ("autoscaling", "Scale"): {"spec": {"replicas": I}, "status": {"replicas": I, "selector": S}},
    ("batch", "Job"): {"spec": JOB_SPEC, "status": {
        "startTime": S, "completionTime": S, "active": I, "succeeded": I, "failed": I, "ready": I, "terminating": I,
        "completedIndexes": S, "failedIndexes": S, "conditions": [CONDITION], "uncountedTerminatedPods": FREE}},
    ("batch", "CronJob"): {
        "spec": {"schedule": S, "timeZone": S, "startingDeadlineSeconds": I, "concurrencyPolicy": S, "suspend": B,
                 "jobTemplate": {"metadata": META, "spec": JOB_SPEC}, "successfulJobsHistoryLimit": I,
                 "failedJobsHistoryLimit": I},
        "status": {"active": [REFERENCE], "lastScheduleTime": S, "lastSuccessfulTime": S}},
    ("networking.k8s.io", "Ingress"): {
        "spec": {"ingressClassName": S, "defaultBackend": BACKEND, "tls": [{"hosts": [S], "secretName": S}],
                 "rules": [{"host": S, "http": {"paths": [{"path": S, "pathType": S, "backend": BACKEND}]}}]},
        "status": {"loadBalancer": LOAD_BALANCER}},
    ("networking.k8s.io", "NetworkPolicy"): {"spec": {
        "podSelector": SELECTOR, "policyTypes": [S], "ingress": [{"from": [PEER], "ports": [POLICY_PORT]}],
        "egress": [{"to": [PEER], "ports": [POLICY_PORT]}]}},
    ("rbac.authorization.k8s.io", "Role"): {"rules": [RULE]},
    ("rbac.authorization.k8s.io", "ClusterRole"): {"rules": [RULE],
                                                   "aggregationRule": {"clusterRoleSelectors": [SELECTOR]}},
    ("rbac.authorization.k8s.io", "RoleBinding"): BINDING,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): BINDING,
    ("storage.k8s.io", "StorageClass"): {
        "provisioner": S, "parameters": STRINGS, "reclaimPolicy": S, "mountOptions": [S], "allowVolumeExpansion": B,
        "volumeBindingMode": S, "allowedTopologies": [FREE]},
    ("apiextensions.k8s.io", "CustomResourceDefinition"): {
        "spec": {"group": S, "scope": S, "preserveUnknownFields": B, "conversion": FREE, "versions": [CRD_VERSION],
                 "names": {"plural": S, "singular": S, "kind": S, "listKind": S, "shortNames": [S],
                           "categories": [S]}},
        "status": FREE},
    ("discovery.k8s.io", "EndpointSlice"): {
        "addressType": S, "ports": [SLICE_PORT],
        "endpoints": [{"addresses": [S], "conditions": {"ready": B, "serving": B, "terminating": B},
                       "hostname": S, "targetRef": REFERENCE, "nodeName": S, "zone": S,
                       "hints": {"forZones": [{"name": S}], "forNodes": [{"name": S}]}}]},
    ("policy", "PodDisruptionBudget"): {
        "spec": {"minAvailable": IOS, "maxUnavailable": IOS, "selector": SELECTOR, "unhealthyPodEvictionPolicy": S},
        "status": {"observedGeneration": I, "disruptedPods": STRINGS, "disruptionsAllowed": I, "currentHealthy": I,
                   "desiredHealthy": I, "expectedPods": I, "conditions": [CONDITION]}},
}

_SCALARS: dict[str, Schema] = {
    S: {"type": S}, I: {"type": I}, B: {"type": B}, N: {"type": N}, FREE: {"type": "object"},
    IOS: {"x-kubernetes-int-or-string": True}, QTY: {"type": [N, S]},
}


def compile_schema(compact: Any) -> Schema:
    if isinstance(compact, list):
        return {"type": "array", "items": compile_schema(compact[0])}
    if isinstance(compact, dict):
        if set(compact) == {"*"}:
            return {"type": "object", "additionalProperties": compile_schema(compact["*"])}
        return {"type": "object", "properties": {k: compile_schema(v) for k, v in compact.items()}}
    return _SCALARS[compact]


OBJECT_META: Schema = compile_schema(META)
_COMPILED: dict[tuple[str, str], Schema] = {
    key: compile_schema({"apiVersion": S, "kind": S, "metadata": META, **fields}) for key, fields in _KINDS.items()
}


def schema_of(group: str, kind: str) -> Schema | None:
    """The schema of a built-in kind, or None for a kind not described (only its metadata is checked)."""
    return _COMPILED.get((group, kind))
