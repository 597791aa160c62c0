"""Server-side apply, managedFields bookkeeping for every write, and fieldValidation."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from . import errors, fieldsets, knownfields, patch
from .fieldsets import FieldPath
from .httputil import flag
from .resources import ResourceType
from .store import ClusterState, copy_obj, format_time

Entries = list[dict[str, Any]]


def _entries(obj: dict[str, Any] | None) -> Entries:
    return copy_obj(((obj or {}).get("metadata") or {}).get("managedFields") or [])


def _entry(manager: str, operation: str, api_version: str, fields: set[FieldPath], state: ClusterState,
           subresource: str | None = None) -> dict[str, Any]:
    entry = {"manager": manager, "operation": operation, "apiVersion": api_version,
             "time": format_time(state.clock.now()), "fieldsType": "FieldsV1",
             "fieldsV1": fieldsets.encode(fields)}
    if subresource:
        entry["subresource"] = subresource
    return entry


def _strip_from_others(entries: Entries, skip: int | None, taken: set[FieldPath]) -> Entries:
    kept = []
    for index, entry in enumerate(entries):
        if index != skip:
            remaining = fieldsets.decode(entry.get("fieldsV1") or {}) - taken
            if not remaining:
                continue
            entry["fieldsV1"] = fieldsets.encode(remaining)
        kept.append(entry)
    return kept


def record_update(
    old: dict[str, Any] | None, new: dict[str, Any], manager: str, api_version: str, state: ClusterState,
    subresource: str | None = None,
) -> dict[str, Any]:
    """Give `manager` ownership (operation Update) of the fields it changed, as the apiserver does."""
    new = copy_obj(new)
    kind = new.get("kind", "")
    new_leaves = fieldsets.leaves(_without_status(new, subresource), kind)
    old_leaves = fieldsets.leaves(_without_status(old, subresource), kind) if old else set()
    changed = {p for p in new_leaves if p not in old_leaves or fieldsets.value_at(new, p)
               != fieldsets.value_at(old, p)}
    entries = _entries(old) if old else []
    if not changed:
        new.setdefault("metadata", {})["managedFields"] = entries
        if not entries:
            new["metadata"].pop("managedFields", None)
        return new
    index = next((i for i, e in enumerate(entries) if e.get("manager") == manager
                  and e.get("operation") == "Update" and e.get("subresource") == subresource), None)
    owned = fieldsets.decode(entries[index].get("fieldsV1") or {}) & new_leaves if index is not None else set()
    entries = _strip_from_others(entries, index, changed)
    entry = _entry(manager, "Update", api_version, owned | changed, state, subresource)
    index = next((i for i, e in enumerate(entries) if e.get("manager") == manager
                  and e.get("operation") == "Update" and e.get("subresource") == subresource), None)
    if index is None:
        entries.append(entry)
    else:
        entries[index] = entry
    new.setdefault("metadata", {})["managedFields"] = entries
    return new


def _without_status(obj: dict[str, Any] | None, subresource: str | None) -> dict[str, Any]:
    if obj is None:
        return {}
    if subresource == "status":
        return {"status": obj.get("status")} if obj.get("status") else {}
    return {k: v for k, v in obj.items() if k != "status"}


def server_side_apply(request: Request, state: ClusterState, target: Any, body: Any) -> tuple[dict[str, Any], int]:
    manager = request.query_params.get("fieldManager")
    if not manager:
        raise errors.bad_request("PATCH, application/apply-patch+yaml, requires fieldManager")
    if not isinstance(body, dict):
        raise errors.bad_request("error decoding YAML: the applied configuration must be an object")
    rt: ResourceType = target.rt
    meta = body.setdefault("metadata", {})
    if target.name and meta.get("name") not in (None, target.name):
        raise errors.bad_request(f"the name of the object ({meta.get('name')}) does not match the name on "
                                 f"the URL ({target.name})")
    meta["name"] = target.name
    if rt.namespaced:
        meta["namespace"] = target.namespace
    validate_fields(request, rt, body, default="Strict")
    current = state.get(rt, target.namespace, target.name or "")
    applied = fieldsets.leaves(body, rt.kind)
    if current is None:
        obj = copy_obj(body)
        obj["metadata"]["managedFields"] = [_entry(manager, "Apply", rt.api_version, applied, state)]
        if request.query_params.get("dryRun"):
            return state.prepare_create(rt, obj), 201
        return state.create(rt, obj), 201
    merged = _apply_to(current, body, manager, applied, flag(request, "force"), rt, state, target.subresource)
    if request.query_params.get("dryRun"):
        return state.prepare_update(rt, merged, target.subresource), 200
    return state.update(rt, merged, target.subresource), 200


def _apply_to(current: dict[str, Any], body: dict[str, Any], manager: str, applied: set[FieldPath], force: bool,
              rt: ResourceType, state: ClusterState, subresource: str | None) -> dict[str, Any]:
    entries = _entries(current)
    mine = next((i for i, e in enumerate(entries) if e.get("manager") == manager and e.get("operation") == "Apply"),
                None)
    conflicts = []
    for index, entry in enumerate(entries):
        if index == mine:
            continue
        owned = fieldsets.decode(entry.get("fieldsV1") or {})
        for path in applied & owned:
            if path[-1] != "." and fieldsets.value_at(current, path) != fieldsets.value_at(body, path):
                conflicts.append((entry, path))
    if conflicts and not force:
        raise _conflict_error(conflicts)
    previous = fieldsets.decode(entries[mine].get("fieldsV1") or {}) if mine is not None else set()
    others = set().union(*(fieldsets.decode(e.get("fieldsV1") or {}) for i, e in enumerate(entries) if i != mine))
    merged = patch.strategic_merge(current, _strip_meta(body), rt.kind)
    for path in sorted(previous - applied - others, key=len, reverse=True):
        fieldsets.remove_path(merged, path)
    taken = {path for _, path in conflicts}
    entries = _strip_from_others(entries, mine, taken)
    entry = _entry(manager, "Apply", rt.api_version, applied, state, subresource)
    mine = next((i for i, e in enumerate(entries) if e.get("manager") == manager and e.get("operation") == "Apply"),
                None)
    if mine is None:
        entries.append(entry)
    else:
        entries[mine] = entry
    merged["metadata"]["managedFields"] = entries
    merged["metadata"]["resourceVersion"] = (body.get("metadata") or {}).get("resourceVersion") or \
        current["metadata"]["resourceVersion"]
    return merged


def _strip_meta(body: dict[str, Any]) -> dict[str, Any]:
    body = copy_obj(body)
    for key in ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation"):
        body.get("metadata", {}).pop(key, None)
    return body


def _dotted(path: FieldPath) -> str:
    out = ""
    for part in path:
        if part.startswith("f:"):
            out += "." + part[2:]
        elif part.startswith("k:"):
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in json.loads(part[2:]).items()) + "]"
        elif part.startswith("v:"):
            out += f"[={part[2:]}]"
    return out


def _conflict_error(conflicts: list[tuple[dict[str, Any], FieldPath]]) -> errors.ApiError:
    causes = [{"reason": "FieldManagerConflict",
               "message": f'conflict with "{e["manager"]}"' + (" using " + e["apiVersion"] if e.get("apiVersion")
                                                               else ""),
               "field": _dotted(p)} for e, p in conflicts]
    if len(causes) == 1:
        message = f"Apply failed with 1 conflict: {causes[0]['message']}: {causes[0]['field']}"
    else:
        lines = "\n".join(f"- {c['message']}: {c['field']}" for c in causes)
        message = f"Apply failed with {len(causes)} conflicts: {lines}"
    return errors.ApiError(409, "Conflict", message, {"causes": causes})


def validate_fields(request: Request, rt: ResourceType, body: dict[str, Any], default: str = "Warn") -> list[str]:
    """Unknown fields: 400 under Strict, warnings (returned) under Warn, nothing under Ignore."""
    mode = request.query_params.get("fieldValidation", default)
    if mode not in ("Ignore", "Warn", "Strict"):
        raise errors.bad_request(f'fieldValidation: Unsupported value: "{mode}": supported values: "Ignore", '
                                 '"Strict", "Warn"')
    if mode == "Ignore":
        return []
    unknown = knownfields.unknown_fields(rt, body)
    if mode == "Warn":
        return [f'unknown field "{u}"' for u in unknown]
    if unknown:
        listed = ", ".join(f'unknown field "{u}"' for u in unknown)
        raise errors.bad_request(f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
                                 f"strict decoding error: {listed}")
    return []


def warning_headers(warnings: list[str]) -> dict[str, str]:
    if not warnings:
        return {}
    return {"Warning": ", ".join('299 - "' + w.replace('"', '\\"') + '"' for w in warnings)}
