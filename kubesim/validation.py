"""Validation with the field paths and messages of the apiserver's 422 Invalid responses."""

from __future__ import annotations

import re
from typing import Any

from . import errors, kindschemas, schemacheck
from .causes import Cause, bad_value, not_supported, required
from .resources import ResourceType
from .schemacheck import Schema

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
    "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
    "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
_DNS_LABEL_KINDS = {"Namespace", "Service"}
_POD_TEMPLATE_KINDS = {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"}


def validate_types(rt: ResourceType, obj: dict[str, Any], custom: Schema | None = None,
                   stored: dict[str, Any] | None = None) -> None:
    """The object against its kind's type schema (a custom resource's: its CRD's), as a typed decoder
    or the CRD validator would check it; before any value rule, which assumes the types are right.
    Of an update, the top-level fields equal to the `stored` object's are valid already."""
    _raise(rt, obj, type_causes(rt, obj, custom, stored))


def type_causes(rt: ResourceType, obj: dict[str, Any], custom: Schema | None = None,
                stored: dict[str, Any] | None = None) -> list[Cause]:
    found: list[Cause] = []
    same = {k for k, v in obj.items() if stored.get(k) == v} if stored is not None else set()
    schema = kindschemas.schema_of(rt.group, rt.kind) if custom is None else None
    if schema is not None:
        schemacheck.check(obj, schema, "", found, same)
        return found
    if "metadata" not in same:
        schemacheck.check(obj.get("metadata"), kindschemas.OBJECT_META, "metadata", found)
    if custom is not None:  # metadata is ObjectMeta whatever the CRD says of it, as in the apiserver
        declared = custom.get("properties")
        properties = {k: v for k, v in declared.items() if k != "metadata"} if isinstance(declared, dict) else {}
        schemacheck.check(obj, {**custom, "properties": properties, "additionalProperties": None}, "", found, same)
    return found


def validate_create(rt: ResourceType, obj: dict[str, Any]) -> None:
    """Value rules of a create; validate_types comes first."""
    _raise(rt, obj, _metadata(rt, obj) + _by_kind(rt, obj))


def validate_update(rt: ResourceType, new: dict[str, Any], old: dict[str, Any]) -> None:
    """Value rules of an update; validate_types comes first."""
    causes = _by_kind(rt, new)
    if rt.kind in _POD_TEMPLATE_KINDS or rt.kind == "Job":
        old_sel, new_sel = (old.get("spec") or {}).get("selector"), (new.get("spec") or {}).get("selector")
        if old_sel != new_sel:
            causes.append(bad_value("spec.selector", _go_selector(new_sel), "field is immutable"))
    causes += _labels(new.get("metadata") or {})
    _raise(rt, new, causes)


def _raise(rt: ResourceType, obj: dict[str, Any], causes: list[Cause]) -> None:
    if causes:
        name = (obj.get("metadata") or {}).get("name", "")
        raise errors.invalid(rt.kind, rt.group, name, causes)


def _metadata(rt: ResourceType, obj: dict[str, Any]) -> list[Cause]:
    meta = obj.get("metadata") or {}
    name = meta.get("name")
    if not name:
        return [required("metadata.name", "name or generateName is required")]
    causes: list[Cause] = []
    if rt.kind in _DNS_LABEL_KINDS:
        if not _LABEL.match(name) or len(name) > 63:
            causes.append(bad_value("metadata.name", name, _LABEL_MSG))
    elif not _SUBDOMAIN.match(name) or len(name) > 253:
        causes.append(bad_value("metadata.name", name, _SUBDOMAIN_MSG))
    if rt.namespaced and not meta.get("namespace"):
        causes.append(required("metadata.namespace"))
    return causes + _labels(meta)


def _labels(meta: dict[str, Any]) -> list[Cause]:
    causes = []
    for key, value in (meta.get("labels") or {}).items():
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            causes.append(bad_value("metadata.labels", value, _LABEL_VALUE_MSG))
        elif not key:
            causes.append(bad_value("metadata.labels", key, "name part must be non-empty"))
    return causes


# Fields the typed clients cannot deserialise without (kind -> paths; [] walks a list).
_REQUIRED: dict[str, tuple[str, ...]] = {
    "Ingress": ("spec.rules[].http.paths[].pathType", "spec.rules[].http.paths[].backend"),
    "HorizontalPodAutoscaler": ("spec.scaleTargetRef.kind", "spec.scaleTargetRef.name", "spec.maxReplicas"),
    "RoleBinding": ("roleRef.apiGroup", "roleRef.kind", "roleRef.name", "subjects[].kind", "subjects[].name"),
    "ClusterRoleBinding": ("roleRef.apiGroup", "roleRef.kind", "roleRef.name", "subjects[].kind",
                           "subjects[].name"),
    "Role": ("rules[].verbs",),
    "ClusterRole": ("rules[].verbs",),
    "StorageClass": ("provisioner",),
    "CustomResourceDefinition": ("spec.group", "spec.names.plural", "spec.names.kind", "spec.scope",
                                 "spec.versions"),
    "EndpointSlice": ("addressType", "endpoints", "endpoints[].addresses"),
    "LimitRange": ("spec.limits",),
    "ControllerRevision": ("revision",),
}
_COMMON_REQUIRED = ("metadata.ownerReferences[].apiVersion", "metadata.ownerReferences[].kind",
                    "metadata.ownerReferences[].name", "metadata.ownerReferences[].uid")


def _missing(obj: Any, parts: list[str], prefix: str) -> list[str]:
    if not parts:
        return []
    head, rest = parts[0], parts[1:]
    many = head.endswith("[]")
    name = head.removesuffix("[]")
    value = obj.get(name) if isinstance(obj, dict) else None
    path = f"{prefix}.{name}" if prefix else name
    if value is None or value == "":
        return [path] if not many or not rest else []
    if not many:
        return _missing(value, rest, path)
    found: list[str] = []
    for index, item in enumerate(value if isinstance(value, list) else []):
        found += _missing(item, rest, f"{path}[{index}]")
    return found


def _required_fields(rt: ResourceType, obj: dict[str, Any]) -> list[Cause]:
    paths = _REQUIRED.get(rt.kind, ()) + _COMMON_REQUIRED
    return [required(m) for path in paths for m in _missing(obj, path.split("."), "")]


def _event(obj: dict[str, Any]) -> list[Cause]:
    involved = obj.get("involvedObject")
    if not isinstance(involved, dict):
        return [required("involvedObject")]
    namespace = (obj.get("metadata") or {}).get("namespace", "")
    involved_ns = involved.get("namespace", "")
    if involved_ns != namespace and not (not involved_ns and namespace == "default"):
        return [bad_value("involvedObject.namespace", involved_ns, "does not match event.namespace")]
    return []


def _by_kind(rt: ResourceType, obj: dict[str, Any]) -> list[Cause]:
    causes = _required_fields(rt, obj)
    if rt.key == ("", "events"):
        causes += _event(obj)
    return causes + _by_kind_spec(rt, obj)


def _by_kind_spec(rt: ResourceType, obj: dict[str, Any]) -> list[Cause]:
    spec = obj.get("spec") or {}
    if rt.key == ("", "pods"):
        return _pod_spec(spec, "spec")
    if rt.group == "apps" and rt.kind in _POD_TEMPLATE_KINDS:
        return _pod_template_owner(spec)
    if rt.key == ("batch", "jobs"):
        return _template(spec, "spec.template")
    if rt.key == ("batch", "cronjobs"):
        causes = [] if spec.get("schedule") else [required("spec.schedule")]
        job = (spec.get("jobTemplate") or {}).get("spec")
        if not isinstance(job, dict):
            return causes + [required("spec.jobTemplate.spec.template.spec.containers")]
        return causes + _template(job, "spec.jobTemplate.spec.template")
    if rt.key == ("", "services"):
        return _service(spec)
    if rt.key == ("policy", "poddisruptionbudgets"):
        return _disruption_budget(spec)
    return []


def _pod_template_owner(spec: dict[str, Any]) -> list[Cause]:
    selector = spec.get("selector")
    if not isinstance(selector, dict) or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        return [required("spec.selector")] + _template(spec, "spec.template")
    causes = _template(spec, "spec.template")
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    wanted = selector.get("matchLabels") or {}
    if any(labels.get(k) != v for k, v in wanted.items()):
        shown = "map[string]string{" + ", ".join(f'"{k}":"{v}"' for k, v in sorted(labels.items())) + "}"
        causes.append(bad_value("spec.template.metadata.labels", shown,
                                "`selector` does not match template `labels`"))
    return causes


def _template(spec: dict[str, Any], path: str) -> list[Cause]:
    template = spec.get("template")
    if not isinstance(template, dict):
        return [required(f"{path}.spec.containers")]
    return _pod_spec(template.get("spec") or {}, f"{path}.spec")


def _pod_spec(spec: dict[str, Any], path: str) -> list[Cause]:
    containers = spec.get("containers")
    if not containers:
        return [required(f"{path}.containers")]
    causes = []
    for i, container in enumerate(containers):
        if not isinstance(container, dict) or not container.get("name"):
            causes.append(required(f"{path}.containers[{i}].name"))
            continue
        if not container.get("image"):
            causes.append(required(f"{path}.containers[{i}].image"))
    return causes


def _service(spec: dict[str, Any]) -> list[Cause]:
    kind = spec.get("type", "ClusterIP")
    ports = spec.get("ports") or []
    if kind != "ExternalName" and spec.get("clusterIP") != "None" and not ports:
        return [required("spec.ports")]
    causes = []
    for i, port in enumerate(ports):
        if not isinstance(port, dict) or not port.get("port"):
            causes.append(required(f"spec.ports[{i}].port"))
    return causes


_PERCENT = re.compile(r"^[0-9]+%$")
_PERCENT_MSG = ("a valid percent string must be a numeric string followed by an ending '%' "
                "(e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")
_EVICTION_POLICIES = ("AlwaysAllow", "IfHealthyBudget")


def _disruption_budget(spec: dict[str, Any]) -> list[Cause]:
    """policy/v1 PodDisruptionBudgetSpec: one of minAvailable/maxUnavailable, each a count or a percent."""
    causes: list[Cause] = []
    if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
        shown = f"minAvailable={spec['minAvailable']}, maxUnavailable={spec['maxUnavailable']}"
        causes.append(bad_value("spec", shown, "minAvailable and maxUnavailable cannot be both set"))
    for field in ("minAvailable", "maxUnavailable"):
        causes += _int_or_percent(spec.get(field), f"spec.{field}")
    policy = spec.get("unhealthyPodEvictionPolicy")
    if policy is not None and policy not in _EVICTION_POLICIES:
        causes.append(not_supported("spec.unhealthyPodEvictionPolicy", policy, list(_EVICTION_POLICIES)))
    return causes


def _int_or_percent(value: Any, path: str) -> list[Cause]:
    if value is None:
        return []
    if isinstance(value, bool) or not isinstance(value, int | str):
        return [bad_value(path, value, "must be an integer or percentage (e.g '5%')")]
    if isinstance(value, int):
        return [bad_value(path, value, "must be greater than or equal to 0")] if value < 0 else []
    if not _PERCENT.match(value):
        return [bad_value(path, value, _PERCENT_MSG)]
    if int(value[:-1]) > 100:
        return [bad_value(path, value, "must not be greater than 100%")]
    return []


def _go_selector(selector: Any) -> str:
    labels = (selector or {}).get("matchLabels") or {}
    inner = ", ".join(f'"{k}":"{v}"' for k, v in sorted(labels.items()))
    return (f"v1.LabelSelector{{MatchLabels:map[string]string{{{inner}}}, "
            "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}")
