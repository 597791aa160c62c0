"""CustomResourceDefinitions turned into served resource types."""

from __future__ import annotations

from typing import Any

from .resources import ALL_VERBS, ResourceRegistry, ResourceType

CRD_KEY = ("apiextensions.k8s.io", "customresourcedefinitions")


def types_of(crd: dict[str, Any]) -> list[ResourceType]:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    found = []
    for version in spec.get("versions") or []:
        if not version.get("served", True):
            continue
        subs = tuple(sorted((version.get("subresources") or {}).keys()))
        found.append(
            ResourceType(
                group=spec.get("group", ""),
                version=version["name"],
                plural=names.get("plural", ""),
                kind=names.get("kind", ""),
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                singular=names.get("singular") or names.get("kind", "").lower(),
                short_names=tuple(names.get("shortNames") or ()),
                verbs=ALL_VERBS,
                categories=tuple(names.get("categories") or ()),
                subresources=subs,
                printer_columns=tuple(
                    (c.get("name", ""), c.get("type", "string"), int(c.get("priority", 0)), c.get("jsonPath", ""))
                    for c in version.get("additionalPrinterColumns") or []
                ),
            )
        )
    return found


def version_schema(crd: dict[str, Any], version: str) -> dict[str, Any] | None:
    """The openAPIV3Schema a served version's objects are validated against, if the CRD gives one."""
    for served in (crd.get("spec") or {}).get("versions") or []:
        if isinstance(served, dict) and served.get("name") == version:
            schema = (served.get("schema") or {}).get("openAPIV3Schema")
            return schema if isinstance(schema, dict) else None
    return None


def defines(crd: dict[str, Any], rt: ResourceType) -> bool:
    spec = crd.get("spec") or {}
    return spec.get("group") == rt.group and (spec.get("names") or {}).get("plural") == rt.plural


def register(registry: ResourceRegistry, crd: dict[str, Any]) -> None:
    for rt in types_of(crd):
        registry.add(rt)


def unregister(registry: ResourceRegistry, crd: dict[str, Any]) -> list[ResourceType]:
    removed = types_of(crd)
    for rt in removed:
        registry.remove(rt.group, rt.version, rt.plural)
    return removed


def initial_status(crd: dict[str, Any]) -> dict[str, Any]:
    spec = crd.get("spec") or {}
    stored = [v["name"] for v in spec.get("versions") or [] if v.get("storage")]
    conditions = [
        {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
         "message": "no conflicts found"},
        {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
         "message": "the initial names have been accepted"},
    ]
    return {"acceptedNames": spec.get("names") or {}, "conditions": conditions, "storedVersions": stored}
