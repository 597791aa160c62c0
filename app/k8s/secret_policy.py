"""The one Secret policy: what of a Secret may leave the gateway.

A Secret's values leave only to a caller whose role on the cluster grants `secrets:read` and
who asked for them (`Cluster.secrets(includeData: true)`). Everywhere else (every query, write
result, subscription, export and the legacy websocket) a Secret leaves *redacted*: its metadata,
type and key names (`dataKeys`), without

- `data` and `stringData`;
- `metadata.managedFields`;
- its annotations, but for the few well-known ones that name what owns it (`KEPT_ANNOTATIONS`):
  tools keep copies of a Secret in annotations (kubectl's `last-applied-configuration` holds the
  whole Secret in clear), and a copy of an earlier value cannot be recognised by the current one.

Names are not secret: anyone who may read the cluster sees which Secrets exist (the workloads'
specs name them anyway). The topology shows a Secret whose values the caller may not read as a
*hidden* node: kind, name and status kept, flagged `hidden`.

A kind is a Secret by its kind name, in any group (a custom kind called Secret is redacted too).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

from .resources import ResourceKind, find_kind

Obj = dict[str, Any]

SECRET = "Secret"
VALUE_FIELDS = ("data", "stringData")
KEPT_ANNOTATIONS = frozenset({
    "kubernetes.io/service-account.name",
    "kubernetes.io/service-account.uid",
    "meta.helm.sh/release-name",
    "meta.helm.sh/release-namespace",
    "cert-manager.io/certificate-name",
    "cert-manager.io/issuer-name",
    "cert-manager.io/issuer-kind",
    "cert-manager.io/issuer-group",
})  # fmt: skip
_REMEMBERED = 16_384  # entries: two per Secret (it, and its redacted self)

# Redacting the same object gives the same redacted object: every subscriber of an event is
# handed one dict, which lets subscriptions share its execution, and a cache read again costs
# no new copies. Entries keep their object alive, so an id is never reused while remembered.
_redacted: OrderedDict[int, tuple[Obj, Obj]] = OrderedDict()


def is_secret(kind: ResourceKind | str | None) -> bool:
    """Whether objects of ``kind`` (a kind, or any name of a built-in one) are Secrets."""
    if isinstance(kind, ResourceKind):
        return kind.kind == SECRET
    if not kind:
        return False
    found = find_kind(kind)
    return (found.kind if found is not None else kind) == SECRET


def redacted(secret: Obj) -> Obj:
    """The Secret as it may leave without `secrets:read`; redacting it again gives it back."""
    known = _redacted.get(id(secret))
    if known is not None and known[0] is secret:
        return known[1]
    shown = _redact(secret)
    _remember(secret, shown)
    _remember(shown, shown)
    return shown


def leaving(kind: ResourceKind | str | None, obj: Obj) -> Obj:
    """One object of ``kind`` as it leaves: redacted if it is a Secret (by its kind or its own)."""
    return redacted(obj) if is_secret(kind) or obj.get("kind") == SECRET else obj


def leaving_all(kind: ResourceKind | str | None, objects: Iterable[Obj]) -> list[Obj]:
    """Objects of one ``kind`` as they leave (a list of another kind is passed through as it is)."""
    if is_secret(kind):
        return [redacted(o) for o in objects]
    return list(objects)


def hides(node: Mapping[str, Any], values_readable: bool) -> bool:
    """Whether a topology node is an existing Secret whose values the caller may not read."""
    return not values_readable and node.get("kind") == SECRET and not node.get("missing")


def _redact(secret: Obj) -> Obj:
    shown = {k: v for k, v in secret.items() if k not in VALUE_FIELDS}
    if any(field in secret for field in VALUE_FIELDS):
        shown["dataKeys"] = sorted({str(k) for field in VALUE_FIELDS for k in _mapping(secret.get(field))})
    else:
        shown["dataKeys"] = _keys(secret)
    metadata = secret.get("metadata")
    if isinstance(metadata, dict):
        shown["metadata"] = _redacted_metadata(metadata)
    return shown


def _redacted_metadata(metadata: Obj) -> Obj:
    kept = {k: v for k, v in metadata.items() if k != "managedFields"}
    annotations = metadata.get("annotations")
    if isinstance(annotations, dict):
        kept["annotations"] = {k: v for k, v in annotations.items() if k in KEPT_ANNOTATIONS}
    return kept


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _keys(secret: Obj) -> list[str]:
    """The key names an already redacted Secret lists."""
    keys = secret.get("dataKeys")
    return sorted(str(k) for k in keys) if isinstance(keys, list) else []


def _remember(key: Obj, shown: Obj) -> None:
    _redacted[id(key)] = (key, shown)
    while len(_redacted) > _REMEMBERED:
        _redacted.popitem(last=False)
