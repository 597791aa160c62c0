"""Managed field sets: leaf paths of an object, and their FieldsV1 JSON encoding."""

from __future__ import annotations

import json
from typing import Any

from .patch import merge_key

FieldPath = tuple[str, ...]
_SKIP_META = {"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
              "managedFields", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"}


def _item_key(key: str, item: Any) -> str:
    return "k:" + json.dumps({key: item.get(key)}, separators=(",", ":"))


def leaves(obj: dict[str, Any], kind: str = "") -> set[FieldPath]:
    found: set[FieldPath] = set()
    for key, value in obj.items():
        if key in ("apiVersion", "kind"):
            continue
        if key == "metadata" and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in _SKIP_META}
            if not value:
                continue
        _walk(value, ("f:" + key,), (key,), kind, found)
    return found


def _walk(value: Any, path: FieldPath, names: FieldPath, kind: str, found: set[FieldPath]) -> None:
    if isinstance(value, dict) and value:
        for key, sub in value.items():
            _walk(sub, path + ("f:" + key,), names + (key,), kind, found)
        return
    if isinstance(value, list) and value:
        key = merge_key(names, kind)
        if key == "":
            for item in value:
                found.add(path + ("v:" + json.dumps(item, separators=(",", ":")),))
            return
        if key and all(isinstance(i, dict) and key in i for i in value):
            for item in value:
                item_path = path + (_item_key(key, item),)
                found.add(item_path + (".",))
                _walk(item, item_path, names, kind, found)
            return
    found.add(path)


def value_at(obj: Any, path: FieldPath) -> Any:
    node = obj
    for part in path:
        if part == ".":
            return node
        if part.startswith("f:") and isinstance(node, dict):
            node = node.get(part[2:])
        elif part.startswith("k:") and isinstance(node, list):
            wanted = json.loads(part[2:])
            node = next((i for i in node if isinstance(i, dict)
                         and all(i.get(k) == v for k, v in wanted.items())), None)
        elif part.startswith("v:") and isinstance(node, list):
            value = json.loads(part[2:])
            return value if value in node else None
        else:
            return None
    return node


def remove_path(obj: Any, path: FieldPath) -> None:
    parent = value_at(obj, path[:-1]) if len(path) > 1 else obj
    last = path[-1]
    if last == ".":
        container = value_at(obj, path[:-2]) if len(path) > 2 else obj
        wanted = json.loads(path[-2][2:])
        if isinstance(container, list):
            container[:] = [i for i in container if not (isinstance(i, dict)
                            and all(i.get(k) == v for k, v in wanted.items()))]
    elif last.startswith("f:") and isinstance(parent, dict):
        parent.pop(last[2:], None)
    elif last.startswith("v:") and isinstance(parent, list):
        value = json.loads(last[2:])
        parent[:] = [i for i in parent if i != value]


def encode(paths: set[FieldPath]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for path in sorted(paths):
        node = root
        for part in path:
            node = node.setdefault(part, {})
    return root


def decode(fields: dict[str, Any], prefix: FieldPath = ()) -> set[FieldPath]:
    found: set[FieldPath] = set()
    for key, sub in fields.items():
        path = prefix + (key,)
        if isinstance(sub, dict) and sub:
            found |= decode(sub, path)
        else:
            found.add(path)
    return found
