"""Objects for the topology tests: kubesim's ``small`` profile loaded in-process, plus hand-written
manifests (namespaces ``lab`` and ``other``) for what the profile lacks: a PodDisruptionBudget, a
ClusterRoleBinding with User and Group subjects, an Ingress default backend, init containers,
image pull secrets, failing workloads, unused ConfigMaps/Secrets/claims and a Service selecting
nothing. List items carry no ``kind``/``apiVersion``, as in a LIST answer.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from kubesim.fleet import _bootstrap
from kubesim.profiles import load_profile
from kubesim.store import ClusterState, copy_obj

Objects = dict[str, list[dict[str, Any]]]
LAB = "lab"


def small_profile(seed: int = 0) -> Objects:
    state = ClusterState("cluster-0")
    _bootstrap(state)
    load_profile(state, "small", seed, 0)
    objects: Objects = defaultdict(list)
    for rt in state.resources.all():
        if not rt.storage:
            continue
        for obj in state.scan(rt):
            item = copy_obj(obj)
            item.pop("kind", None)
            item.pop("apiVersion", None)
            objects[rt.kind].append(item)
    return dict(objects)


def cluster_objects() -> Objects:
    """The small profile and the hand-written manifests together."""
    objects = small_profile()
    for kind, items in lab_objects().items():
        objects.setdefault(kind, []).extend(items)
    return objects


def _meta(name: str, ns: str | None = LAB, labels: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "uid": f"uid-{ns or ''}-{name}", "labels": labels or {}, **extra}
    if ns:
        meta["namespace"] = ns
    return meta


def _owner(kind: str, name: str) -> dict[str, Any]:
    return {"ownerReferences": [{"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": f"uid-{LAB}-{name}",
                                 "controller": True}]}


def _conditions(**values: str) -> list[dict[str, str]]:
    return [{"type": k, "status": v} for k, v in values.items()]


def pod(name: str, labels: dict[str, str], state: str = "ready", ns: str = LAB, owner: tuple[str, str] | None = None,
        **spec: Any) -> dict[str, Any]:
    """A pod whose status is ``ready``, ``crash`` (CrashLoopBackOff), ``failed`` or ``pending``."""
    status: dict[str, Any] = {"phase": {"ready": "Running", "crash": "Running"}.get(state, state.capitalize())}
    if state == "ready":
        status["conditions"] = _conditions(Ready="True")
    if state == "crash":
        status["conditions"] = _conditions(Ready="False")
        status["containerStatuses"] = [{"name": "main", "ready": False,
                                        "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]
    extra = _owner(*owner) if owner else {}
    body = {"containers": [{"name": "main", "image": "busybox:1.36"}], **spec}
    return {"metadata": _meta(name, ns, labels, **extra), "spec": body, "status": status}


def _workloads() -> Objects:
    shaky = {"app": "shaky"}
    broken = {"app": "broken"}
    return {
        "Deployment": [
            {"metadata": _meta("shaky", labels=shaky), "spec": {"replicas": 3},
             "status": {"replicas": 3, "availableReplicas": 1, "readyReplicas": 1}},
            {"metadata": _meta("broken", labels=broken), "spec": {"replicas": 2},
             "status": {"replicas": 2, "availableReplicas": 0, "conditions": _conditions(Available="False")}},
        ],
        "ReplicaSet": [
            {"metadata": _meta("shaky-abc", labels=shaky, **_owner("Deployment", "shaky")), "spec": {"replicas": 3},
             "status": {"replicas": 3, "readyReplicas": 1}},
            {"metadata": _meta("broken-r", labels=broken, **_owner("Deployment", "broken")), "spec": {"replicas": 2},
             "status": {"replicas": 2, "readyReplicas": 0}},
        ],
        "CronJob": [{"metadata": _meta("nightly"), "spec": {"schedule": "0 3 * * *"}}],
        "Job": [{"metadata": _meta("nightly-1", **_owner("CronJob", "nightly")), "status": {"active": 1}}],
        "Pod": [
            pod("shaky-abc-1", shaky, owner=("ReplicaSet", "shaky-abc"), serviceAccountName="shaky",
                volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "lab-data"}}]),
            pod("shaky-abc-2", shaky, "crash", owner=("ReplicaSet", "shaky-abc"), serviceAccountName="shaky"),
            pod("shaky-abc-3", shaky, "failed", owner=("ReplicaSet", "shaky-abc"), serviceAccountName="shaky"),
            pod("broken-r-1", broken, "crash", owner=("ReplicaSet", "broken-r")),
            pod("broken-r-2", broken, "crash", owner=("ReplicaSet", "broken-r")),
            pod("nightly-1-x", {"job-name": "nightly-1"}, "failed", owner=("Job", "nightly-1")),
            pod("toolbox", {"app": "toolbox"}, "pending", serviceAccountName="toolbox",
                imagePullSecrets=[{"name": "registry-creds"}],
                initContainers=[{"name": "init", "image": "busybox:1.36", "env": [
                    {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "init-config", "key": "mode"}}}]}],
                volumes=[{"name": "creds", "secret": {"secretName": "missing-secret"}}]),
            pod("impostor", shaky, ns="other"),
        ],
    }


def _config() -> Objects:
    return {
        "ConfigMap": [
            {"metadata": _meta("init-config"), "data": {"mode": "fast"}},
            {"metadata": _meta("unused-config"), "data": {"a": "b"}},
            {"metadata": _meta("kube-root-ca.crt"), "data": {"ca.crt": "..."}},
        ],
        "Secret": [
            {"metadata": _meta("registry-creds"), "type": "kubernetes.io/dockerconfigjson"},
            {"metadata": _meta("unused-secret"), "type": "Opaque"},
            {"metadata": _meta("toolbox-token", annotations={"kubernetes.io/service-account.name": "toolbox"}),
             "type": "kubernetes.io/service-account-token"},
            {"metadata": _meta("sh.helm.release.v1.lab.v1", labels={"owner": "helm"}), "type": "helm.sh/release.v1"},
        ],
        "PersistentVolumeClaim": [
            {"metadata": _meta("lab-data"), "spec": {"volumeName": "lab-pv", "storageClassName": "manual"},
             "status": {"phase": "Bound"}},
            {"metadata": _meta("scratch"), "spec": {"storageClassName": "manual"}, "status": {"phase": "Pending"}},
        ],
        "PersistentVolume": [
            {"metadata": _meta("lab-pv", None), "spec": {"storageClassName": "manual"}, "status": {"phase": "Bound"}},
        ],
    }


def _network() -> Objects:
    return {
        "Namespace": [{"metadata": _meta(n, None), "status": {"phase": "Active"}} for n in (LAB, "other")],
        "Service": [
            {"metadata": _meta("shaky"), "spec": {"selector": {"app": "shaky"}}},
            {"metadata": _meta("ghost"), "spec": {"selector": {"app": "ghost"}}},
        ],
        "Ingress": [{"metadata": _meta("lab"), "spec": {
            "defaultBackend": {"service": {"name": "shaky", "port": {"number": 80}}},
            "rules": [{"host": "lab.example.com", "http": {"paths": [
                {"path": "/ghost", "pathType": "Prefix",
                 "backend": {"service": {"name": "ghost", "port": {"number": 80}}}}]}}]}}],
        "NetworkPolicy": [{"metadata": _meta("deny-all"), "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}],
        "PodDisruptionBudget": [{"metadata": _meta("shaky"), "spec": {
            "minAvailable": 2, "selector": {"matchExpressions": [
                {"key": "app", "operator": "In", "values": ["shaky"]}]}}}],
        "HorizontalPodAutoscaler": [{"metadata": _meta("shaky"), "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "shaky"}}}],
    }


def _rbac() -> Objects:
    return {
        "ServiceAccount": [{"metadata": _meta("shaky")}],
        "ClusterRole": [{"metadata": _meta("viewer", None), "rules": []}],
        "ClusterRoleBinding": [{"metadata": _meta("viewers", None), "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "viewer"}, "subjects": [
            {"kind": "ServiceAccount", "name": "toolbox", "namespace": LAB},
            {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice@example.com"},
            {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "auditors"}]}],
        "RoleBinding": [{"metadata": _meta("lab-view"), "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "viewer"},
            "subjects": [{"kind": "ServiceAccount", "name": "shaky"}]}],
    }


def lab_objects() -> Objects:
    objects: Objects = {}
    for part in (_workloads(), _config(), _network(), _rbac()):
        for kind, items in part.items():
            objects.setdefault(kind, []).extend(items)
    return objects
