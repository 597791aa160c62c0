"""Search across kinds: a case-insensitive substring of names and label values.

`search` is a pure function over the objects; `read_search` fetches them from the caches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.context import RequestContext
from app.errors import BadUserInput
from app.k8s.reading import labels_of, name_of
from app.k8s.resources import find_kind
from resolvers.insights import key_of, read

Obj = dict[str, Any]

SEARCH_KINDS = (
    "Namespace", "Node", "Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job", "Pod", "Service", "Ingress",
    "ConfigMap", "Secret", "PersistentVolumeClaim", "PersistentVolume", "StorageClass", "ServiceAccount",
)
SEARCH_LIMIT = 200


@dataclass
class SearchHit:
    kind: str
    obj: Obj
    match: str  # "name" or "label:<key>"
    rank: int


def _hit(kind: str, obj: Obj, needle: str) -> SearchHit | None:
    name = name_of(obj).lower()
    if needle in name:
        return SearchHit(kind, obj, "name", 0 if name == needle else 1 if name.startswith(needle) else 2)
    for key, value in sorted(labels_of(obj).items()):
        if needle in str(value).lower():
            return SearchHit(kind, obj, f"label:{key}", 3)
    return None


def search_kinds(kinds: list[str] | None) -> list[str]:
    if not kinds:
        return list(SEARCH_KINDS)
    chosen = []
    for name in kinds:
        found = find_kind(name)
        if found is None:
            raise BadUserInput.field("kinds", f"unknown resource kind {name!r}")
        chosen.append(found.kind)
    return list(dict.fromkeys(chosen))


def check_search(query: str, limit: int) -> str:
    if not query.strip():
        raise BadUserInput.field("query", "must not be empty")
    if not 1 <= limit <= SEARCH_LIMIT:
        raise BadUserInput.field("limit", f"must be between 1 and {SEARCH_LIMIT}")
    return query.strip().lower()


def search(objects: dict[str, list[Obj]], kinds: list[str], needle: str) -> list[SearchHit]:
    """Objects whose name (or a label value) contains `needle`: exact names first, then prefixes,
    then other name matches, then label matches; each group by kind order, namespace and name."""
    hits = [(h, i) for i, kind in enumerate(kinds) for o in objects.get(kind, []) if (h := _hit(kind, o, needle))]
    hits.sort(key=lambda pair: (pair[0].rank, pair[1], *key_of(pair[0].obj)))
    return [h for h, _ in hits]


async def read_search(ctx: RequestContext, cluster_id: str, query: str, kinds: list[str] | None,
                      limit: int) -> tuple[list[SearchHit], int]:
    needle, chosen = check_search(query, limit), search_kinds(kinds)
    hits = search(await read(ctx, cluster_id, chosen), chosen, needle)
    return hits[:limit], len(hits)
