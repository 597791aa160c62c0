"""The bodies of the control API's lifecycle requests, checked into specs or refused with 422 Invalid."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from . import errors, nodepools
from .nodepools import NodePool

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?$")
_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                        r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")
_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
PROFILES = ("small", "large", "empty")
MAX_NODES = 256  # one /24 pod CIDR per node in 10.244.0.0/16

Cause = dict[str, str]


@dataclass(frozen=True)
class ClusterSpec:
    name: str
    version: str
    pools: tuple[tuple[NodePool, int], ...]
    profile: str | None


def _cause(field: str, message: str, reason: str = "FieldValueInvalid") -> Cause:
    return {"reason": reason, "message": message, "field": field}


def invalid(name: str, causes: list[Cause]) -> errors.ApiError:
    return errors.invalid("Cluster", "", name, causes)


def _name(value: Any, field: str) -> list[Cause]:
    if not isinstance(value, str) or not value:
        return [_cause(field, "Required value", "FieldValueRequired")]
    if len(value) > 63 or not _NAME.match(value):
        return [_cause(field, f'Invalid value: "{value}": must be a lowercase RFC 1123 label (at most 63 '
                              "characters, '-' or lower case alphanumeric, starting and ending alphanumeric)")]
    return []


def version_of(value: Any, field: str = "version") -> tuple[str | None, list[Cause]]:
    """``1.30.2`` (a leading ``v`` is dropped), or the causes why ``value`` is not a version."""
    if not isinstance(value, str) or not value:
        return None, [_cause(field, "Required value", "FieldValueRequired")]
    if not _VERSION.match(value):
        return None, [_cause(field, f'Invalid value: "{value}": must be a Kubernetes version such as "1.30.2"')]
    return value.removeprefix("v"), []


def _count(value: Any, field: str) -> list[Cause]:
    if isinstance(value, bool) or not isinstance(value, int):
        return [_cause(field, f"Invalid value: {json.dumps(value)}: must be an integer")]
    if value < 0:
        return [_cause(field, f"Invalid value: {value}: must be greater than or equal to 0")]
    if value > MAX_NODES:
        return [_cause(field, f"Invalid value: {value}: must be less than or equal to {MAX_NODES}")]
    return []


def _labels(value: Any, field: str) -> list[Cause]:
    if value is None:
        return []
    if not isinstance(value, dict):
        return [_cause(field, "Invalid value: must be an object of label keys to values")]
    causes = []
    for key, label in value.items():
        if not _LABEL_KEY.match(key) or len(key) > 316:
            causes.append(_cause(field, f'Invalid value: "{key}": not a valid label key'))
        if not isinstance(label, str) or not _LABEL_VALUE.match(label):
            causes.append(_cause(field, f"Invalid value: {json.dumps(label)}: not a valid label value"))
    return causes


def _taints(value: Any, field: str) -> list[Cause]:
    if value is None:
        return []
    if not isinstance(value, list):
        return [_cause(field, "Invalid value: must be a list of taints")]
    causes = []
    for i, taint in enumerate(value):
        path = f"{field}[{i}]"
        if not isinstance(taint, dict) or not isinstance(taint.get("key"), str) or not _LABEL_KEY.match(taint["key"]):
            causes.append(_cause(f"{path}.key", "Required value: a valid label key", "FieldValueRequired"))
            continue
        if taint.get("effect") not in _EFFECTS:
            supported = ", ".join(f'"{e}"' for e in _EFFECTS)
            causes.append(_cause(f"{path}.effect", f"Unsupported value: {json.dumps(taint.get('effect'))}: "
                                                   f"supported values: {supported}", "FieldValueNotSupported"))
        if not isinstance(taint.get("value", ""), str) or not _LABEL_VALUE.match(taint.get("value", "")):
            causes.append(_cause(f"{path}.value", f"Invalid value: {json.dumps(taint.get('value'))}: "
                                                  "not a valid label value"))
    return causes


def pool_of(body: dict[str, Any], field: str) -> tuple[NodePool | None, list[Cause]]:
    causes = _name(body.get("name"), f"{field}.name") + _labels(body.get("labels"), f"{field}.labels")
    causes += _taints(body.get("taints"), f"{field}.taints")
    instance_type = body.get("instanceType") or nodepools.DEFAULT_TYPE
    if not isinstance(instance_type, str):
        causes.append(_cause(f"{field}.instanceType", "Invalid value: must be a string"))
    if causes:
        return None, causes
    taints = tuple({k: t[k] for k in ("key", "value", "effect") if k in t} for t in body.get("taints") or [])
    return NodePool(body["name"], instance_type, dict(body.get("labels") or {}), taints), []


def cluster_spec(body: Any) -> ClusterSpec:
    if not isinstance(body, dict):
        raise invalid("", [_cause("", "Invalid value: the body must be a JSON object")])
    name = body.get("name")
    causes = _name(name, "name")
    version, wrong = version_of(body.get("version"))
    causes += wrong
    profile = body.get("profile")
    if profile is not None and profile not in PROFILES:
        supported = ", ".join(f'"{p}"' for p in PROFILES)
        causes.append(_cause("profile", f"Unsupported value: {json.dumps(profile)}: supported values: {supported}",
                             "FieldValueNotSupported"))
    pools: list[tuple[NodePool, int]] = []
    raw = body.get("nodePools") or []
    if not isinstance(raw, list) or not all(isinstance(p, dict) for p in raw):
        raw, causes = [], [*causes, _cause("nodePools", "Invalid value: must be a list of node pools")]
    for i, entry in enumerate(raw):
        pool, wrong = pool_of(entry, f"nodePools[{i}]")
        wrong += _count(entry.get("count"), f"nodePools[{i}].count")
        if pool is not None and any(p.name == pool.name for p, _ in pools):
            wrong.append(_cause(f"nodePools[{i}].name", f'Duplicate value: "{pool.name}"', "FieldValueDuplicate"))
        causes += wrong
        if pool is not None and not wrong:
            pools.append((pool, entry["count"]))
    if not causes and sum(n for _, n in pools) > MAX_NODES:
        causes.append(_cause("nodePools", f"Invalid value: the pod network has room for {MAX_NODES} nodes"))
    if causes or version is None:
        raise invalid(name if isinstance(name, str) else "", causes)
    return ClusterSpec(str(name), version, tuple(pools), profile)


def scale_request(cluster: str, pool: str, body: Any) -> tuple[NodePool, int]:
    """A resize: the count, and the pool to create if it does not exist yet (from the body's other fields)."""
    body = body if isinstance(body, dict) else {}
    spec, causes = pool_of({**body, "name": pool}, "pool")
    causes += _count(body.get("count"), "count")
    if causes or spec is None:
        raise invalid(cluster, causes)
    return spec, body["count"]


def version_request(cluster: str, body: Any) -> str:
    version, causes = version_of((body if isinstance(body, dict) else {}).get("version"))
    if version is None:
        raise invalid(cluster, causes)
    return version
