"""CKS's workload `spec` as the manifest or merge patch GraphQL's workload mutations take.

CKS sends either a Kubernetes spec of the workload's kind, or a short form that names one
container's fields beside the spec's own:

    {"replicas": 2, "image": "registry.acme.example/checkout-api:1.8.2", "ports": [{"containerPort": 8080}]}

The short form's container fields become the pod template's only container (named after the
workload, its pods labelled `app.kubernetes.io/name: <name>`) on creation, and are merged into the
workload's first container on an edit. Anything else in `spec` is the Kubernetes spec as it is."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

CONTAINER_FIELDS = frozenset(
    {
        "image", "imagePullPolicy", "command", "args", "workingDir", "ports", "env", "envFrom",
        "resources", "volumeMounts", "livenessProbe", "readinessProbe", "startupProbe", "securityContext",
    }
)  # fmt: skip
APP_LABEL = "app.kubernetes.io/name"
SELECTED = frozenset({"deployment", "statefulset", "daemonset", "replicaset"})  # kinds with a pod selector
RESTARTS = {"job": "Never", "cronjob": "OnFailure"}


def _split(spec: Obj) -> tuple[Obj, Obj]:
    """(the short form's container fields, the rest of the spec)."""
    container = {k: v for k, v in spec.items() if k in CONTAINER_FIELDS}
    return container, {k: v for k, v in spec.items() if k not in CONTAINER_FIELDS}


def _pod_path(kind: str) -> tuple[str, ...]:
    """Where the pod template's spec is in the workload's spec."""
    return ("jobTemplate", "spec", "template", "spec") if kind.lower() == "cronjob" else ("template", "spec")


def _at(value: Obj, path: tuple[str, ...]) -> Obj:
    for step in path:
        found = value.get(step)
        value = found if isinstance(found, dict) else {}
    return value


def _nested(path: tuple[str, ...], leaf: Obj) -> Obj:
    for step in reversed(path):
        leaf = {step: leaf}
    return leaf


def merged(base: Obj, extra: Obj) -> Obj:
    """`base` with `extra` laid over it, objects merged key by key."""
    out = dict(base)
    for key, value in extra.items():
        current = out.get(key)
        out[key] = merged(current, value) if isinstance(current, dict) and isinstance(value, dict) else value
    return out


def manifest(kind: str, name: str, spec: Obj) -> Obj:
    """The workload to create: `kind` as CKS names it (GraphQL decides which kinds it creates)."""
    container, rest = _split(spec)
    if container:
        lowered = kind.lower()
        pod: Obj = {"containers": [{"name": name, **container}]}
        if lowered in RESTARTS:
            pod["restartPolicy"] = RESTARTS[lowered]
        labels = {APP_LABEL: name}
        template = {"metadata": {"labels": labels}, "spec": pod}
        built = _nested(_pod_path(kind)[:-1], template)
        if lowered in SELECTED:
            built["selector"] = {"matchLabels": labels}
        if lowered == "statefulset":
            built["serviceName"] = name
        rest = merged(built, rest)
    return {"kind": kind, "metadata": {"name": name}, "spec": rest}


def patch(kind: str, current: Obj, spec: Obj | None) -> Obj:
    """The merge patch of an edit, from the workload as it is now (`current`, the whole object).

    A merge patch replaces lists whole, so the short form's fields are laid over the current first
    container and the containers are sent back in full."""
    if spec is None:
        return {}
    container, rest = _split(spec)
    if not container:
        return {"spec": spec}
    path = _pod_path(kind)
    containers = [dict(c) for c in _at(current.get("spec") or {}, path).get("containers") or [] if isinstance(c, dict)]
    if containers:
        containers[0] = merged(containers[0], container)
    else:
        containers = [{"name": (current.get("metadata") or {}).get("name", "main"), **container}]
    return {"spec": merged(rest, _nested(path, {"containers": containers}))}
