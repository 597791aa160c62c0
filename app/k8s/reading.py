"""Reading Kubernetes objects defensively: each field as the type Fleetgraph expects, or its default.

A cluster can hold objects Fleetgraph does not expect: custom resources, unknown fields, a missing
status, null labels, a string where a number belongs (written through a CRD, or by an old
apiserver). Reading one must never fail the list it is in. A field of another type reads as its
default and is noted in the list's `Notes` (the object's kind, namespace and name, the field's path
and why), which the list reports in its `errors`; the rest of the object, and of the list, is served.

A missing or null field is not a problem: it reads as its default without a note.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

Obj = Mapping[str, Any]


@dataclass(frozen=True)
class Unreadable:
    """A field of an object that could not be read as Fleetgraph expects it."""

    kind: str
    namespace: str | None
    name: str
    field: str
    message: str


class UnreadableField(Exception):
    """Raised by the strict readers of hot paths (the topology's), for their caller to note."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class Notes:
    """The unreadable fields met while answering one list, each once, in the order they were met."""

    def __init__(self) -> None:
        self._found: dict[tuple[str, str | None, str, str], Unreadable] = {}

    def add(self, entry: Unreadable) -> None:
        self._found.setdefault((entry.kind, entry.namespace, entry.name, entry.field), entry)

    def note(self, obj: Any, kind: str | None, field: str, message: str) -> None:
        kind_, namespace, name = identity(obj, kind)
        self.add(Unreadable(kind_, namespace, name, field, message))

    def entries(self) -> list[Unreadable]:
        return list(self._found.values())

    def __len__(self) -> int:
        return len(self._found)


def json_type(value: Any) -> str:
    """The JSON name of a value's type, as a message about it says it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list | tuple) else "an object"


def not_a(value: Any, expected: str) -> str:
    return f"is {json_type(value)}, not {expected}"


def identity(obj: Any, kind: str | None = None) -> tuple[str, str | None, str]:
    """(kind, namespace, name) of an object, as far as they can be read."""
    if not isinstance(obj, dict):
        return kind or "", None, ""
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    found_kind = kind or obj.get("kind")
    namespace, name = meta.get("namespace"), meta.get("name")
    return (
        found_kind if isinstance(found_kind, str) else "",
        namespace if isinstance(namespace, str) and namespace else None,
        name if isinstance(name, str) else "",
    )


@lru_cache(maxsize=2048)
def _parts(path: str) -> tuple[str, ...]:
    return tuple(path.split(".")) if path else ()


class Reader:
    """One object's fields read by dotted path (`spec.template.spec.containers`), each as a type.

    Items of a list are read with `each`, which yields a reader per item whose paths are prefixed
    (`spec.containers[0].image`); every reader of one object notes into the same `Notes`.
    """

    __slots__ = ("_kind", "_notes", "_obj", "_prefix", "_root")

    def __init__(self, obj: Any, kind: str | None = None, notes: Notes | None = None) -> None:
        self._root = obj
        self._kind = kind
        self._notes = notes
        self._prefix = ""
        self._obj: Mapping[str, Any] = obj if isinstance(obj, dict) else {}
        if not isinstance(obj, dict):
            self.note("", not_a(obj, "an object"))

    @property
    def obj(self) -> Any:
        return self._root

    @property
    def kind(self) -> str:
        """The kind the reader was given, else the object's own."""
        return identity(self._root, self._kind)[0]

    def note(self, path: str, message: str) -> None:
        if self._notes is not None:
            self._notes.note(self._root, self._kind, self._path(path), message)

    def _path(self, path: str) -> str:
        if not self._prefix:
            return path
        return f"{self._prefix}.{path}" if path else self._prefix

    def _child(self, value: Mapping[str, Any], prefix: str) -> Reader:
        child = Reader.__new__(Reader)
        child._root, child._kind, child._notes, child._obj = self._root, self._kind, self._notes, value
        child._prefix = self._path(prefix)
        return child

    # -- values ---------------------------------------------------------------------------------

    def value(self, path: str) -> Any:
        """The raw value at `path`; None when it is missing, or when a step on the way is not an object."""
        current: Any = self._obj
        if "." not in path:
            return current.get(path)
        for part in _parts(path):
            if not isinstance(current, dict):
                if current is not None:
                    self._broken(path)
                return None
            current = current.get(part)
        return current

    def _broken(self, path: str) -> None:
        """Notes the first step of `path` that is not an object (walked again: this is the rare case)."""
        current: Any = self._obj
        parts = _parts(path)
        for index, part in enumerate(parts):
            if not isinstance(current, dict):
                self.note(".".join(parts[:index]), not_a(current, "an object"))
                return
            current = current.get(part)

    def mapping(self, path: str) -> dict[str, Any]:
        value = self.value(path)
        if isinstance(value, dict):
            return value
        if value is not None:
            self.note(path, not_a(value, "an object"))
        return {}

    def sequence(self, path: str) -> list[Any]:
        value = self.value(path)
        if isinstance(value, list):
            return value
        if value is not None:
            self.note(path, not_a(value, "an array"))
        return []

    def each(self, path: str) -> Iterator[Reader]:
        """A reader for each object of the array at `path` (an item of another type is noted and skipped)."""
        for index, item in enumerate(self.sequence(path)):
            if isinstance(item, dict):
                yield self._child(item, f"{path}[{index}]")
            elif item is not None:
                self.note(f"{path}[{index}]", not_a(item, "an object"))

    def section(self, path: str) -> Reader:
        """A reader of the object at `path` (an empty one when it is missing or not an object)."""
        return self._child(self.mapping(path), path)

    def text(self, path: str, default: str | None = None) -> str | None:
        """A string; a number or a boolean reads as its text."""
        value = self.value(path)
        if isinstance(value, str):
            return value
        if value is None:
            return default
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        self.note(path, not_a(value, "a string"))
        return default

    def integer(self, path: str, default: int = 0) -> int:
        value = self.value(path)
        if value is None:
            return default
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        self.note(path, not_a(value, "an integer"))
        return default

    def flag(self, path: str, default: bool = False) -> bool:
        value = self.value(path)
        if isinstance(value, bool):
            return value
        if value is not None:
            self.note(path, not_a(value, "a boolean"))
        return default

    def strings(self, path: str) -> dict[str, str]:
        """A map of strings (labels, annotations, a selector); a value of another type is left out."""
        found = self.mapping(path)
        if all(isinstance(v, str) for v in found.values()):
            return found
        kept = {}
        for key, value in found.items():
            if isinstance(value, str):
                kept[key] = value
            elif isinstance(value, int | float | bool):
                kept[key] = str(value).lower() if isinstance(value, bool) else str(value)
            else:
                self.note(f"{path}.{key}", not_a(value, "a string"))
        return kept


def meta(obj: Any) -> Mapping[str, Any]:
    """An object's metadata, or an empty one when it has none that can be read."""
    value = obj.get("metadata") if isinstance(obj, dict) else None
    return value if isinstance(value, dict) else {}


def labels_of(obj: Any) -> dict[str, str]:
    """An object's labels for matching selectors: those whose value is a string (none when they are not a map)."""
    value = meta(obj).get("labels")
    if not isinstance(value, dict):
        return {}
    if all(isinstance(v, str) for v in value.values()):
        return value
    return {k: v for k, v in value.items() if isinstance(v, str)}


def name_of(obj: Any) -> str:
    value = meta(obj).get("name")
    return value if isinstance(value, str) else ""


def namespace_of(obj: Any) -> str:
    value = meta(obj).get("namespace")
    return value if isinstance(value, str) else ""


def integer(value: Any, field: str, default: int = 0) -> int:
    """A strict integer for hot paths: the default when missing, `UnreadableField` when of another type."""
    if value is None:
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise UnreadableField(field, not_a(value, "an integer"))
