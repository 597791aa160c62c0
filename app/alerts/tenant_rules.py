"""Tenant alert rules: a PromQL instant query compared with a threshold, for one cluster or all of them.

Each series of the query's result for which the comparison holds is one ``Condition`` of the rule,
labelled with the series' labels (less ``__name__`` and ``cluster_id``) plus ``alertname``,
``severity`` and ``rule_id``; the object it is about is read from its ``namespace``, ``pod`` and
``node`` labels.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select

from app.alerts.rules import CLUSTER_REF, Condition, ObjectRef
from app.db.alerts import AlertRule
from app.db.session import Database
from app.errors import AppError

log = logging.getLogger("fleetgraph.alerts")

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": lambda v, t: v > t, ">=": lambda v, t: v >= t, "<": lambda v, t: v < t, "<=": lambda v, t: v <= t,
}
_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_DROPPED_LABELS = frozenset({"__name__", "cluster_id"})


class InstantQueries(Protocol):
    """What tenant rules need of a metrics backend (``app.metrics.backend.MetricsBackend``)."""

    name: str

    async def query_instant(self, query: str, cluster_ids: Sequence[str], at: datetime) -> dict[str, Any]: ...


@dataclass(frozen=True)
class TenantRule:
    id: str
    cluster_id: str | None
    name: str
    query: str
    comparison: str
    threshold: float
    for_seconds: int
    severity: str
    summary: str
    runbook: str


async def load_rules(db: Database, tenant_id: str | None) -> list[TenantRule]:
    """The tenant's enabled rules, by id."""
    query = select(AlertRule).where(AlertRule.tenant_id == tenant_id, AlertRule.enabled.is_(True))
    async with db.session() as session:
        rows = list((await session.execute(query.order_by(AlertRule.id))).scalars())
    return [TenantRule(r.id, r.cluster_id, r.name, r.query, r.comparison, r.threshold, r.for_seconds, r.severity,
                       r.summary, r.runbook) for r in rows]


async def query_rule(backend: InstantQueries, rule: TenantRule, cluster_id: str,
                     at: datetime) -> dict[str, Any] | None:
    """The rule's instant query on the cluster at ``at``; None when it did not answer (logged: one rule's
    failure must not stop the others)."""
    try:
        return await backend.query_instant(rule.query, [cluster_id], at)
    except AppError as exc:
        log.warning("alert rule %s on cluster %s not evaluated: %s", rule.id, cluster_id, exc.message)
    except Exception:
        log.exception("alert rule %s on cluster %s failed", rule.id, cluster_id)
    return None


def rule_conditions(rule: TenantRule, result: Mapping[str, Any]) -> list[Condition]:
    """The series of an instant query's result for which the rule's comparison holds."""
    compare = _COMPARE.get(rule.comparison)
    if compare is None:
        return []
    kind, data = result.get("resultType"), result.get("result")
    if kind == "scalar" and isinstance(data, list):
        series: list[tuple[Mapping[str, Any], Any]] = [({}, data)]
    elif kind == "vector" and isinstance(data, list):
        series = [(s.get("metric") or {}, s.get("value")) for s in data if isinstance(s, dict)]
    else:
        return []
    found = []
    for metric, sample in series:
        try:
            value = float(sample[1])
        except (TypeError, ValueError, IndexError):
            continue
        if math.isnan(value) or not compare(value, rule.threshold):
            continue
        labels = {str(k): str(v) for k, v in metric.items() if k not in _DROPPED_LABELS}
        ref = _series_ref(labels)
        labels.update({"alertname": rule.name, "severity": rule.severity, "rule_id": rule.id})
        found.append(Condition(rule.id, ref, labels, value))
    return found


def _series_ref(labels: Mapping[str, str]) -> ObjectRef:
    namespace, pod, node = labels.get("namespace"), labels.get("pod"), labels.get("node")
    if namespace and pod:
        return ObjectRef("Pod", namespace, pod)
    if namespace:
        return ObjectRef("Namespace", None, namespace)
    if node:
        return ObjectRef("Node", None, node)
    return CLUSTER_REF


def describe(rule: TenantRule, condition: Condition) -> str:
    """A tenant rule's summary with ``{label}``, ``{value}`` and ``{threshold}`` filled in (plain
    substitution: a template is the tenant's text, never a format string run here)."""
    value = "" if condition.value is None else f"{condition.value:g}"
    values = {**condition.labels, "value": value, "threshold": f"{rule.threshold:g}"}
    if not rule.summary:
        return f"{rule.name}: {value} {rule.comparison} {rule.threshold:g}"
    return _FIELD.sub(lambda m: values.get(m.group(1), m.group(0)), rule.summary)[:2000]
