"""Test controls: request counters, injected latency and errors, impersonation records, reset.

Per-cluster state lives in ControlState; the HTTP control API (off unless enabled) is control_app().
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import errors

if TYPE_CHECKING:
    from .fleet import Fleet


@dataclass
class ControlState:
    latency: float = 0.0
    error_code: int | None = None
    error_rate: float = 0.0
    retry_after: int = 1
    counters: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    impersonations: list[dict[str, Any]] = field(default_factory=list)
    total_seconds: float = 0.0
    requests: int = 0
    _rng: random.Random = field(default_factory=lambda: random.Random(0))

    def reset(self) -> None:
        self.latency, self.error_code, self.error_rate, self.retry_after = 0.0, None, 0.0, 1
        self.counters.clear()
        self.statuses.clear()
        self.impersonations.clear()
        self.total_seconds, self.requests = 0.0, 0
        self._rng = random.Random(0)

    def count(self, verb: str, resource: str) -> None:
        self.counters[f"{verb} {resource}"] += 1

    def record_request(self, request: Request) -> None:
        user = request.headers.get("impersonate-user")
        groups = request.headers.getlist("impersonate-group")
        if user or groups:
            self.impersonations.append({"user": user, "groups": groups, "method": request.method,
                                        "path": request.url.path})

    def record_response(self, request: Request, status: int, seconds: float) -> None:
        self.requests += 1
        self.statuses[status] += 1
        self.total_seconds += seconds

    async def inject(self, request: Request) -> None:
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        if self.error_code and self._rng.random() < self.error_rate:
            if self.error_code == 429:
                raise errors.too_many_requests(self.retry_after)
            if self.error_code == 503:
                raise errors.service_unavailable(self.retry_after)
            raise errors.internal("injected failure")

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "counters": dict(self.counters),
            "statuses": {str(k): v for k, v in self.statuses.items()},
            "meanLatencySeconds": self.total_seconds / self.requests if self.requests else 0.0,
            "impersonations": list(self.impersonations),
            "faults": {"latency": self.latency, "errorCode": self.error_code, "errorRate": self.error_rate,
                       "retryAfter": self.retry_after},
        }

    def configure(self, body: dict[str, Any]) -> None:
        if "latency" in body:
            self.latency = float(body["latency"])
        if "errorCode" in body:
            code = body["errorCode"]
            if code not in (None, 429, 500, 503):
                raise errors.bad_request("errorCode must be one of 429, 500, 503 or null")
            self.error_code = code
        if "errorRate" in body:
            self.error_rate = float(body["errorRate"])
        if "retryAfter" in body:
            self.retry_after = int(body["retryAfter"])


def _find(fleet: Fleet, request: Request) -> Any:
    name = request.path_params["name"]
    for cluster in fleet.clusters:
        if cluster.name == name:
            return cluster
    raise errors.not_found("", "clusters", name)


def _routes(fleet: Fleet) -> list[tuple[str, str, Any]]:
    from . import lifecycle  # the lifecycle half needs the controllers' node model; loaded only when served

    async def stats(request: Request) -> Any:
        return _find(fleet, request).control.snapshot()

    async def faults(request: Request) -> Any:
        cluster = _find(fleet, request)
        body = await request.json()
        cluster.control.configure(body)
        if "unreachable" in body:
            await fleet.set_reachable(cluster.name, not body["unreachable"])
        return cluster.control.snapshot()

    async def drop_watches(request: Request) -> Any:
        _find(fleet, request).watches.drop_all()
        return {"dropped": True}

    async def reset(request: Request) -> Any:
        cluster = _find(fleet, request)
        cluster.control.reset()
        await fleet.set_reachable(cluster.name, True)
        return cluster.control.snapshot()

    async def listing(request: Request) -> Any:
        return {"clusters": [lifecycle.describe(fleet, c) for c in fleet.clusters]}

    return [("/clusters", "GET", listing), ("/clusters/{name}/stats", "GET", stats),
            ("/clusters/{name}/faults", "POST", faults), ("/clusters/{name}/drop-watches", "POST", drop_watches),
            ("/clusters/{name}/reset", "POST", reset), *lifecycle.routes(fleet)]


def control_app(fleet: Fleet) -> Starlette:
    """The fleet's control API, on its own port so it still answers while a cluster is unreachable.

    An action answers a JSON body (200) or a (body, status) pair; API errors answer a Kubernetes Status.
    """

    def route(path: str, method: str, action: Any) -> Route:
        async def handler(request: Request) -> Response:
            try:
                result = await action(request)
            except errors.ApiError as err:
                return JSONResponse(err.status(), err.code)
            body, status = result if isinstance(result, tuple) else (result, 200)
            return JSONResponse(body, status)

        return Route(path, handler, methods=[method])

    return Starlette(routes=[route(*spec) for spec in _routes(fleet)])
