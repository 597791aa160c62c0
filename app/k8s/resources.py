"""Kubernetes resource kinds: where each lives in the API and how users may name it.

Built-in kinds are known statically; custom resources are found per cluster through
``ClusterClient.discover_kind`` because each cluster serves its own CRDs. The URL paths of a
kind's objects are built by ``app.k8s.paths``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.errors import BadUserInput

from .names import LABEL, SUBDOMAIN, problem


@dataclass(frozen=True)
class ResourceKind:
    kind: str
    group: str
    version: str
    plural: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """``plural.group`` as kubectl prints it (``deployments.apps``), ``plural`` for the core group."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def names(self) -> set[str]:
        """Every lower-case name this kind answers to."""
        names = {self.kind.lower(), self.plural, self.qualified, f"{self.kind.lower()}.{self.group}"}
        if self.singular:
            names.add(self.singular)
        names.update(self.short_names)
        return names


def _kind(api_version: str, kind: str, plural: str, namespaced: bool = True, short: str = "") -> ResourceKind:
    group, _, version = api_version.rpartition("/")
    return ResourceKind(kind, group, version, plural, namespaced, kind.lower(), tuple(short.split()))


BUILTIN_KINDS: dict[str, ResourceKind] = {
    k.kind: k
    for k in (
        _kind("v1", "Namespace", "namespaces", False, "ns"),
        _kind("v1", "Node", "nodes", False, "no"),
        _kind("v1", "Pod", "pods", True, "po"),
        _kind("v1", "Service", "services", True, "svc"),
        _kind("v1", "Endpoints", "endpoints", True, "ep"),
        _kind("v1", "ConfigMap", "configmaps", True, "cm"),
        _kind("v1", "Secret", "secrets"),
        _kind("v1", "ServiceAccount", "serviceaccounts", True, "sa"),
        _kind("v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, "pvc"),
        _kind("v1", "PersistentVolume", "persistentvolumes", False, "pv"),
        _kind("v1", "Event", "events", True, "ev"),
        _kind("v1", "ResourceQuota", "resourcequotas", True, "quota"),
        _kind("v1", "LimitRange", "limitranges", True, "limits"),
        _kind("apps/v1", "Deployment", "deployments", True, "deploy"),
        _kind("apps/v1", "ReplicaSet", "replicasets", True, "rs"),
        _kind("apps/v1", "StatefulSet", "statefulsets", True, "sts"),
        _kind("apps/v1", "DaemonSet", "daemonsets", True, "ds"),
        _kind("apps/v1", "ControllerRevision", "controllerrevisions"),
        _kind("batch/v1", "Job", "jobs"),
        _kind("batch/v1", "CronJob", "cronjobs", True, "cj"),
        _kind("networking.k8s.io/v1", "Ingress", "ingresses", True, "ing"),
        _kind("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", True, "netpol"),
        _kind("storage.k8s.io/v1", "StorageClass", "storageclasses", False, "sc"),
        _kind("autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True, "hpa"),
        _kind("rbac.authorization.k8s.io/v1", "Role", "roles"),
        _kind("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings"),
        _kind("rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles", False),
        _kind("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "clusterrolebindings", False),
        _kind("discovery.k8s.io/v1", "EndpointSlice", "endpointslices"),
        _kind("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", True, "pdb"),
        _kind("apiextensions.k8s.io/v1", "CustomResourceDefinition", "customresourcedefinitions", False,
              "crd crds"),
    )
}

_BY_NAME: dict[str, ResourceKind] = {name: k for k in BUILTIN_KINDS.values() for name in k.names()}


def find_kind(name: str) -> ResourceKind | None:
    """The built-in kind called ``name`` (kind, plural, singular, short or ``plural.group``), if any."""
    return _BY_NAME.get(name.strip().lower())


def resolve_kind(name: str) -> ResourceKind:
    """A built-in kind by any of its names, case-insensitively; ``BadUserInput`` on ``kind`` otherwise."""
    found = find_kind(name)
    if found is None:
        raise BadUserInput.field("kind", f"unknown resource kind {name!r}")
    return found


def kind_from_crd(crd: Mapping[str, Any]) -> ResourceKind | None:
    """The kind a CustomResourceDefinition serves, at its storage version (else its first served one)."""
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        return None
    names = spec.get("names") or {}
    versions = [v for v in spec.get("versions") or [] if isinstance(v, dict) and v.get("served", True)]
    if not versions or not isinstance(names, dict) or not names.get("kind") or not names.get("plural"):
        return None
    version = next((v for v in versions if v.get("storage")), versions[0])
    if not valid_segments(spec.get("group", ""), version.get("name"), names["plural"]):
        return None  # would not stay within its own segments of a URL path
    return ResourceKind(
        kind=str(names["kind"]),
        group=str(spec.get("group", "")),
        version=str(version["name"]),
        plural=str(names["plural"]),
        namespaced=spec.get("scope", "Namespaced") == "Namespaced",
        singular=str(names.get("singular") or str(names["kind"]).lower()),
        short_names=tuple(str(s) for s in names.get("shortNames") or ()),
    )


def valid_segments(group: object, version: object, plural: object) -> bool:
    """Whether a group, version and plural are what Kubernetes allows: each stays one URL path segment."""
    return (group == "" or problem(group, SUBDOMAIN) is None) and all(
        problem(part, LABEL) is None for part in (version, plural)
    )
