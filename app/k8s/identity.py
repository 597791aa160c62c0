"""Who a Kubernetes call is made for, so the cluster's own audit log names the person acting.

Every ``ClusterClient`` call takes ``identity=``; when it is left out, the identity bound to
``current_identity`` (set once per request with ``acting_as``) is used, and ``identity=None``
makes the call as the cluster's own credentials with no impersonation. The watch-fed caches
always pass ``None``: they are shared by every user, whose access the application checks itself.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Identity:
    user: str
    groups: Sequence[str] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "groups", tuple(self.groups))

    def headers(self) -> list[tuple[str, str]]:
        """``Impersonate-User`` once and ``Impersonate-Group`` once per group, as Kubernetes reads them."""
        return [("Impersonate-User", self.user)] + [("Impersonate-Group", g) for g in self.groups]


current_identity: ContextVar[Identity | None] = ContextVar("fleetgraph_k8s_identity", default=None)


@contextlib.contextmanager
def acting_as(identity: Identity | None) -> Iterator[None]:
    """Bind ``identity`` for the Kubernetes calls made inside the block."""
    token = current_identity.set(identity)
    try:
        yield
    finally:
        current_identity.reset(token)


class _FromContext(enum.Enum):
    FROM_CONTEXT = "from-context"


FROM_CONTEXT = _FromContext.FROM_CONTEXT
"""The default of every ``identity=`` argument: use ``current_identity``."""

IdentityArg = Identity | None | _FromContext


def resolve_identity(identity: IdentityArg) -> Identity | None:
    return current_identity.get() if isinstance(identity, _FromContext) else identity
