"""Discovery documents: /version, /api, /apis and the APIResourceLists, legacy and aggregated (v2)."""

from __future__ import annotations

from typing import Any

from .resources import SUBRESOURCE_KINDS, SUBRESOURCE_VERBS, ResourceRegistry, ResourceType

AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def version_info(version: str | None = None) -> dict[str, str]:
    """What /version answers: kubesim's own build, or the Kubernetes ``version`` a cluster was given."""
    if version is None:
        return {"major": "1", "minor": "37", "emulationMajor": "1", "emulationMinor": "37",
                "minCompatibilityMajor": "1", "minCompatibilityMinor": "36", "gitVersion": "v1.37.0-kubesim",
                **_BUILD}
    major, minor = version.split(".")[:2]
    return {"major": major, "minor": minor, "emulationMajor": major, "emulationMinor": minor,
            "minCompatibilityMajor": major, "minCompatibilityMinor": str(max(int(minor) - 1, 0)),
            "gitVersion": f"v{version}", **_BUILD}


_BUILD = {"gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
          "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.25.0", "compiler": "gc", "platform": "linux/amd64"}


def api_versions(address: str) -> dict[str, Any]:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}]}


def _group_doc(registry: ResourceRegistry, group: str) -> dict[str, Any]:
    versions = [{"groupVersion": f"{group}/{v}", "version": v} for v in registry.versions(group)]
    return {"name": group, "versions": versions, "preferredVersion": versions[0]}


def api_group_list(registry: ResourceRegistry) -> dict[str, Any]:
    groups = [_group_doc(registry, g) for g in registry.groups() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(registry: ResourceRegistry, group: str) -> dict[str, Any] | None:
    if group not in registry.groups() or not group:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_doc(registry, group)}


def _sub_kind(rt: ResourceType, sub: str) -> tuple[str, str, str]:
    return SUBRESOURCE_KINDS.get(sub, (rt.group, rt.version, rt.kind))


def resource_list(registry: ResourceRegistry, group: str, version: str) -> dict[str, Any] | None:
    types = registry.in_group_version(group, version)
    if not types:
        return None
    resources: list[dict[str, Any]] = []
    for rt in types:
        entry: dict[str, Any] = {"name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced,
                                 "kind": rt.kind, "verbs": list(rt.verbs)}
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        resources.append(entry)
        for sub in rt.subresources:
            g, v, kind = _sub_kind(rt, sub)
            sub_entry = {"name": f"{rt.plural}/{sub}", "singularName": "", "namespaced": rt.namespaced,
                         "kind": kind, "verbs": list(SUBRESOURCE_VERBS.get(sub, ("get",)))}
            if (g, v) != (rt.group, rt.version):
                sub_entry.update({"group": g, "version": v})
            resources.append(sub_entry)
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}


def _aggregated_resource(rt: ResourceType) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": rt.plural,
        "responseKind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
        "scope": "Namespaced" if rt.namespaced else "Cluster",
        "singularResource": rt.singular,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    subs = []
    for sub in rt.subresources:
        g, v, kind = _sub_kind(rt, sub)
        subs.append({"subresource": sub, "responseKind": {"group": g, "version": v, "kind": kind},
                     "verbs": list(SUBRESOURCE_VERBS.get(sub, ("get",)))})
    if subs:
        entry["subresources"] = subs
    return entry


def aggregated(registry: ResourceRegistry, legacy: bool) -> dict[str, Any]:
    groups = [""] if legacy else [g for g in registry.groups() if g]
    items = []
    for group in groups:
        versions = [{"version": v, "freshness": "Current",
                     "resources": [_aggregated_resource(rt) for rt in registry.in_group_version(group, v)]}
                    for v in registry.versions(group)]
        items.append({"metadata": {"name": group, "creationTimestamp": None}, "versions": versions})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {},
            "items": items}


def wants_aggregated(accept: str) -> bool:
    first = accept.split(",")[0]
    return "as=APIGroupDiscoveryList" in first and "v=v2" in first
