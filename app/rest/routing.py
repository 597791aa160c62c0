"""The REST table as Starlette routes: every dialect under its own prefix, the bare `/api/v1`
answered by the chosen dialect (and by any other for a path only it has), one endpoint per
path that dispatches on the method, and each prefix's unknown paths answered in its dialect."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from app.rest.dialect import Dialect
from app.rest.executor import Executor
from app.rest.rows import Row

COMPAT = "/compat"
V1 = "/api/v1"
OWN_PATHS = frozenset({"/", "/health", "/metrics", "/docs", "/openapi.json"})  # the app answers these itself
EVERY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]  # so that a wrong one gets our 405
_PARAM = re.compile(r"\{[^}]+\}")


class Verdict(Protocol):
    @property
    def allowed(self) -> bool: ...

    def headers(self) -> dict[str, str]: ...

    def message(self) -> str: ...


class Limiter(Protocol):
    async def hit(self, dialect: str, method: str, path: str, client: str) -> Verdict: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class Mounted:
    """A dialect's rows as served: the executor that runs them and the prefixes they answer under."""

    executor: Executor
    rows: Sequence[Row]
    compat: bool  # mounted under /compat/<dialect> as well as bare

    @property
    def dialect(self) -> Dialect:
        return self.executor.dialect


def shape_of(path: str) -> str:
    """A path with its parameters' names left out: `/a/{id}` and `/a/{clusterId}` are one path."""
    return _PARAM.sub("{}", path)


def _literal_first(path: str) -> list[int]:
    return [1 if segment.startswith("{") else 0 for segment in path.strip("/").split("/")]


class PathEndpoint:
    """One path's rows by method; any other method answers 405 with `Allow`."""

    def __init__(self, executor: Executor, rows: Mapping[str, Row], limiter: Limiter | None) -> None:
        self.executor, self.rows, self.limiter = executor, dict(rows), limiter
        if "GET" in self.rows and "HEAD" not in self.rows:
            self.rows["HEAD"] = self.rows["GET"]

    async def handle(self, request: Request) -> Response:
        dialect = self.executor.dialect
        row = self.rows.get(request.method)
        headers, refusal = await counted(self.limiter, dialect, request)
        if refusal is not None:
            return refusal
        if row is None:
            allow = ", ".join(sorted(self.rows))
            body = dialect.error(405, "METHOD_NOT_ALLOWED", f"{request.method} is not served here; use {allow}")
            return JSONResponse(body, status_code=405, headers={**headers, "Allow": allow})
        response = await self.executor.answer(row, request)
        response.headers.update(headers)
        return response


async def counted(
    limiter: Limiter | None, dialect: Dialect, request: Request
) -> tuple[dict[str, str], Response | None]:
    """The rate-limit headers of a request, and the dialect's 429 when it is over its limit."""
    if limiter is None:
        return {}, None
    client = request.client.host if request.client else ""
    verdict = await limiter.hit(dialect.name, request.method, request.url.path, client)
    headers = verdict.headers()
    if verdict.allowed:
        return headers, None
    return headers, JSONResponse(
        dialect.error(429, "RATE_LIMITED", verdict.message()), status_code=429, headers=headers
    )


def unknown_path(dialect: Dialect, limiter: Limiter | None) -> Callable[[Request], Awaitable[Response]]:
    async def not_found(request: Request) -> Response:
        headers, refusal = await counted(limiter, dialect, request)
        if refusal is not None:
            return refusal
        body = dialect.error(404, "NOT_FOUND", f"no such path: {request.url.path}")
        return JSONResponse(body, status_code=404, headers=headers)

    return not_found


@dataclass(frozen=True)
class Placement:
    """Where one row is served: under a prefix (`/compat/<dialect>`, or bare)."""

    prefix: str
    mounted: Mounted
    row: Row

    @property
    def path(self) -> str:
        return self.prefix + self.row.path


def placements(mounted: Sequence[Mounted], bare_v1: str) -> list[Placement]:
    """Every row under each prefix it answers at. `bare_v1` names the dialect that answers a path
    that several dialects have; a path that only one has is answered bare by that one."""
    owners: dict[str, set[str]] = {}
    for m in mounted:
        for row in m.rows:
            owners.setdefault(shape_of(row.path), set()).add(m.dialect.name)
    found: list[Placement] = []
    for m in mounted:
        name = m.dialect.name
        if m.compat:
            found += [Placement(f"{COMPAT}/{name}", m, row) for row in m.rows]
        found += [
            Placement("", m, row)
            for row in m.rows
            if row.path not in OWN_PATHS and (name == bare_v1 or owners[shape_of(row.path)] == {name})
        ]
    return found


def build_routes(mounted: Sequence[Mounted], bare_v1: str, limiter: Limiter | None) -> list[BaseRoute]:
    """One route per served path, literal segments before parameters, then each prefix's 404."""
    by_path: dict[str, tuple[Executor, dict[str, Row]]] = {}
    for placed in placements(mounted, bare_v1):
        executor, rows = by_path.setdefault(placed.path, (placed.mounted.executor, {}))
        rows[placed.row.method] = placed.row
    routes = [
        Route(path, PathEndpoint(executor, rows, limiter).handle, methods=EVERY_METHOD)
        for path, (executor, rows) in by_path.items()
    ]
    routes.sort(key=lambda route: _literal_first(route.path))
    fallbacks: list[Route] = []
    for m in mounted:
        prefix = f"{COMPAT}/{m.dialect.name}" if m.compat else "/api"  # CKS: all of /api but /api/v1
        fallbacks.append(Route(f"{prefix}/{{rest:path}}", unknown_path(m.dialect, limiter), methods=EVERY_METHOD))
        if m.dialect.name == bare_v1:
            fallbacks.insert(0, Route(f"{V1}/{{rest:path}}", unknown_path(m.dialect, limiter), methods=EVERY_METHOD))
    return [*routes, *fallbacks]
