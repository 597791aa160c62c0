"""Runs the controllers of one cluster: listener → work queue → reconcilers, plus timers and ticks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from kubesim.controllers.base import Context, Controller
from kubesim.controllers.cache import Cache
from kubesim.controllers.events import Recorder
from kubesim.crds import CRD_KEY
from kubesim.errors import ApiError
from kubesim.resources import ResourceType

if TYPE_CHECKING:
    from kubesim.store import ClusterState

log = logging.getLogger("kubesim.controllers")
BATCH = 64  # reconciles between two yields to the event loop
TICK = 0.5  # simulated seconds between two timer checks (at least 20ms of real time)
QUIET = {403, 404, 409, 410, 422}
# events.k8s.io/v1 Events are served as a view of core/v1 Events; the cache follows the core type only
VIEWS = {("events.k8s.io", "events")}


class ControllerManager:
    def __init__(self, state: ClusterState, controllers: list[Controller], record_events: bool = True) -> None:
        self.state = state
        self.controllers = {c.name: c for c in controllers}
        self.cache = Cache()
        self.ctx = Context(state, self.cache)
        self.ctx.recorder = Recorder(state) if record_events else None
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._attached = False
        self.errors = 0

    # -- wiring ---------------------------------------------------------------------------------

    def attach(self) -> None:
        """Fill the cache from the store, listen for changes and queue a resync of everything."""
        if self._attached:
            return
        self._attached = True
        existing: list[tuple[ResourceType, dict[str, Any]]] = []
        for rt in self.state.resources.all():
            if rt.storage and rt.key not in VIEWS:
                for obj in _stored(self.state, rt):
                    self.cache.apply("ADDED", rt, obj)
                    existing.append((rt, obj))
        self.state.add_listener(self._on_change)
        for rt, obj in existing:
            self._trigger("ADDED", rt, obj, None)

    def detach(self) -> None:
        if self._attached:
            self.state.remove_listener(self._on_change)
            self._attached = False

    def _on_change(self, event: str, rt: ResourceType, obj: dict[str, Any]) -> None:
        if not rt.storage or rt.key in VIEWS:
            return
        old = self.cache.apply(event, rt, obj)
        self._trigger(event, rt, obj, old)
        if event == "DELETED" and rt.key == CRD_KEY:
            self._forget(obj)

    def _forget(self, crd: dict[str, Any]) -> None:
        """A deleted CRD takes its custom resources with it, without DELETED events: drop them too."""
        spec = crd.get("spec") or {}
        key = (spec.get("group", ""), (spec.get("names") or {}).get("plural", ""))
        rt = self.cache.types.get(key)
        if rt is None:
            return
        for obj in list(self.cache.all(key)):
            self.cache.apply("DELETED", rt, obj)
            self._trigger("DELETED", rt, obj, obj)
        del self.cache.types[key]

    def _trigger(self, event: str, rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        for controller in self.controllers.values():
            for key in controller.triggers(self.ctx, event, rt, obj, old):
                self.ctx.enqueue(controller.name, key)
        self._wake.set()

    # -- work -----------------------------------------------------------------------------------

    def process_one(self) -> bool:
        item = self.ctx.pop()
        if item is None:
            return False
        name, key = item
        try:
            self.controllers[name].reconcile(self.ctx, key)
        except ApiError as exc:
            if exc.reason == "Conflict":
                self.ctx.after(0.2, name, key)
            if exc.code not in QUIET:
                self.errors += 1
                log.warning("%s %s: %s", name, key, exc.message)
        except Exception:
            self.errors += 1
            log.exception("%s failed on %s", name, key)
        return True

    def tick(self) -> None:
        self.ctx.fire_due_timers()
        for controller in self.controllers.values():
            if controller.tick is not None:
                try:
                    controller.tick(self.ctx)
                except Exception:
                    self.errors += 1
                    log.exception("%s tick failed", controller.name)
        if self.ctx.recorder is not None:
            self.ctx.recorder.expire()

    def settle(self, limit: int = 2_000_000) -> int:
        """Run every reconcile to completion, skipping lifecycle delays; returns the work done."""
        self.attach()
        self.ctx.settling = True
        done = 0
        try:
            while done < limit and self.process_one():
                done += 1
        finally:
            self.ctx.settling = False
        return done

    # -- running --------------------------------------------------------------------------------

    def start(self) -> None:
        self.attach()
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._work()), loop.create_task(self._clock())]

    async def _work(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            done = 0
            while self.process_one():
                done += 1
                if done % BATCH == 0:
                    await asyncio.sleep(0)

    async def _clock(self) -> None:
        while True:
            await asyncio.sleep(max(TICK / self.state.clock.speed, 0.02))
            self.tick()
            if self.ctx.pending():
                self._wake.set()

    async def stop(self) -> None:
        self.detach()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []


def _stored(state: ClusterState, rt: ResourceType) -> list[dict[str, Any]]:
    scan = getattr(state, "scan", None)
    return list(scan(rt)) if scan is not None else state.list(rt)
