"""The references each object declares, read from its own JSON (label selectors live in ``selectors``).

Every edge has exactly one declaring object, so the live topology can replace an object's edges
when it changes: ``owner`` edges (owner -> owned) and ``endpoints`` edges (Service -> Endpoints or
EndpointSlice) are declared by their target (``Ref.reverse``), every other edge by its source.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from app.topology.model import Obj, Ref, scope

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
_ROLE_KINDS = ("Role", "ClusterRole")


def refs_of(kind: str, obj: Obj) -> list[Ref]:
    meta = obj.get("metadata") or {}
    namespace = scope(kind, meta.get("namespace"))
    refs = _owners(meta, namespace)
    extract = _EXTRACTORS.get(kind)
    if extract is not None:
        refs.extend(extract(obj, namespace or "", meta))
    return refs


def _owners(meta: Mapping[str, Any], namespace: str | None) -> list[Ref]:
    refs = []
    for owner in meta.get("ownerReferences") or ():
        if isinstance(owner, dict) and owner.get("kind") and owner.get("name"):
            kind = str(owner["kind"])
            refs.append(Ref("owner", "owns", kind, scope(kind, namespace), str(owner["name"]), reverse=True))
    return refs


def _spec(obj: Obj) -> Mapping[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def _name(value: Any, field: str = "name") -> str | None:
    if isinstance(value, dict):
        name = value.get(field)
        return str(name) if name else None
    return None


# Pods are most of a cluster's objects: their references are read with plain loops over these
# tables, appending to one list (generators cost a third more here).
_VOLUME_SOURCES = (
    ("configMap", "name", "ConfigMap"), ("secret", "secretName", "Secret"),
    ("persistentVolumeClaim", "claimName", "PersistentVolumeClaim"),
)
_PROJECTED_SOURCES = (("configMap", "ConfigMap"), ("secret", "Secret"))
_ENV_FROM = (("configMapRef", "ConfigMap"), ("secretRef", "Secret"))
_VALUE_FROM = (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret"))
_CONTAINER_GROUPS = ("initContainers", "containers", "ephemeralContainers")


def _pod(obj: Obj, ns: str, meta: Mapping[str, Any]) -> list[Ref]:
    spec = _spec(obj)
    refs = []
    if spec.get("nodeName"):
        refs.append(Ref("schedules", "runs on", "Node", None, str(spec["nodeName"])))
    account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    refs.append(Ref("runs-as", "runs as", "ServiceAccount", ns, str(account)))
    for volume in spec.get("volumes") or ():
        if isinstance(volume, dict):
            _volume_refs(volume, ns, refs)
    for group in _CONTAINER_GROUPS:
        for container in spec.get(group) or ():
            if isinstance(container, dict):
                _env_refs(container, ns, refs)
    for secret in spec.get("imagePullSecrets") or ():
        if name := _name(secret):
            refs.append(Ref("pulls", "pulls images with", "Secret", ns, name))
    return refs


def _volume_refs(volume: Mapping[str, Any], ns: str, refs: list[Ref]) -> None:
    for field, name_field, kind in _VOLUME_SOURCES:
        if (source := volume.get(field)) is not None and (name := _name(source, name_field)):
            refs.append(Ref("mounts", "mounts", kind, ns, name))
    projected = volume.get("projected")
    for source in (projected.get("sources") or ()) if isinstance(projected, dict) else ():
        if isinstance(source, dict):
            for field, kind in _PROJECTED_SOURCES:
                if (item := source.get(field)) is not None and (name := _name(item)):
                    refs.append(Ref("mounts", "mounts", kind, ns, name))


def _env_refs(container: Mapping[str, Any], ns: str, refs: list[Ref]) -> None:
    for source in container.get("envFrom") or ():
        if isinstance(source, dict):
            for field, kind in _ENV_FROM:
                if (item := source.get(field)) is not None and (name := _name(item)):
                    refs.append(Ref("env", "reads env from", kind, ns, name))
    for var in container.get("env") or ():
        value_from = var.get("valueFrom") if isinstance(var, dict) else None
        if isinstance(value_from, dict):
            for field, kind in _VALUE_FROM:
                if (item := value_from.get(field)) is not None and (name := _name(item)):
                    refs.append(Ref("env", "reads env from", kind, ns, name))


def _ingress(obj: Obj, ns: str, meta: Mapping[str, Any]) -> Iterator[Ref]:
    spec = _spec(obj)
    backends = [spec.get("defaultBackend"), spec.get("backend")]
    for rule in spec.get("rules") or ():
        http = rule.get("http") if isinstance(rule, dict) else None
        for path in (http.get("paths") or ()) if isinstance(http, dict) else ():
            backends.append(path.get("backend") if isinstance(path, dict) else None)
    for backend in backends:
        if not isinstance(backend, dict):
            continue
        if name := _name(backend.get("service")) or _name(backend, "serviceName"):
            yield Ref("routes", "routes to", "Service", ns, name)
    for tls in spec.get("tls") or ():
        if name := _name(tls, "secretName"):
            yield Ref("tls", "terminates TLS with", "Secret", ns, name)


def _claim(obj: Obj, ns: str, meta: Mapping[str, Any]) -> Iterator[Ref]:
    spec = _spec(obj)
    if spec.get("volumeName"):
        yield Ref("binds", "bound to", "PersistentVolume", None, str(spec["volumeName"]))
    yield from _storage_class(spec)


def _volume(obj: Obj, ns: str, meta: Mapping[str, Any]) -> Iterator[Ref]:
    yield from _storage_class(_spec(obj))


def _storage_class(spec: Mapping[str, Any]) -> Iterator[Ref]:
    if spec.get("storageClassName"):
        yield Ref("binds", "provisioned by", "StorageClass", None, str(spec["storageClassName"]))


def _autoscaler(obj: Obj, ns: str, meta: Mapping[str, Any]) -> Iterator[Ref]:
    target = _spec(obj).get("scaleTargetRef")
    if isinstance(target, dict) and target.get("kind") and target.get("name"):
        kind = str(target["kind"])
        yield Ref("scales", "scales", kind, scope(kind, ns), str(target["name"]))


def _binding(obj: Obj, ns: str, meta: Mapping[str, Any]) -> Iterator[Ref]:
    role = obj.get("roleRef")
    if isinstance(role, dict) and role.get("kind") in _ROLE_KINDS and role.get("name"):
        kind = str(role["kind"])
        yield Ref("grants", "grants role", kind, scope(kind, ns), str(role["name"]))
    for subject in obj.get("subjects") or ():
        if not isinstance(subject, dict) or not subject.get("kind") or not subject.get("name"):
            continue
        kind = str(subject["kind"])
        target_ns = scope(kind, str(subject.get("namespace") or ns))
        yield Ref("grants", "grants to", kind, target_ns, str(subject["name"]))


def _endpoints(obj: Obj, ns: str, meta: Mapping[str, Any]) -> Iterator[Ref]:
    if meta.get("name"):
        yield Ref("endpoints", "endpoints", "Service", ns, str(meta["name"]), reverse=True)


def _endpoint_slice(obj: Obj, ns: str, meta: Mapping[str, Any]) -> Iterator[Ref]:
    labels = meta.get("labels") or {}
    if labels.get(SERVICE_NAME_LABEL):
        yield Ref("endpoints", "endpoints", "Service", ns, str(labels[SERVICE_NAME_LABEL]), reverse=True)


def _account(obj: Obj, ns: str, meta: Mapping[str, Any]) -> Iterator[Ref]:
    for secret in obj.get("imagePullSecrets") or ():
        if name := _name(secret):
            yield Ref("pulls", "pulls images with", "Secret", ns, name)


_EXTRACTORS: dict[str, Callable[[Obj, str, Mapping[str, Any]], Iterable[Ref]]] = {
    "Pod": _pod,
    "Ingress": _ingress,
    "PersistentVolumeClaim": _claim,
    "PersistentVolume": _volume,
    "HorizontalPodAutoscaler": _autoscaler,
    "RoleBinding": _binding,
    "ClusterRoleBinding": _binding,
    "Endpoints": _endpoints,
    "EndpointSlice": _endpoint_slice,
    "ServiceAccount": _account,
}
