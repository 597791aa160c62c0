"""The references each object declares, read from its own JSON (label selectors live in ``selectors``).

Every edge has exactly one declaring object, so the live topology can replace an object's edges
when it changes: ``owner`` edges (owner -> owned) and ``endpoints`` edges (Service -> Endpoints or
EndpointSlice) are declared by their target (``Ref.reverse``), every other edge by its source.

A list field of another type (``spec.volumes: "x"``) declares no reference; it is appended to
``bad`` as (field path, why), for the caller to report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from app.k8s.reading import not_a
from app.topology.model import Obj, Ref, scope
from app.topology.model import meta as meta_of

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
_ROLE_KINDS = ("Role", "ClusterRole")


Bad = list[tuple[str, str]]


def refs_of(kind: str, obj: Obj, bad: Bad | None = None) -> list[Ref]:
    bad = [] if bad is None else bad
    meta = meta_of(obj)
    namespace = meta.get("namespace")
    namespace = scope(kind, namespace if isinstance(namespace, str) else None)
    refs = _owners(meta, namespace, bad)
    extract = _EXTRACTORS.get(kind)
    if extract is not None:
        refs.extend(extract(obj, namespace or "", meta, bad))
    return refs


def _items(value: Any, field: str, bad: Bad) -> list[Any] | tuple[()]:
    """A list field's items; none (noted in ``bad``) when it is not a list."""
    if isinstance(value, list):
        return value
    if value is not None:
        bad.append((field, not_a(value, "an array")))
    return ()


def _owners(meta: Mapping[str, Any], namespace: str | None, bad: Bad) -> list[Ref]:
    refs = []
    for owner in _items(meta.get("ownerReferences"), "metadata.ownerReferences", bad):
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
_CONTAINER_GROUPS = tuple((g, f"spec.{g}") for g in ("initContainers", "containers", "ephemeralContainers"))


def _pod(obj: Obj, ns: str, meta: Mapping[str, Any], bad: Bad) -> list[Ref]:
    spec = _spec(obj)
    refs = []
    if spec.get("nodeName"):
        refs.append(Ref("schedules", "runs on", "Node", None, str(spec["nodeName"])))
    account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    refs.append(Ref("runs-as", "runs as", "ServiceAccount", ns, str(account)))
    for index, volume in enumerate(_items(spec.get("volumes"), "spec.volumes", bad)):
        if isinstance(volume, dict):
            _volume_refs(volume, ns, refs, index, bad)
    for group, field in _CONTAINER_GROUPS:
        for index, container in enumerate(_items(spec.get(group), field, bad)):
            if isinstance(container, dict):
                _env_refs(container, ns, refs, (field, index), bad)
    for secret in _items(spec.get("imagePullSecrets"), "spec.imagePullSecrets", bad):
        if name := _name(secret):
            refs.append(Ref("pulls", "pulls images with", "Secret", ns, name))
    return refs


def _volume_refs(volume: Mapping[str, Any], ns: str, refs: list[Ref], index: int, bad: Bad) -> None:
    for field, name_field, kind in _VOLUME_SOURCES:
        if (source := volume.get(field)) is not None and (name := _name(source, name_field)):
            refs.append(Ref("mounts", "mounts", kind, ns, name))
    projected = volume.get("projected")
    if not isinstance(projected, dict):
        return
    for source in _items(projected.get("sources"), f"spec.volumes[{index}].projected.sources", bad):
        if isinstance(source, dict):
            for field, kind in _PROJECTED_SOURCES:
                if (item := source.get(field)) is not None and (name := _name(item)):
                    refs.append(Ref("mounts", "mounts", kind, ns, name))


def _inner(container: Mapping[str, Any], key: str, where: tuple[str, int], bad: Bad) -> list[Any] | tuple[()]:
    """A list field of a container (its path is made only when the field cannot be read)."""
    value = container.get(key)
    if isinstance(value, list) or value is None:
        return value or ()
    return _items(value, f"{where[0]}[{where[1]}].{key}", bad)


