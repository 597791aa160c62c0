"""The URL paths the gateway sends requests to, as types that check their parts when made.

A collection and one object are different types: ``ObjectPath`` cannot be made without a valid
name (and, for a namespaced kind, a valid namespace), so a verb meant for one object can never be
sent to the whole collection, and no name can climb out of its segment. The transport accepts
only these types, never a string.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from app.errors import BadUserInput

from .names import check, check_namespace, check_subresource, rule_for
from .resources import ResourceKind, valid_segments


def _check_kind(kind: ResourceKind) -> None:
    """A kind's group, version and plural each stay one segment (a manifest's apiVersion sets the version)."""
    if not valid_segments(kind.group, kind.version, kind.plural):
        raise BadUserInput.field("kind", f"{kind.kind} in {kind.api_version!r} is no resource Kubernetes serves")


def _base(kind: ResourceKind, namespace: str | None) -> str:
    base = f"/apis/{kind.group}/{kind.version}" if kind.group else f"/api/{kind.version}"
    if kind.namespaced and namespace is not None:
        base += f"/namespaces/{quote(namespace, safe='')}"
    return f"{base}/{kind.plural}"


@dataclass(frozen=True)
class CollectionPath:
    """Every object of a kind: in one namespace, or (``namespace=None``) across all of them.

    ``namespace`` is ignored for cluster-scoped kinds.
    """

    kind: ResourceKind
    namespace: str | None = None

    def __post_init__(self) -> None:
        _check_kind(self.kind)
        if self.kind.namespaced and self.namespace is not None:
            check_namespace(self.namespace)

    def __str__(self) -> str:
        return _base(self.kind, self.namespace)


@dataclass(frozen=True)
class ObjectPath:
    """One object, or one of its subresources; ``namespace`` is ignored for cluster-scoped kinds.

    ``name_field`` is the input field a bad name is reported on.
    """

    kind: ResourceKind
    namespace: str | None
    name: str
    subresource: str | None = None
    name_field: str = field(default="name", compare=False)

    def __post_init__(self) -> None:
        _check_kind(self.kind)
        check(self.name_field, self.name, rule_for(self.kind.kind))
        if self.kind.namespaced:
            if self.namespace is None:
                raise BadUserInput.field("namespace", f"a {self.kind.kind} lives in a namespace: give one")
            check_namespace(self.namespace)
        if self.subresource is not None:
            check_subresource(self.subresource)

    def __str__(self) -> str:
        path = f"{_base(self.kind, self.namespace)}/{quote(self.name, safe='')}"
        return f"{path}/{self.subresource}" if self.subresource else path


@dataclass(frozen=True)
class FixedPath:
    """A path of the API itself, not of a kind (``/version``)."""

    path: str

    def __str__(self) -> str:
        return self.path


VERSION = FixedPath("/version")
ApiPath = CollectionPath | ObjectPath | FixedPath
