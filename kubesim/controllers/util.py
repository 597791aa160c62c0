"""Small helpers shared by controllers: selectors, names, hashes, owner references, conditions."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from kubesim.clock import format_time, parse_time

NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"


def matches(selector: dict[str, Any] | None, labels: dict[str, str] | None) -> bool:
    """metav1.LabelSelector semantics; an empty selector matches everything."""
    labels = labels or {}
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key", ""), expr.get("operator", ""), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def matches_map(selector: dict[str, str] | None, labels: dict[str, str] | None) -> bool:
    """A plain map selector (Service.spec.selector, nodeSelector); empty matches nothing for services."""
    labels = labels or {}
    return all(labels.get(k) == v for k, v in (selector or {}).items())


def fnv32a(data: bytes) -> int:
    value = 0x811C9DC5
    for byte in data:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def safe_encode(number: int) -> str:
    """Render a hash with the consonant-and-digit alphabet Kubernetes uses for generated names."""
    text = str(number)
    return "".join(NAME_CHARS[ord(ch) % len(NAME_CHARS)] for ch in text)


def template_hash(template: dict[str, Any], collision_count: int = 0) -> str:
    """The pod-template-hash / controller-revision-hash of a pod template."""
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    if collision_count:
        data += str(collision_count).encode()
    return safe_encode(fnv32a(data))


def suffix(*parts: object, length: int = 5) -> str:
    digest = hashlib.blake2b("/".join(str(p) for p in parts).encode(), digest_size=16).digest()
    return "".join(NAME_CHARS[b % len(NAME_CHARS)] for b in digest[:length])


def unique_name(used: set[str], exists: Callable[[str], bool], prefix: str, *seed: object) -> str:
    """``prefix`` plus a deterministic five-character suffix not used before in this cluster."""
    attempt = 0
    while True:
        name = f"{prefix}{suffix(prefix, *seed, attempt)}"
        if name not in used and not exists(name):
            used.add(name)
            return name
        attempt += 1


def owner_ref(owner: dict[str, Any], controller: bool = True) -> dict[str, Any]:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": controller,
        "blockOwnerDeletion": True,
    }


def deleting(obj: dict[str, Any]) -> bool:
    return bool(obj["metadata"].get("deletionTimestamp"))


def pod_ready(pod: dict[str, Any]) -> bool:
    return condition_status(pod, "Ready") == "True"


def pod_available(pod: dict[str, Any], min_ready_seconds: int, now: datetime) -> bool:
    if not pod_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    since = ready_since(pod)
    return since is not None and (now - since).total_seconds() >= min_ready_seconds


def ready_since(pod: dict[str, Any]) -> datetime | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready" and cond.get("lastTransitionTime"):
            return parse_time(cond["lastTransitionTime"])
    return None


def condition_status(obj: dict[str, Any], kind: str) -> str | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return str(cond.get("status"))
    return None


def set_condition(
    conditions: list[dict[str, Any]], kind: str, status: str, reason: str | None, message: str | None,
    now: datetime, update_time: bool = False,
) -> list[dict[str, Any]]:
    """Return conditions with one set; transition time only moves when the status changes."""
    stamp = format_time(now)
    result, found = [], False
    for cond in conditions:
        if cond.get("type") != kind:
            result.append(cond)
            continue
        found = True
        new = dict(cond)
        if cond.get("status") != status:
            new["lastTransitionTime"] = stamp
        if update_time and (cond.get("reason") != reason or cond.get("message") != message
                            or cond.get("status") != status):
            new["lastUpdateTime"] = stamp
        new.update(_reason(status, reason, message))
        result.append(new)
    if not found:
        new = {"type": kind, **_reason(status, reason, message), "lastTransitionTime": stamp}
        if update_time:
            new["lastUpdateTime"] = stamp
        result.append(new)
    return result


def _reason(status: str, reason: str | None, message: str | None) -> dict[str, Any]:
    fields: dict[str, Any] = {"status": status}
    if reason:
        fields["reason"] = reason
    if message:
        fields["message"] = message
    return fields


def int_or_percent(value: Any, total: int, round_up: bool) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    text = str(value)
    if not text.endswith("%"):
        return int(text)
    scaled = int(text[:-1]) * total
    return -(-scaled // 100) if round_up else scaled // 100


def revision(obj: dict[str, Any]) -> int:
    text = (obj["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision", "0")
    return int(text) if str(text).isdigit() else 0
