"""One sample request per documented path: what the contract, isolation and operation-count
tests send. Each dialect's samples live in their own modules; `SAMPLES` gathers them."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from tests.rest.world import World


@dataclass
class Request:
    """A documented request, filled in for this world."""

    path: dict[str, str] = field(default_factory=dict)  # path parameters by their documented names
    query: dict[str, Any] = field(default_factory=dict)
    body: Any = None  # JSON unless `form`
    form: bool = False
    role: str | None = "tenant_admin"  # whose token; None sends none
    headers: dict[str, str] = field(default_factory=dict)


Build = Callable[[World], Awaitable[Request]]


@dataclass(frozen=True)
class Sample:
    """How to call one path, and what the isolation test may expect of it.

    `weak` names a role too weak for the path (None: every role of the tenant may call it);
    `foreign` says whether another tenant's admin must get 404 (False for paths with no tenant's
    object in them: sign-in, the caller's own profile, the provider's paths)."""

    build: Build
    weak: str | None = None
    foreign: bool = True
    writes: bool = False  # it changes something: the isolation test checks nothing was written


def sample(weak: str | None = None, foreign: bool = True, writes: bool = False) -> Callable[[Build], Sample]:
    def wrap(build: Build) -> Sample:
        return Sample(build, weak, foreign, writes)

    return wrap


def _gather() -> dict[tuple[str, str, str], Sample]:
    """Every `SAMPLES` of the modules in tests/rest/samples/<dialect>/."""
    found: dict[tuple[str, str, str], Sample] = {}
    for dialect in ("cks", "kubilitics", "qassure", "provisioner"):
        package = importlib.import_module(f"tests.rest.samples.{dialect}")
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            for (method, path), one in module.SAMPLES.items():
                assert (dialect, method, path) not in found, f"two samples for {dialect} {method} {path}"
                found[(dialect, method, path)] = one
    return found


class _Samples(dict[tuple[str, str, str], Sample]):
    """Gathered on first use: the sample modules import this one."""

    def get(self, key: tuple[str, str, str], default: Sample | None = None) -> Sample | None:  # type: ignore[override]
        if not self:
            self.update(_gather())
        return super().get(key, default)


SAMPLES = _Samples()

__all__ = ["SAMPLES", "Request", "Sample", "World", "sample"]
