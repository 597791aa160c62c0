"""JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch."""

from __future__ import annotations

from typing import Any

from . import errors
from .store import copy_obj

Path = tuple[str, ...]

# Path suffix -> merge key ("" for a merged list of primitives). Lists not listed are replaced.
_MERGE_KEYS: dict[Path, str] = {
    ("containers",): "name",
    ("initContainers",): "name",
    ("ephemeralContainers",): "name",
    ("containers", "ports"): "containerPort",
    ("initContainers", "ports"): "containerPort",
    ("env",): "name",
    ("volumeMounts",): "mountPath",
    ("volumeDevices",): "devicePath",
    ("volumes",): "name",
    ("imagePullSecrets",): "name",
    ("hostAliases",): "ip",
    ("topologySpreadConstraints",): "topologyKey",
    ("resourceClaims",): "name",
    ("metadata", "ownerReferences"): "uid",
    ("metadata", "finalizers"): "",
    ("status", "conditions"): "type",
    ("status", "addresses"): "type",
    ("secrets",): "name",
}
_SERVICE_PORTS: Path = ("spec", "ports")


def merge_key(path: Path, kind: str = "") -> str | None:
    if kind == "Service" and path == _SERVICE_PORTS:
        return "port"
    for size in (2, 1):
        key = _MERGE_KEYS.get(path[-size:])
        if key is not None:
            return key
    return None


# -- JSON merge patch --------------------------------------------------------------------------

def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy_obj(patch)
    result = copy_obj(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# -- JSON patch ----------------------------------------------------------------------------------

def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise _json_patch_error(f'add operation does not apply: doc is missing path: "{path}"')
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _json_patch_error(message: str) -> errors.ApiError:
    return errors.ApiError(422, "Invalid", message)


def _parent(doc: Any, parts: list[str], op: str, path: str) -> tuple[Any, str]:
    node = doc
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise _json_patch_error(f'{op} operation does not apply: doc is missing path: "{path}": missing value')
    return node, parts[-1]


def _get(doc: Any, path: str, op: str) -> Any:
    node = doc
    for part in _pointer(path):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise _json_patch_error(f'{op} operation does not apply: doc is missing path: "{path}": missing value')
    return node


def _add(doc: Any, path: str, value: Any, op: str = "add") -> Any:
    parts = _pointer(path)
    if not parts:
        return value
    parent, last = _parent(doc, parts, op, path)
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        index = len(parent) if last == "-" else int(last) if last.isdigit() else -1
        if not 0 <= index <= len(parent):
            raise _json_patch_error(f'{op} operation does not apply: doc is missing path: "{path}": missing value')
        parent.insert(index, value)
    else:
        raise _json_patch_error(f'{op} operation does not apply: doc is missing path: "{path}": missing value')
    return doc


def _remove(doc: Any, path: str, op: str = "remove") -> Any:
    parts = _pointer(path)
    parent, last = _parent(doc, parts, op, path)
    if isinstance(parent, dict) and last in parent:
        return parent.pop(last)
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent.pop(int(last))
    raise _json_patch_error(f'{op} operation does not apply: doc is missing path: "{path}": missing value')


def json_patch(target: Any, ops: Any) -> Any:
    if not isinstance(ops, list):
        raise errors.bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy_obj(target)
    for op in ops:
        if not isinstance(op, dict) or not all(isinstance(op.get(k, ""), str) for k in ("path", "from")):
            raise errors.bad_request("json: cannot unmarshal into Go value of type jsonpatch.Operation")
        kind, path = op.get("op"), op.get("path", "")
        if kind == "add":
            doc = _add(doc, path, copy_obj(op.get("value")))
        elif kind == "remove":
            _remove(doc, path)
        elif kind == "replace":
            _get(doc, path, "replace")
            if _pointer(path):
                _remove(doc, path, "replace")
            doc = _add(doc, path, copy_obj(op.get("value")), "replace")
        elif kind in ("move", "copy"):
            value = _get(doc, op.get("from", ""), kind)
            if kind == "move":
                _remove(doc, op.get("from", ""), kind)
            doc = _add(doc, path, copy_obj(value), kind)
        elif kind == "test":
            if _get(doc, path, "test") != op.get("value"):
                raise _json_patch_error(f'testing value {path} failed: test failed')
        else:
            raise _json_patch_error(f"Unexpected kind: {kind}")
    return doc


# -- strategic merge patch -----------------------------------------------------------------------

def strategic_merge(target: Any, patch: Any, kind: str = "", path: Path = ()) -> Any:
    if not isinstance(patch, dict) or not isinstance(target, dict):
        return _strip(copy_obj(patch))
    directive = patch.get("$patch")
    if directive == "replace":
        return _strip({k: v for k, v in patch.items() if k != "$patch"})
    if directive == "delete":
        return None
    result = copy_obj(target)
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
            continue
        sub = path + (key,)
        if isinstance(value, list):
            merged = _merge_list(result.get(key), value, patch, key, kind, sub)
        else:
            merged = strategic_merge(result.get(key), value, kind, sub)
        if merged is None:
            result.pop(key, None)
        else:
            result[key] = merged
    _apply_primitive_deletes(result, patch)
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _apply_primitive_deletes(result: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/") and isinstance(value, list):
            field = key.split("/", 1)[1]
            if isinstance(result.get(field), list):
                result[field] = [v for v in result[field] if v not in value]


def _merge_list(
    current: Any, items: list[Any], patch: dict[str, Any], field: str, kind: str, path: Path
) -> list[Any]:
    key = merge_key(path, kind)
    if key is None or not isinstance(current, list):
        if key is not None and key != "":
            items = [i for i in items if not (isinstance(i, dict) and i.get("$patch"))]
        return _strip(copy_obj(items))
    if key == "":
        merged = list(current) + [v for v in items if v not in current]
    elif any(isinstance(i, dict) and i.get("$patch") == "replace" for i in items):
        return _strip([i for i in items if not (isinstance(i, dict) and "$patch" in i)])
    else:
        merged = _merge_keyed(current, items, key, kind, path)
    order = patch.get(f"$setElementOrder/{field}")
    if isinstance(order, list):
        merged = _reorder(merged, order, key)
    return merged


def _merge_keyed(current: list[Any], items: list[Any], key: str, kind: str, path: Path) -> list[Any]:
    merged = copy_obj(current)
    for item in items:
        if not isinstance(item, dict):
            continue
        index = next((i for i, c in enumerate(merged) if isinstance(c, dict) and c.get(key) == item.get(key)),
                     None)
        if item.get("$patch") == "delete":
            if index is not None:
                merged.pop(index)
        elif index is None:
            merged.append(_strip(copy_obj(item)))
        else:
            merged[index] = strategic_merge(merged[index], item, kind, path)
    return merged


def _reorder(merged: list[Any], order: list[Any], key: str) -> list[Any]:
    def ident(value: Any) -> Any:
        return value.get(key) if key and isinstance(value, dict) else value

    wanted = [ident(o) for o in order]
    placed = [m for w in wanted for m in merged if ident(m) == w]
    rest = [m for m in merged if ident(m) not in wanted]
    return placed + rest


def _strip(value: Any) -> Any:
    """Drop directives from values that are inserted whole."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value
