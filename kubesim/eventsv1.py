"""events.k8s.io/v1 Events: another view of the core/v1 Events, sharing their storage as in Kubernetes."""

from __future__ import annotations

from typing import Any

KEY = ("events.k8s.io", "events")
# (events.k8s.io/v1 field, core/v1 field)
_RENAMED = (
    ("regarding", "involvedObject"), ("note", "message"), ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"), ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"), ("deprecatedCount", "count"),
)
_SAME = ("metadata", "eventTime", "series", "reportingInstance", "action", "reason", "type", "related")


def to_v1(core: dict[str, Any] | None) -> dict[str, Any] | None:
    if core is None:
        return None
    out: dict[str, Any] = {"apiVersion": "events.k8s.io/v1", "kind": "Event"}
    for field in _SAME:
        if field in core:
            out[field] = core[field]
    for new, old in _RENAMED:
        if old in core:
            out[new] = core[old]
    if "reportingController" not in out and (core.get("source") or {}).get("component"):
        out["reportingController"] = core["source"]["component"]
    if not out.get("eventTime"):
        # Legacy events have no eventTime; the typed clients require one, so the first sighting stands in.
        seen = core.get("firstTimestamp") or core.get("lastTimestamp") or core["metadata"].get("creationTimestamp")
        out["eventTime"] = seen.replace("Z", ".000000Z") if isinstance(seen, str) and "." not in seen else seen
    return out


def to_core(event: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"apiVersion": "v1", "kind": "Event"}
    for field in _SAME:
        if field in event:
            out[field] = event[field]
    for new, old in _RENAMED:
        if new in event:
            out[old] = event[new]
    out.setdefault("involvedObject", {})
    return out
