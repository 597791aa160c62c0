"""Label selectors (Service, NetworkPolicy, PodDisruptionBudget) and an index of pods by label.

A Service without a selector (or with an empty one) selects nothing: its endpoints are managed by
hand. An empty ``podSelector`` of a NetworkPolicy, and an empty ``selector`` of a policy/v1
PodDisruptionBudget, select every pod of their namespace.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from app.k8s.reading import not_a
from app.topology.model import Obj, meta

SELECTOR_KINDS = frozenset({"Service", "NetworkPolicy", "PodDisruptionBudget"})
_LABELS = {"Service": "selects", "NetworkPolicy": "applies to", "PodDisruptionBudget": "protects"}


class Selector(NamedTuple):
    namespace: str
    labels: tuple[tuple[str, str], ...]
    expressions: tuple[tuple[str, str, frozenset[str]], ...]
    label: str


def selector_of(kind: str, obj: Obj, bad: list[tuple[str, str]] | None = None) -> Selector | None:
    """What an object selects, or None when it selects no pod at all. A selector of another shape
    than Kubernetes' selects nothing, and is appended to ``bad`` as (field path, why)."""
    if kind not in SELECTOR_KINDS:
        return None
    spec = obj.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    namespace = str(meta(obj).get("namespace") or "")
    if kind == "Service":
        raw = spec.get("selector")
        if raw is not None and not isinstance(raw, dict):
            return _unreadable(bad, "spec.selector", raw, "an object")
        if not raw:
            return None
        return Selector(namespace, tuple(sorted((str(k), str(v)) for k, v in raw.items())), (), _LABELS[kind])
    field = "podSelector" if kind == "NetworkPolicy" else "selector"
    raw = spec.get(field)
    if raw is None and kind == "PodDisruptionBudget":
        return None
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        return _unreadable(bad, f"spec.{field}", raw, "an object")
    match_labels, match_expressions = raw.get("matchLabels") or {}, raw.get("matchExpressions") or []
    if not isinstance(match_labels, dict):
        return _unreadable(bad, f"spec.{field}.matchLabels", match_labels, "an object")
    if not isinstance(match_expressions, list):
        return _unreadable(bad, f"spec.{field}.matchExpressions", match_expressions, "an array")
    labels = tuple(sorted((str(k), str(v)) for k, v in match_labels.items()))
    expressions = tuple(
        (str(e.get("key")), str(e.get("operator")), _values(e.get("values")))
        for e in match_expressions if isinstance(e, dict)
    )
    return Selector(namespace, labels, expressions, _LABELS[kind])


def _values(raw: Any) -> frozenset[str]:
    return frozenset(str(v) for v in raw) if isinstance(raw, list) else frozenset()


def _unreadable(bad: list[tuple[str, str]] | None, field: str, value: Any, expected: str) -> Selector | None:
    """No selector: the field is of another type (appended to ``bad``)."""
    if bad is not None:
        bad.append((field, not_a(value, expected)))
    return None


def matches(selector: Selector, labels: Mapping[str, Any]) -> bool:
    for key, value in selector.labels:
        if labels.get(key) != value:
            return False
    for key, operator, values in selector.expressions:
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
    return True


class PodIndex:
    """Pod ids by namespace and by (namespace, label key, label value)."""

    def __init__(self) -> None:
        self.by_namespace: dict[str, set[str]] = {}
        self.by_label: dict[tuple[str, str, str], set[str]] = {}

    def add(self, pod: str, namespace: str, labels: Mapping[str, Any]) -> None:
        self.by_namespace.setdefault(namespace, set()).add(pod)
        for key, value in labels.items():
            self.by_label.setdefault((namespace, key, str(value)), set()).add(pod)

    def remove(self, pod: str, namespace: str, labels: Mapping[str, Any]) -> None:
        _discard(self.by_namespace, namespace, pod)
        for key, value in labels.items():
            _discard(self.by_label, (namespace, key, str(value)), pod)

    def candidates(self, selector: Selector) -> Iterable[str]:
        """Pods that may match: those carrying every matchLabels pair (all pods when there is none)."""
        if not selector.labels:
            return self.by_namespace.get(selector.namespace, ())
        sets = [self.by_label.get((selector.namespace, k, v)) for k, v in selector.labels]
        if any(s is None for s in sets):
            return ()
        ordered = sorted((s for s in sets if s is not None), key=len)
        return ordered[0].intersection(*ordered[1:])


def _discard(index: dict[Any, set[str]], key: Any, pod: str) -> None:
    bucket = index.get(key)
    if bucket is not None:
        bucket.discard(pod)
        if not bucket:
            del index[key]