def _env_refs(container: Mapping[str, Any], ns: str, refs: list[Ref], where: tuple[str, int], bad: Bad) -> None:
    for source in _inner(container, "envFrom", where, bad):
        if isinstance(source, dict):
            for field, kind in _ENV_FROM:
                if (item := source.get(field)) is not None and (name := _name(item)):
                    refs.append(Ref("env", "reads env from", kind, ns, name))
    for var in _inner(container, "env", where, bad):
        value_from = var.get("valueFrom") if isinstance(var, dict) else None
        if isinstance(value_from, dict):
            for field, kind in _VALUE_FROM:
                if (item := value_from.get(field)) is not None and (name := _name(item)):
                    refs.append(Ref("env", "reads env from", kind, ns, name))


def _ingress(obj: Obj, ns: str, meta: Mapping[str, Any], bad: Bad) -> Iterator[Ref]:
    spec = _spec(obj)
    backends = [spec.get("defaultBackend"), spec.get("backend")]
    for index, rule in enumerate(_items(spec.get("rules"), "spec.rules", bad)):
        http = rule.get("http") if isinstance(rule, dict) else None
        if isinstance(http, dict):
            for path in _items(http.get("paths"), f"spec.rules[{index}].http.paths", bad):
                backends.append(path.get("backend") if isinstance(path, dict) else None)
    for backend in backends:
        if not isinstance(backend, dict):
            continue
        if name := _name(backend.get("service")) or _name(backend, "serviceName"):
            yield Ref("routes", "routes to", "Service", ns, name)
    for tls in _items(spec.get("tls"), "spec.tls", bad):
        if name := _name(tls, "secretName"):
            yield Ref("tls", "terminates TLS with", "Secret", ns, name)


def _claim(obj: Obj, ns: str, meta: Mapping[str, Any], bad: Bad) -> Iterator[Ref]:
    spec = _spec(obj)
    if spec.get("volumeName"):
        yield Ref("binds", "bound to", "PersistentVolume", None, str(spec["volumeName"]))
    yield from _storage_class(spec)


def _volume(obj: Obj, ns: str, meta: Mapping[str, Any], bad: Bad) -> Iterator[Ref]:
    yield from _storage_class(_spec(obj))


def _storage_class(spec: Mapping[str, Any]) -> Iterator[Ref]:
    if spec.get("storageClassName"):
        yield Ref("binds", "provisioned by", "StorageClass", None, str(spec["storageClassName"]))


def _autoscaler(obj: Obj, ns: str, meta: Mapping[str, Any], bad: Bad) -> Iterator[Ref]:
    target = _spec(obj).get("scaleTargetRef")
    if isinstance(target, dict) and target.get("kind") and target.get("name"):
        kind = str(target["kind"])
        yield Ref("scales", "scales", kind, scope(kind, ns), str(target["name"]))


def _binding(obj: Obj, ns: str, meta: Mapping[str, Any], bad: Bad) -> Iterator[Ref]:
    role = obj.get("roleRef")
    if isinstance(role, dict) and role.get("kind") in _ROLE_KINDS and role.get("name"):
        kind = str(role["kind"])
        yield Ref("grants", "grants role", kind, scope(kind, ns), str(role["name"]))
    for subject in _items(obj.get("subjects"), "subjects", bad):
        if not isinstance(subject, dict) or not subject.get("kind") or not subject.get("name"):
            continue
        kind = str(subject["kind"])
        target_ns = scope(kind, str(subject.get("namespace") or ns))
        yield Ref("grants", "grants to", kind, target_ns, str(subject["name"]))


def _endpoints(obj: Obj, ns: str, meta: Mapping[str, Any], bad: Bad) -> Iterator[Ref]:
    if meta.get("name"):
        yield Ref("endpoints", "endpoints", "Service", ns, str(meta["name"]), reverse=True)


def _endpoint_slice(obj: Obj, ns: str, meta: Mapping[str, Any], bad: Bad) -> Iterator[Ref]:
    labels = meta.get("labels")
    if isinstance(labels, dict) and labels.get(SERVICE_NAME_LABEL):
        yield Ref("endpoints", "endpoints", "Service", ns, str(labels[SERVICE_NAME_LABEL]), reverse=True)


def _account(obj: Obj, ns: str, meta: Mapping[str, Any], bad: Bad) -> Iterator[Ref]:
    for secret in _items(obj.get("imagePullSecrets"), "imagePullSecrets", bad):
        if name := _name(secret):
            yield Ref("pulls", "pulls images with", "Secret", ns, name)


_EXTRACTORS: dict[str, Callable[[Obj, str, Mapping[str, Any], Bad], Iterable[Ref]]] = {
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
