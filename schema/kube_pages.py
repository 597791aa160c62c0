"""Pages of a cluster's objects: connections (`first/after` or `page/pageSize`, `totalCount`) whose
`errors` name the fields of the page's objects that could not be read.

The lists are held in memory by the watch-fed caches and ordered by namespace and name, so a
cursor (an offset) lands on the same object as long as the cluster does not change under it.
Only the page's objects are turned into their schema types.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import strawberry

from app.k8s.reading import Notes
from app.paging import Page, window
from schema.base import Connection, connection
from schema.kube import ClusterFailure, KubeNamespace, KubeNode, KubeObject, Pod, Workload, failures_of

Obj = dict[str, Any]
ERRORS = "Fields of this page's objects that could not be read (read as their defaults)"
T = TypeVar("T")


@strawberry.type(description="A page of a cluster's objects")
class KubeObjectConnection(Connection[KubeObject]):
    errors: list[ClusterFailure] = strawberry.field(description=ERRORS)


@strawberry.type(description="A page of a cluster's nodes")
class KubeNodeConnection(Connection[KubeNode]):
    errors: list[ClusterFailure] = strawberry.field(description=ERRORS)


@strawberry.type(description="A page of a cluster's namespaces")
class KubeNamespaceConnection(Connection[KubeNamespace]):
    errors: list[ClusterFailure] = strawberry.field(description=ERRORS)


@strawberry.type(description="A page of a cluster's workloads")
class WorkloadConnection(Connection[Workload]):
    errors: list[ClusterFailure] = strawberry.field(description=ERRORS)


@strawberry.type(description="A page of a cluster's pods")
class PodConnection(Connection[Pod]):
    errors: list[ClusterFailure] = strawberry.field(description=ERRORS)


C = TypeVar("C", KubeObjectConnection, KubeNodeConnection, KubeNamespaceConnection, WorkloadConnection,
            PodConnection)  # fmt: skip


def page_of(
    cls: type[C], cluster: Any, objects: list[T], paging: Page, build: Callable[[T, Notes], Any],
    notes: Notes | None = None,
) -> C:
    """One page of `objects` (already filtered and ordered) as `cls`, each built with `build`;
    `notes` may hold what reading the whole list for its filters met already."""
    notes = notes if notes is not None else Notes()
    items = [build(obj, notes) for obj in window(objects, paging)]
    plain = connection(items, len(objects), paging)
    errors = failures_of(notes, str(cluster.id), str(getattr(cluster, "name", "") or ""))
    return cls(edges=plain.edges, page_info=plain.page_info, total_count=plain.total_count, errors=errors)
