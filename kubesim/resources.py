"""The registry of served resource types: built-ins plus CRD-defined types added at runtime."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
READ_VERBS = ("get", "list")

SUBRESOURCE_VERBS = {
    "status": ("get", "patch", "update"),
    "scale": ("get", "patch", "update"),
    "log": ("get",),
    "exec": ("create", "get"),
    "binding": ("create",),
    "eviction": ("create",),
    "finalize": ("update",),
}


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    storage: bool = True  # False for computed types (metrics, reviews) that are never stored
    # CRD additionalPrinterColumns: (name, type, priority, jsonPath)
    printer_columns: tuple[tuple[str, str, int, str], ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        return self.api_version

    @property
    def key(self) -> tuple[str, str]:
        return (self.group, self.plural)

    @property
    def qualified(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


def _rt(
    gv: str,
    plural: str,
    kind: str,
    namespaced: bool = True,
    short: str = "",
    cats: str = "",
    subs: str = "",
    verbs: tuple[str, ...] = ALL_VERBS,
) -> ResourceType:
    group, _, version = gv.rpartition("/")
    return ResourceType(
        group=group,
        version=version,
        plural=plural,
        kind=kind,
        namespaced=namespaced,
        singular=kind.lower(),
        short_names=tuple(short.split()) if short else (),
        verbs=verbs,
        categories=tuple(cats.split()) if cats else (),
        subresources=tuple(subs.split()) if subs else (),
    )


BUILTINS: tuple[ResourceType, ...] = (
    _rt("v1", "namespaces", "Namespace", False, "ns", subs="status finalize",
        verbs=("create", "delete", "get", "list", "patch", "update", "watch")),
    _rt("v1", "nodes", "Node", False, "no", subs="status"),
    _rt("v1", "pods", "Pod", True, "po", "all", "status log exec binding eviction"),
    _rt("v1", "services", "Service", True, "svc", "all", "status",
        verbs=("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")),
    _rt("v1", "endpoints", "Endpoints", True, "ep"),
    _rt("v1", "configmaps", "ConfigMap", True, "cm"),
    _rt("v1", "secrets", "Secret", True),
    _rt("v1", "serviceaccounts", "ServiceAccount", True, "sa"),
    _rt("v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, "pvc", subs="status"),
    _rt("v1", "persistentvolumes", "PersistentVolume", False, "pv", subs="status"),
    _rt("v1", "events", "Event", True, "ev"),
    _rt("v1", "resourcequotas", "ResourceQuota", True, "quota", subs="status"),
    _rt("v1", "limitranges", "LimitRange", True, "limits"),
    _rt("apps/v1", "deployments", "Deployment", True, "deploy", "all", "status scale"),
    _rt("apps/v1", "replicasets", "ReplicaSet", True, "rs", "all", "status scale"),
    _rt("apps/v1", "statefulsets", "StatefulSet", True, "sts", "all", "status scale"),
    _rt("apps/v1", "daemonsets", "DaemonSet", True, "ds", "all", "status"),
    _rt("apps/v1", "controllerrevisions", "ControllerRevision", True),
    _rt("events.k8s.io/v1", "events", "Event", True, "ev"),
    _rt("autoscaling/v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, "hpa", "all",
        "status"),
    _rt("batch/v1", "jobs", "Job", True, "", "all", "status"),
    _rt("batch/v1", "cronjobs", "CronJob", True, "cj", "all", "status"),
    _rt("networking.k8s.io/v1", "ingresses", "Ingress", True, "ing", subs="status"),
    _rt("networking.k8s.io/v1", "networkpolicies", "NetworkPolicy", True, "netpol"),
    _rt("rbac.authorization.k8s.io/v1", "clusterrolebindings", "ClusterRoleBinding", False),
    _rt("rbac.authorization.k8s.io/v1", "clusterroles", "ClusterRole", False),
    _rt("rbac.authorization.k8s.io/v1", "rolebindings", "RoleBinding", True),
    _rt("rbac.authorization.k8s.io/v1", "roles", "Role", True),
    _rt("storage.k8s.io/v1", "storageclasses", "StorageClass", False, "sc"),
    _rt("apiextensions.k8s.io/v1", "customresourcedefinitions", "CustomResourceDefinition", False,
        "crd crds", "api-extensions", "status"),
    _rt("discovery.k8s.io/v1", "endpointslices", "EndpointSlice", True),
    _rt("policy/v1", "poddisruptionbudgets", "PodDisruptionBudget", True, "pdb", subs="status"),
    ResourceType("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False,
                 "", (), ("create",), storage=False),
    ResourceType("authorization.k8s.io", "v1", "selfsubjectrulesreviews", "SelfSubjectRulesReview", False,
                 "", (), ("create",), storage=False),
    ResourceType("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", False,
                 "", (), ("create",), storage=False),
    ResourceType("metrics.k8s.io", "v1beta1", "nodes", "NodeMetrics", False, "", (), READ_VERBS,
                 storage=False),
    ResourceType("metrics.k8s.io", "v1beta1", "pods", "PodMetrics", True, "", (), READ_VERBS,
                 storage=False),
)

SUBRESOURCE_KINDS = {
    "scale": ("autoscaling", "v1", "Scale"),
    "exec": ("", "v1", "PodExecOptions"),
    "binding": ("", "v1", "Binding"),
    "eviction": ("policy", "v1", "Eviction"),
}


@dataclass
class ResourceRegistry:
    _by_gvr: dict[tuple[str, str, str], ResourceType] = field(default_factory=dict)
    _group_order: list[str] = field(default_factory=list)

    @classmethod
    def builtin(cls) -> ResourceRegistry:
        registry = cls()
        for rt in BUILTINS:
            registry.add(rt)
        return registry

    def add(self, rt: ResourceType) -> None:
        if rt.group not in self._group_order:
            self._group_order.append(rt.group)
        self._by_gvr[(rt.group, rt.version, rt.plural)] = rt

    def remove(self, group: str, version: str, plural: str) -> None:
        self._by_gvr.pop((group, version, plural), None)
        if not any(g == group for g, _, _ in self._by_gvr):
            self._group_order.remove(group)

    def get(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_gvr.get((group, version, plural))

    def __iter__(self) -> Iterable[ResourceType]:  # type: ignore[override]
        return iter(list(self._by_gvr.values()))

    def all(self) -> list[ResourceType]:
        return list(self._by_gvr.values())

    def by_kind(self, kind: str, group: str | None = None) -> ResourceType | None:
        for rt in self._by_gvr.values():
            if rt.kind == kind and (group is None or rt.group == group) and rt.storage:
                return rt
        return None

    def for_api_version(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        for rt in self._by_gvr.values():
            if rt.kind == kind and rt.group == group and rt.version == version:
                return rt
        return None

    def groups(self) -> list[str]:
        return list(self._group_order)

    def versions(self, group: str) -> list[str]:
        seen: list[str] = []
        for g, v, _ in self._by_gvr:
            if g == group and v not in seen:
                seen.append(v)
        return seen

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [rt for (g, v, _), rt in self._by_gvr.items() if g == group and v == version]
