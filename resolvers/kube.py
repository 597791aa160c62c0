"""Reading Kubernetes objects of a cluster through the request's loaders, and filtering them."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from app import validation
from app.context import RequestContext
from app.errors import AppError, BadUserInput, FieldErrors, NotFound
from app.k8s import reading, secret_policy
from resolvers.cluster_access import may_on_cluster

Obj = dict[str, Any]

_REQUIREMENT = re.compile(
    r"\s*(?P<neg>!)?(?P<key>[A-Za-z0-9_./-]+)\s*"
    r"(?:(?P<op>==|=|!=)\s*(?P<value>[A-Za-z0-9_.-]*)|\s+(?P<setop>in|notin)\s*\((?P<values>[^)]*)\))?\s*$"
)


async def items(ctx: RequestContext, cluster_id: str, kind: str, *, secret_values: bool = False) -> list[Obj]:
    """Every object of `kind` in the cluster, from the watch-fed cache (raises the cluster's error).

    Secrets come redacted by the Secret policy (app/k8s/secret_policy.py). `secret_values` is for
    `Cluster.secrets(includeData: true)` once `secrets:read` is checked, and for computations that
    return none of the values (a TLS Secret's certificate facts).
    """
    result = await ctx.loaders.kube_items.load((cluster_id, kind))
    if isinstance(result, LookupError):
        raise NotFound.of("cluster", cluster_id)
    if isinstance(result, AppError):
        raise result
    return list(result) if secret_values else secret_policy.leaving_all(kind, result)


async def reads_secret_values(ctx: RequestContext, cluster_id: str) -> bool:
    """Whether the caller's role on the cluster may read Secret values (`secrets:read`)."""
    return await may_on_cluster(ctx, cluster_id, "secrets:read")


def meta(obj: Obj) -> Mapping[str, Any]:
    """An object's metadata (empty when it has none that can be read)."""
    return reading.meta(obj)


def parse_label_selector(selector: str | None) -> Callable[[dict[str, str]], bool]:
    """Kubernetes label selector syntax: =, ==, !=, in, notin, key, !key (comma-separated, ANDed)."""
    if not selector or not selector.strip():
        return lambda labels: True
    checks: list[Callable[[dict[str, str]], bool]] = []
    for part in _split(selector):
        match = _REQUIREMENT.match(part)
        if match is None:
            raise BadUserInput.field("labelSelector", f"cannot parse requirement {part.strip()!r}")
        checks.append(_requirement(match))
    return lambda labels: all(check(labels) for check in checks)


def _split(selector: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in selector:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return parts + [current]


def _requirement(m: re.Match[str]) -> Callable[[dict[str, str]], bool]:
    key = m["key"]
    if m["setop"]:
        values = {v.strip() for v in m["values"].split(",") if v.strip()}
        if m["setop"] == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if m["op"] in ("=", "=="):
        return lambda labels: labels.get(key) == m["value"]
    if m["op"] == "!=":
        return lambda labels: labels.get(key) != m["value"]
    if m["neg"]:
        return lambda labels: key not in labels
    return lambda labels: key in labels


FIELDS = {
    "metadata.name": ("metadata", "name"),
    "metadata.namespace": ("metadata", "namespace"),
    "spec.nodeName": ("spec", "nodeName"),
    "status.phase": ("status", "phase"),
    "type": ("type",),
    "reason": ("reason",),
    "involvedObject.kind": ("involvedObject", "kind"),
    "involvedObject.name": ("involvedObject", "name"),
    "involvedObject.namespace": ("involvedObject", "namespace"),
}


def parse_field_selector(selector: str | None) -> Callable[[Obj], bool]:
    """Kubernetes field selector syntax (=, ==, !=, comma-separated) on the fields clusters index."""
    if not selector or not selector.strip():
        return lambda obj: True
    checks: list[tuple[tuple[str, ...], str, bool]] = []
    for part in selector.split(","):
        field, op, value = _field_requirement(part)
        if field not in FIELDS:
            supported = ", ".join(FIELDS)
            raise BadUserInput.field("fieldSelector", f"field {field!r} is not supported; use one of {supported}")
        checks.append((FIELDS[field], value, op == "!="))
    return lambda obj: all((_dig(obj, path) == value) != negate for path, value, negate in checks)


def _field_requirement(part: str) -> tuple[str, str, str]:
    for op in ("!=", "==", "="):
        if op in part:
            field, value = part.split(op, 1)
            return field.strip(), op, value.strip()
    raise BadUserInput.field("fieldSelector", f"cannot parse requirement {part.strip()!r}")


def _dig(obj: Obj, path: tuple[str, ...]) -> str:
    value: Any = obj
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return "" if value is None else str(value)


def select(
    objects: list[Obj],
    namespace: str | None = None,
    label_selector: str | None = None,
    search: str | None = None,
    *,
    field_selector: str | None = None,
) -> list[Obj]:
    errors = FieldErrors()
    validation.kube_namespace(errors, "namespace", namespace)
    errors.raise_if_any()
    matches = parse_label_selector(label_selector)
    fields = parse_field_selector(field_selector)
    needle = search.lower() if search else None
    chosen = []
    for obj in objects:
        if namespace is not None and reading.namespace_of(obj) != namespace:
            continue
        if not matches(reading.labels_of(obj)):
            continue
        if needle and needle not in reading.name_of(obj).lower():
            continue
        if not fields(obj):
            continue
        chosen.append(obj)
    return sorted(chosen, key=order)


def order(obj: Obj) -> tuple[str, str]:
    """The order of every list of a cluster's objects: by namespace, then name."""
    return reading.namespace_of(obj), reading.name_of(obj)


def resolve(kind: str) -> str:
    """A built-in kind's name from its kind, plural or short name."""
    from app.k8s.resources import resolve_kind

    return resolve_kind(kind).kind


def without_secret_data(secret: Obj) -> Obj:
    """A Secret as the Secret policy lets it leave: metadata and key names, never the values."""
    return secret_policy.redacted(secret)


async def custom_items(ctx: RequestContext, cluster_id: str, name: str) -> list[Obj]:
    """Objects of a custom kind, through the same watch-fed cache as the built-in ones."""
    from loaders.clusters import ensure_registered

    cluster = await ctx.loaders.cluster.load(cluster_id)
    if cluster is None:
        raise NotFound.of("cluster", cluster_id)
    gateway = ctx.services.gateway
    ensure_registered(gateway, ctx.services.sealer, cluster)
    kind = await gateway.client(cluster_id).discover_kind(name.split(".", 1)[0] if "." in name else name)
    return await gateway.objects(cluster_id, kind)


async def find(ctx: RequestContext, cluster_id: str, kind: str, namespace: str | None, name: str) -> Obj:
    """One object by kind and name (built-in or custom kind); a Secret comes redacted."""
    from app.k8s.resources import find_kind

    builtin = find_kind(kind)
    errors = FieldErrors()
    validation.kube_object(errors, builtin.kind if builtin else kind, namespace, name)
    errors.raise_if_any()
    objects = await items(ctx, cluster_id, builtin.kind) if builtin else await custom_items(ctx, cluster_id, kind)
    for obj in objects:
        if reading.name_of(obj) == name and (namespace is None or reading.namespace_of(obj) == namespace):
            return obj
    where = f" in namespace {namespace}" if namespace else ""
    raise NotFound(f"{kind} {name!r} not found{where} on cluster {cluster_id}")


async def objects_of(ctx: RequestContext, cluster_id: str, kind: str) -> list[Obj]:
    """Every object of a built-in or custom kind; Secrets come redacted."""
    from app.k8s.resources import find_kind

    builtin = find_kind(kind)
    return await items(ctx, cluster_id, builtin.kind) if builtin else await custom_items(ctx, cluster_id, kind)
