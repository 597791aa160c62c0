"""Watch streams: newline-delimited JSON events with resume, bookmarks, selectors and a bounded history."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import StreamingResponse

from . import errors, eventsv1, selectors, tables
from .handlers import Target
from .httputil import JSON, dumps, flag, int_param, wants_table
from .store import Change, ClusterState

DEFAULT_TIMEOUT = 1800.0
Predicate = Callable[[dict[str, Any]], bool]


class WatchSettings:
    """Knobs shared by the watches of one cluster (the control API changes them at runtime)."""

    def __init__(self) -> None:
        self.bookmark_interval = 1.0
        self.generation = 0  # bumping it drops every open watch

    def drop_all(self) -> None:
        self.generation += 1


def _selector(request: Request, target: Target) -> Callable[[dict[str, Any] | None], bool]:
    pred = selectors.combine(
        selectors.label_selector(request.query_params.get("labelSelector")),
        selectors.field_selector(request.query_params.get("fieldSelector"), target.rt),
    )
    namespace = target.namespace

    def match(obj: dict[str, Any] | None) -> bool:
        if obj is None:
            return False
        if namespace and obj["metadata"].get("namespace") != namespace:
            return False
        if target.name and obj["metadata"].get("name") != target.name:
            return False
        return pred is None or pred(obj)

    return match


def translate(change: Change, target: Target, match: Callable[[dict[str, Any] | None], bool]) -> tuple[
        str, dict[str, Any]] | None:
    """The event one watcher sees for a change: objects leaving its selector show up as DELETED."""
    _, etype, rt, obj, prev = change
    if target.rt.key == eventsv1.KEY and rt.key == ("", "events"):
        obj, prev = eventsv1.to_v1(obj) or {}, eventsv1.to_v1(prev)
    elif rt.key != target.rt.key:
        return None
    now, before = match(obj), match(prev)
    if etype == "ADDED":
        return ("ADDED", obj) if now else None
    if etype == "DELETED":
        return ("DELETED", obj) if now or before else None
    if now and before:
        return ("MODIFIED", obj)
    if now:
        return ("ADDED", obj)
    if before:
        return ("DELETED", obj)
    return None


def expired_event(rv: int, oldest: int) -> dict[str, Any]:
    err = errors.gone(f"too old resource version: {rv} ({oldest})")
    return {"type": "ERROR", "object": err.status()}


async def watch_response(request: Request, state: ClusterState, target: Target, settings: WatchSettings) -> \
        StreamingResponse:
    match = _selector(request, target)
    rv_param = request.query_params.get("resourceVersion", "")
    try:
        since = int(rv_param) if rv_param not in ("", "0") else None
    except ValueError as exc:
        raise errors.bad_request(f'invalid resource version: "{rv_param}"') from exc
    queue: asyncio.Queue[Change] = asyncio.Queue()
    initial: list[tuple[str, dict[str, Any]]] = []
    expired = since is not None and since < state.oldest_resource_version()
    send_initial = request.query_params.get("sendInitialEvents")
    if send_initial is not None and send_initial not in ("0", "false", "False"):
        expired = False
        initial = [("ADDED", o) for o in state.scan(target.rt, target.namespace) if match(o)]
        initial.append(("BOOKMARK", _initial_end(target, state.resource_version())))
    elif since is None:
        if send_initial is None:
            initial = [("ADDED", o) for o in state.scan(target.rt, target.namespace) if match(o)]
    elif not expired:
        for change in state.events_since(since):
            queue.put_nowait(change)
    state.add_change_listener(queue.put_nowait)
    timeout = int_param(request, "timeoutSeconds")
    stream = _events(request, state, target, settings, match, queue, initial,
                     expired_event(since, state.oldest_resource_version()) if expired and since else None,
                     float(timeout) if timeout else DEFAULT_TIMEOUT)
    return StreamingResponse(stream, media_type=JSON, headers={"Transfer-Encoding": "chunked"})


class _EncodedEvents:
    """JSON of recent event objects, shared by the watchers that receive the same event."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._items: OrderedDict[int, tuple[dict[str, Any], bytes]] = OrderedDict()

    def get(self, obj: dict[str, Any]) -> bytes:
        hit = self._items.get(id(obj))
        if hit is not None and hit[0] is obj:
            return hit[1]
        data = dumps(obj)
        self._items[id(obj)] = (obj, data)
        if len(self._items) > self.size:
            self._items.popitem(last=False)
        return data


_ENCODED = _EncodedEvents()


def _encode(request: Request, state: ClusterState, target: Target, etype: str, obj: dict[str, Any],
            first: list[bool]) -> bytes:
    if wants_table(request) and etype != "ERROR" and etype != "BOOKMARK":
        meta = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
        body = tables.table(target.rt, [obj], meta, request, state.clock.now(), with_columns=first[0])
        first[0] = False
        return dumps({"type": etype, "object": body}) + b"\n"
    return b'{"type":"' + etype.encode() + b'","object":' + _ENCODED.get(obj) + b"}\n"


def _initial_end(target: Target, rv: int) -> dict[str, Any]:
    """The bookmark that ends the initial events of a watch-list (sendInitialEvents=true)."""
    return {"kind": target.rt.kind, "apiVersion": target.rt.api_version,
            "metadata": {"resourceVersion": str(rv), "annotations": {"k8s.io/initial-events-end": "true"}}}


def _bookmark(target: Target, rv: int) -> bytes:
    obj = {"kind": target.rt.kind, "apiVersion": target.rt.api_version, "metadata": {"resourceVersion": str(rv)}}
    return dumps({"type": "BOOKMARK", "object": obj}) + b"\n"


async def _events(request: Request, state: ClusterState, target: Target, settings: WatchSettings,
                  match: Callable[[dict[str, Any] | None], bool], queue: asyncio.Queue[Change],
                  initial: list[tuple[str, dict[str, Any]]], error: dict[str, Any] | None,
                  limit_seconds: float) -> AsyncIterator[bytes]:
    bookmarks = flag(request, "allowWatchBookmarks")
    generation = settings.generation
    first = [True]
    deadline = time.monotonic() + limit_seconds
    last_rv = state.resource_version()
    try:
        if error is not None:
            yield dumps(error) + b"\n"
            return
        for etype, obj in initial:
            if etype == "BOOKMARK":
                yield dumps({"type": etype, "object": obj}) + b"\n"
            else:
                yield _encode(request, state, target, etype, obj, first)
        next_bookmark = time.monotonic() + settings.bookmark_interval
        while settings.generation == generation:
            now = time.monotonic()
            if now >= deadline:
                break
            wait = min(deadline, next_bookmark if bookmarks else deadline, now + 0.5) - now
            try:
                change = await asyncio.wait_for(queue.get(), timeout=max(wait, 0.001))
            except TimeoutError:
                if bookmarks and time.monotonic() >= next_bookmark:
                    yield _bookmark(target, state.resource_version())
                    next_bookmark = time.monotonic() + settings.bookmark_interval
                continue
            if settings.generation != generation:
                break  # dropped while waiting: the client resumes from the last version it saw
            batch = [change]
            while not queue.empty() and len(batch) < 256:
                batch.append(queue.get_nowait())
            last_rv = batch[-1][0]
            chunk = b""
            for item in batch:
                event = translate(item, target, match)
                if event is not None:
                    chunk += _encode(request, state, target, event[0], event[1], first)
            if chunk:
                yield chunk
        if bookmarks and settings.generation == generation:
            yield _bookmark(target, max(last_rv, state.resource_version()))
    finally:
        state.remove_change_listener(queue.put_nowait)
