"""pods/log: container selection, tailLines, sinceSeconds, sinceTime, timestamps, limitBytes, follow."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from . import errors, handlers
from .handlers import Target
from .httputil import flag, int_param
from .store import ClusterState


def _logs_module() -> Any:
    try:
        return importlib.import_module("kubesim.logs")
    except ModuleNotFoundError as exc:
        if exc.name != "kubesim.logs":
            raise
        raise errors.service_unavailable(1) from exc


def _container(pod: dict[str, Any], wanted: str | None) -> str:
    spec = pod.get("spec") or {}
    names = [c["name"] for c in spec.get("containers") or []]
    init_names = [c["name"] for c in spec.get("initContainers") or []]
    name = pod["metadata"]["name"]
    if not wanted:
        if len(names) == 1:
            return names[0]
        raise errors.bad_request(f"a container name must be specified for pod {name}, choose one of: "
                                 f"[{' '.join(names)}]" + (f" or one of the init containers: [{' '.join(init_names)}]"
                                                           if init_names else ""))
    if wanted not in names + init_names:
        raise errors.bad_request(f"container {wanted} is not valid for pod {name}")
    return wanted


def _check_running(pod: dict[str, Any], container: str, previous: bool) -> None:
    status = pod.get("status") or {}
    statuses = {s.get("name"): s for s in (status.get("containerStatuses") or [])
                + (status.get("initContainerStatuses") or [])}
    name = pod["metadata"]["name"]
    current = statuses.get(container)
    if previous and not (current or {}).get("lastState", {}).get("terminated"):
        raise errors.bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
    if current is None or "waiting" in (current.get("state") or {}):
        reason = ((current or {}).get("state") or {}).get("waiting", {}).get("reason", "ContainerCreating")
        raise errors.bad_request(f'container "{container}" in pod "{name}" is waiting to start: {reason}')


def _since(request: Request, now: datetime) -> datetime | None:
    seconds = int_param(request, "sinceSeconds")
    if seconds is not None:
        if seconds <= 0:
            raise errors.bad_request("sinceSeconds: Invalid value: must be greater than 0")
        return now - timedelta(seconds=seconds)
    text = request.query_params.get("sinceTime")
    if text:
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
        except ValueError as exc:
            raise errors.bad_request(f'invalid sinceTime "{text}"') from exc
    return None


def _format(moment: datetime, line: str, timestamps: bool) -> bytes:
    text = f"{moment.strftime('%Y-%m-%dT%H:%M:%S.%f')}000Z {line}\n" if timestamps else f"{line}\n"
    return text.encode()


async def respond(request: Request, state: ClusterState, target: Target) -> Response:
    pod = handlers.get_current(state, target)
    container = _container(pod, request.query_params.get("container"))
    previous = flag(request, "previous")
    _check_running(pod, container, previous)
    module = _logs_module()
    now = state.clock.now()
    lines = module.log_lines(state, pod, container, _since(request, now), now)
    tail = int_param(request, "tailLines")
    if tail is not None:
        lines = lines[-tail:] if tail > 0 else []
    timestamps = flag(request, "timestamps")
    body = b"".join(_format(moment, line, timestamps) for moment, line in lines)
    limit = int_param(request, "limitBytes")
    if limit is not None and limit > 0:
        body = body[:limit]
    if not flag(request, "follow"):
        return Response(body, media_type="text/plain")
    return StreamingResponse(_follow(module, state, pod, container, body, timestamps, limit),
                             media_type="text/plain")


async def _follow(module: Any, state: ClusterState, pod: dict[str, Any], container: str, first: bytes,
                  timestamps: bool, limit: int | None) -> AsyncIterator[bytes]:
    sent = len(first)
    if first:
        yield first
    async for moment, line in module.follow(state, pod, container):
        chunk = _format(moment, line, timestamps)
        if limit is not None and limit > 0:
            if sent >= limit:
                return
            chunk = chunk[: limit - sent]
        sent += len(chunk)
        yield chunk
