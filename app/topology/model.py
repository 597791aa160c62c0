"""Node ids, node attributes and the edge vocabulary shared by the builder and the live topology.

A node id is ``"<Kind>/<namespace>/<name>"``, or ``"<Kind>//<name>"`` for cluster-scoped kinds.
An edge is keyed by its type, so between two nodes there is at most one edge of each type; its id
is ``"<type>:<source>-><target>"``.

A reference to an object that is not in the input still gets its edge, to a *placeholder* node
(``missing=True``, status ``unknown``): a Pod mounting a deleted ConfigMap is exactly what the
topology should show. A placeholder disappears with the last edge that points at it. RBAC
subjects of kind ``User`` and ``Group`` are not API objects, so they are always placeholders.

Objects are plain decoded JSON, as the cache holds them: nested objects are checked with
``isinstance(value, dict)`` (several times faster than an ABC check on the hot path), and a field
of the wrong shape is ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from app.k8s.reading import not_a

Obj = Mapping[str, Any]
NodeAttrs = dict[str, Any]
EdgeKey = tuple[str, str, str]  # (source, target, type)

CLUSTER_SCOPED = frozenset({
    "Node", "Namespace", "PersistentVolume", "StorageClass", "ClusterRole", "ClusterRoleBinding",
    "IngressClass", "PriorityClass", "CustomResourceDefinition", "User", "Group", "CSIDriver",
    "RuntimeClass", "APIService", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
    "VolumeAttachment", "CertificateSigningRequest", "ComponentStatus",
})
# Kinds left out unless asked for explicitly: high-volume records that relate nothing.
IGNORED_KINDS = frozenset({"Event", "Lease", "ControllerRevision"})

# type -> is the edge implicit (inferred by Fleetgraph from a selector or a bare name in a spec)?
# Explicit edges are links Kubernetes records itself (ownerReferences, a controller's binding such as
# spec.volumeName, spec.nodeName or an Endpoints object) or typed references ({kind, name}).
EDGE_TYPES: dict[str, bool] = {
    "owner": False,
    "selects": True,
    "routes": True,
    "tls": True,
    "mounts": True,
    "env": True,
    "pulls": True,
    "binds": False,
    "schedules": False,
    "scales": False,
    "runs-as": True,
    "grants": False,
    "endpoints": False,
}


class Ref(NamedTuple):
    """A reference an object declares: to (kind, namespace, name), or from it when ``reverse``."""

    type: str
    label: str
    kind: str
    namespace: str | None
    name: str
    reverse: bool = False


def node_id(kind: str, namespace: str | None, name: str) -> str:
    return f"{kind}/{namespace or ''}/{name}"


def edge_id(source: str, target: str, type_: str) -> str:
    return f"{type_}:{source}->{target}"


def scope(kind: str, namespace: str | None) -> str | None:
    """The namespace an object of ``kind`` lives in: None for cluster-scoped kinds."""
    return None if kind in CLUSTER_SCOPED else (namespace or None)


def meta(obj: Obj) -> Mapping[str, Any]:
    value = obj.get("metadata")
    return value if isinstance(value, dict) else {}


def _namespace(m: Mapping[str, Any]) -> str | None:
    value = m.get("namespace")
    return value if isinstance(value, str) else None


def object_id(kind: str, obj: Obj) -> str:
    m = meta(obj)
    return node_id(kind, scope(kind, _namespace(m)), str(m.get("name") or ""))


def labels_of(m: Mapping[str, Any], bad: list[tuple[str, str]] | None = None) -> dict[str, str]:
    """An object's labels; a value that is not a string is left out (and appended to ``bad``)."""
    labels = m.get("labels")
    if not isinstance(labels, dict):
        if labels is not None and bad is not None:
            bad.append(("metadata.labels", not_a(labels, "an object")))
        return {}
    kept = {k: v for k, v in labels.items() if isinstance(v, str)}
    if len(kept) < len(labels) and bad is not None:
        bad.extend((f"metadata.labels.{k}", not_a(v, "a string")) for k, v in labels.items()
                   if not isinstance(v, str))  # fmt: skip
    return kept


def object_attrs(
    kind: str, obj: Obj, own_status: str, selector: bool = False, bad: list[tuple[str, str]] | None = None
) -> NodeAttrs:
    """A real object's node attributes; ``status`` starts as ``own_status`` until rolled up.

    ``object_type`` is the object's own type field (a Secret's ``type``, a Service's ``spec.type``);
    ``selector`` tells whether it selects pods by label at all (a Service without one does not).
    """
    m = meta(obj)
    spec = obj.get("spec")
    raw_type = obj.get("type") or (spec.get("type") if isinstance(spec, dict) else None)
    return {
        "kind": kind,
        "name": str(m.get("name") or ""),
        "namespace": scope(kind, _namespace(m)),
        "labels": labels_of(m, bad),
        "uid": m.get("uid"),
        "status": own_status,
        "own_status": own_status,
        "missing": False,
        "object_type": str(raw_type) if isinstance(raw_type, str) else None,
        "selector": selector,
    }


def placeholder_attrs(kind: str, namespace: str | None, name: str) -> NodeAttrs:
    return {
        "kind": kind, "name": name, "namespace": namespace, "labels": {}, "uid": None,
        "status": "unknown", "own_status": "unknown", "missing": True, "object_type": None, "selector": False,
    }


def ref_edge(declarer: str, ref: Ref) -> tuple[EdgeKey, str]:
    """The edge key a reference produces, and the id of the node at its other end."""
    other = node_id(ref.kind, ref.namespace, ref.name)
    key = (other, declarer, ref.type) if ref.reverse else (declarer, other, ref.type)
    return key, other


def edge_attrs(type_: str, label: str) -> dict[str, Any]:
    return {"type": type_, "label": label, "implicit": EDGE_TYPES[type_]}


def edge_record(source: str, target: str, attrs: Mapping[str, Any]) -> dict[str, Any]:
    """An edge as the API shows it."""
    return {
        "id": edge_id(source, target, attrs["type"]), "source": source, "target": target,
        "type": attrs["type"], "label": attrs["label"], "implicit": attrs["implicit"],
    }
