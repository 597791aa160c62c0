"""Values the documents spell differently from GraphQL: epoch seconds for timestamps, and IDs
for things Fleetgraph addresses by name.

A Kubernetes namespace or workload has no stored ID: the documents' IDs for them are built from
the cluster's ID and the object's kind, namespace and name, joined by `~` (a character neither
Fleetgraph IDs nor Kubernetes names contain), so they are stable and can be read back:

    cls_01h…~shop                      the namespace `shop` of cluster cls_01h…
    cls_01h…~deployment~shop~web       the Deployment `shop/web` of that cluster
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator

SEPARATOR = "~"


def _iso(value: Any) -> Any:
    """A timestamp in a query or body is ISO 8601 text: a number is not taken for epoch seconds."""
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 timestamp, e.g. 2026-01-31T12:00:00Z")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("must be an ISO 8601 timestamp, e.g. 2026-01-31T12:00:00Z") from None


Timestamp = Annotated[AwareDatetime, BeforeValidator(_iso)]
"""An ISO 8601 timestamp with its zone, the only way a request gives a time."""


class UnknownId(ValueError):
    """An ID in a path that is not one this encoding makes: it names nothing (a 404)."""


def epoch(value: str | None) -> int | None:
    """An ISO 8601 timestamp as whole seconds since 1970 (None stays None)."""
    if value is None:
        return None
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())


def namespace_id(cluster_id: str, name: str) -> str:
    return SEPARATOR.join((cluster_id, name))


def workload_id(cluster_id: str, kind: str, namespace: str, name: str) -> str:
    return SEPARATOR.join((cluster_id, kind.lower(), namespace, name))


def _parts(identifier: str, count: int, what: str) -> list[str]:
    parts = identifier.split(SEPARATOR)
    if len(parts) != count or not all(parts):
        raise UnknownId(f"{what} {identifier!r} not found")
    return parts


def parse_namespace_id(identifier: str) -> tuple[str, str]:
    """(cluster ID, namespace name)."""
    cluster_id, name = _parts(identifier, 2, "namespace")
    return cluster_id, name


def parse_workload_id(identifier: str) -> tuple[str, str, str, str]:
    """(cluster ID, kind, namespace, name)."""
    cluster_id, kind, namespace, name = _parts(identifier, 4, "workload")
    return cluster_id, kind, namespace, name


def with_epochs(value: Any, paths: tuple[str, ...]) -> Any:
    """A copy of `value` with the timestamps at the dotted `paths` as epoch seconds."""
    if not paths or not isinstance(value, dict):
        return value
    copy = dict(value)
    for path in paths:
        head, _, rest = path.partition(".")
        if head not in copy:
            continue
        if rest:
            inner = copy[head]
            if isinstance(inner, list):
                copy[head] = [with_epochs(item, (rest,)) for item in inner]
            else:
                copy[head] = with_epochs(inner, (rest,))
        elif isinstance(copy[head], str):
            copy[head] = epoch(copy[head])
    return copy
