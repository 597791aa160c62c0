"""Label selectors (=, ==, !=, in, notin, exists, !key) and the supported field selectors."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from . import errors
from .resources import ResourceType

Predicate = Callable[[dict[str, Any]], bool]
_SET_RE = re.compile(r"^\s*([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split_terms(text: str) -> list[str]:
    terms, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current)
    return [t.strip() for t in terms if t.strip()]


def _label_term(term: str) -> Predicate:
    match = _SET_RE.match(term)
    if match:
        key, op, raw = match.groups()
        values = {v.strip() for v in raw.split(",") if v.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    for op in ("==", "!=", "="):
        if op in term:
            key, value = (part.strip() for part in term.split(op, 1))
            if not key:
                break
            if op == "!=":
                return lambda labels: labels.get(key) != value
            return lambda labels: key in labels and labels[key] == value
    if term.startswith("!"):
        key = term[1:].strip()
        return lambda labels: key not in labels
    if re.match(r"^[A-Za-z0-9./_-]+$", term):
        return lambda labels: term in labels
    raise errors.bad_request(f"unable to parse requirement: found '{term}', expected: in, notin, =, ==, !=, gt, lt")


def label_selector(text: str | None) -> Predicate | None:
    if not text:
        return None
    preds = [_label_term(t) for t in _split_terms(text)]

    def match(obj: dict[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(p(labels) for p in preds)

    return match


def _field_value(obj: dict[str, Any], path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_FIELDS_BY_KIND: dict[str, set[str]] = {
    "Pod": {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
            "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"},
    "Event": {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
              "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
              "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"},
    "Node": {"spec.unschedulable"},
    "Secret": {"type"},
    "Namespace": {"status.phase"},
    "ReplicaSet": {"status.replicas"},
    "Job": {"status.successful"},
}


def field_selector(text: str | None, rt: ResourceType) -> Predicate | None:
    if not text:
        return None
    allowed = {"metadata.name", "metadata.namespace"} | _FIELDS_BY_KIND.get(rt.kind, set())
    preds: list[Predicate] = []
    for term in _split_terms(text):
        op = "!=" if "!=" in term else "==" if "==" in term else "="
        if op not in term:
            raise errors.bad_request(f"invalid selector: '{text}'; can't understand '{term}'")
        field, value = (part.strip() for part in term.split(op, 1))
        if field not in allowed:
            raise errors.bad_request(f'field label not supported: {field}')
        if rt.kind == "Event" and field == "source":
            field = "source.component"
        preds.append(_field_pred(field, value, op == "!="))

    def match(obj: dict[str, Any]) -> bool:
        return all(p(obj) for p in preds)

    return match


def _field_pred(field: str, value: str, negate: bool) -> Predicate:
    if negate:
        return lambda obj: _field_value(obj, field) != value
    return lambda obj: _field_value(obj, field) == value


def combine(*preds: Predicate | None) -> Predicate | None:
    active = [p for p in preds if p is not None]
    if not active:
        return None
    if len(active) == 1:
        return active[0]
    return lambda obj: all(p(obj) for p in active)


def match_label_selector(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Evaluate a metav1.LabelSelector (matchLabels + matchExpressions) against labels."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = key in labels
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and present and labels.get(key) in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def selector_string(selector: dict[str, Any] | None) -> str:
    """The text form of a LabelSelector, as in Scale.status.selector."""
    if not selector:
        return ""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op, key = expr.get("operator"), expr.get("key")
        values = ",".join(sorted(expr.get("values") or []))
        parts.append({"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})",
                      "Exists": f"{key}", "DoesNotExist": f"!{key}"}.get(op, ""))
    return ",".join(p for p in parts if p)
