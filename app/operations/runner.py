"""Runs queued operations: each serving process runs a few workers that claim operations from the
database, run their phases in order while renewing a lease, and record every step.

Kill a process mid-phase and its lease runs out; the next runner to look claims the operation and
runs the interrupted phase again (phases are idempotent), keeping the finished ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from dataclasses import dataclass
from typing import Any

from app import audit
from app.crypto import Sealer
from app.db.models import Cluster, Operation
from app.db.session import Database
from app.db.types import utcnow
from app.errors import BadUserInput
from app.k8s.gateway import Gateway
from app.notifications import notify
from app.operations import store
from app.operations.provider import PhaseContext, PhaseFailed, Provider
from app.realtime.bus import RealtimeBus
from app.settings import Settings

log = logging.getLogger("fleetgraph.operations")


def operation_channel(operation_id: str) -> str:
    return f"operation.{operation_id}"


def runner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass
class _Stop:
    reason: str | None = None  # "cancelled" or "lost" once the phase has been stopped


class OperationRunner:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        gateway: Gateway,
        sealer: Sealer,
        bus: RealtimeBus,
        providers: dict[str, Provider],
    ) -> None:
        self.settings, self.db, self.gateway, self.sealer, self.bus = settings, db, gateway, sealer, bus
        self.providers = providers
        self.name = runner_name()
        self._wake = asyncio.Event()
        self._workers: list[asyncio.Task[None]] = []
        self.active: dict[str, store.Claim] = {}

    def live_workers(self) -> int:
        """The worker tasks of this process still running."""
        return sum(1 for task in self._workers if not task.done())

    def start(self) -> None:
        for index in range(self.settings.operation_workers):
            self._workers.append(asyncio.create_task(self._work(), name=f"operations-{index}"))

    def phases(self, provider: str, operation_type: str, params: dict[str, Any]) -> list[str]:
        """The phases an operation of this type will run (BadUserInput if the provider can't do it)."""
        chosen = self.providers.get(provider)
        try:
            return chosen.phases(operation_type, params) if chosen is not None else []
        except KeyError:
            raise BadUserInput(f"the {provider} provider does not support {operation_type}") from None
        except ValueError as exc:  # a plan that can't be made from this input
            raise BadUserInput(f"the {provider} provider can't plan this {operation_type}: {exc}") from None

    def wake(self) -> None:
        """A new operation was queued in this process: look now rather than at the next poll."""
        self._wake.set()

    async def stop(self) -> None:
        workers, self._workers = self._workers, []
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        for claim in list(self.active.values()):  # let another replica resume at once
            await store.save(self.db, claim, lease_expires_at=utcnow())

    async def _work(self) -> None:
        while True:
            try:
                claim = await store.claim_next(self.db, self.name, self.settings.operation_lease_seconds)
            except Exception:
                log.exception("claiming an operation failed")
                claim = None
            if claim is None:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.operation_poll_seconds)
                continue
            self.active[claim.operation_id] = claim
            try:
                await self.run(claim)
            except Exception:
                log.exception("operation %s: runner error", claim.operation_id)
            finally:
                self.active.pop(claim.operation_id, None)

    async def run(self, claim: store.Claim) -> None:
        operation = await store.load(self.db, claim.operation_id)
        if operation is None:
            return
        phases = [dict(p) for p in operation.phases]
        state = dict(operation.state)
        if claim.interrupted:
            state["interruptions"] = int(state.get("interruptions", 0)) + 1
            await self._log(claim, None, [f"resumed by {self.name}: the previous runner stopped renewing its claim"])
            if state["interruptions"] > self.settings.operation_max_interruptions:
                reason = f"interrupted {state['interruptions']} times; giving up"
                await self._finish(claim, operation, "failed", reason, self._fail_current(phases, reason))
                return
            await store.save(self.db, claim, state=state)
        provider = self.providers.get(operation.provider)
        if provider is None:
            reason = f"provider '{operation.provider}' is not available on this deployment"
            await self._finish(claim, operation, "failed", reason, self._fail_current(phases, reason))
            return
        await self._publish(claim, "status", {"status": "running"})
        for position, phase in enumerate(phases):
            if phase["status"] == "success":
                continue
            outcome = await self._run_phase(claim, operation, provider, position, phases, state)
            if outcome != "success":
                return
        await self._finish(claim, operation, "success", None, phases)

    async def _run_phase(
        self,
        claim: store.Claim,
        operation: Operation,
        provider: Provider,
        position: int,
        phases: list[dict[str, Any]],
        state: dict[str, Any],
    ) -> str:
        phase = phases[position]
        name = phase["name"]
        phase.update(status="running", startedAt=store.stamp(utcnow()), finishedAt=None, message=None)
        if not await store.save(self.db, claim, phases=phases):
            return "lost"
        await self._publish(claim, "phase", {"phase": name, "phaseStatus": "running"})
        ctx = self._context(claim, operation, state, name, position)
        stop = _Stop()
        task = asyncio.create_task(provider.run_phase(name, ctx), name=f"{operation.id}:{name}")
        guard = asyncio.create_task(self._guard(claim, task, stop))
        error: str | None = None
        try:
            await task
        except asyncio.CancelledError:
            if stop.reason is None:
                raise  # this runner is stopping; the lease will hand the operation on
        except PhaseFailed as exc:
            error = str(exc) or "failed"
        except Exception as exc:
            log.exception("operation %s phase %s failed", operation.id, name)
            error = f"unexpected error ({type(exc).__name__})"
        finally:
            guard.cancel()
            await asyncio.gather(guard, return_exceptions=True)
        if stop.reason == "lost":
            log.warning("operation %s: claim lost during %s", operation.id, name)
            return "lost"
        phase["finishedAt"] = store.stamp(utcnow())
        if stop.reason == "cancelled":
            phase.update(status="cancelled", message="cancelled by a user")
            for later in phases:
                if later["status"] == "pending":
                    later["status"] = "cancelled"
            await self._log(claim, name, ["cancelled by a user"])
            await self._finish(claim, operation, "cancelled", None, phases)
            return "cancelled"
        if error is not None:
            phase.update(status="failed", message=error)
            await self._log(claim, name, [f"phase {name} failed: {error}"])
            await self._finish(claim, operation, "failed", f"{name}: {error}", phases)
            return "failed"
        phase.update(status="success", message=None)
        saved = await store.save(self.db, claim, phases=phases, state=state, progress=store.progress_of(phases))
        await self._publish(claim, "phase", {"phase": name, "phaseStatus": "success"})
        return "success" if saved else "lost"

    async def _guard(self, claim: store.Claim, task: asyncio.Task[None], stop: _Stop) -> None:
        """Renews the lease while the phase runs; stops the phase when cancelled or the claim is lost."""
        lease = self.settings.operation_lease_seconds
        interval = min(lease / 3, 1.0)
        while not task.done():
            await asyncio.sleep(interval)
            try:
                held, cancel = await store.renew(self.db, claim, lease)
            except Exception:
                log.exception("renewing the claim on %s failed", claim.operation_id)
                continue
            if not held or cancel:
                stop.reason = "lost" if not held else "cancelled"
                task.cancel()
                return

    def _context(
        self, claim: store.Claim, operation: Operation, state: dict[str, Any], phase: str, position: int
    ) -> PhaseContext:
        async def write_log(lines: list[str]) -> None:
            await self._log(claim, phase, lines)

        return PhaseContext(
            operation_id=operation.id,
            tenant_id=operation.tenant_id or "",
            cluster_id=operation.cluster_id,
            type=operation.type,
            params=operation.params,
            state=state,
            settings=self.settings,
            db=self.db,
            gateway=self.gateway,
            sealer=self.sealer,
            write_log=write_log,
            requested_by=operation.requested_by,
            attempt=operation.attempts,
            position=position,
        )

    @staticmethod
    def _fail_current(phases: list[dict[str, Any]], reason: str) -> list[dict[str, Any]]:
        for phase in phases:
            if phase["status"] in ("pending", "running"):
                phase.update(status="failed", message=reason, finishedAt=store.stamp(utcnow()))
                break
        return phases

    async def _log(self, claim: store.Claim, phase: str | None, lines: list[str]) -> None:
        rows = await store.append_log(self.db, claim, phase, lines)
        await self._publish(claim, "log", {"lines": rows})

    async def _finish(
        self, claim: store.Claim, operation: Operation, status: str, error: str | None, phases: list[dict[str, Any]]
    ) -> None:
        if not await store.finish(self.db, claim, status, error, phases):
            return
        await self._publish(claim, "status", {"status": status, "error": error})
        await self._settle_cluster(operation, status, error)
        if operation.requested_by:
            title = f"{operation.type.capitalize()} {'succeeded' if status == 'success' else status}"
            await notify(
                self.db,
                self.bus,
                tenant_id=operation.tenant_id,
                user_id=operation.requested_by,
                kind=f"operation.{status}",
                title=title,
                message=error or "",
                severity={"success": "info", "failed": "error"}.get(status, "warning"),
                target=("operation", operation.id),
            )

    async def _settle_cluster(self, operation: Operation, status: str, error: str | None) -> None:
        """A provision or deprovision that did not succeed leaves the cluster failed, with the reason."""
        if status == "success" or operation.cluster_id is None:
            return
        async with self.db.transaction() as session:
            cluster = await session.get(Cluster, operation.cluster_id)
            if cluster is None:
                return
            reason = error or f"{operation.type} {status}"
            cluster.last_error = reason
            if operation.type in ("provision", "deprovision") and cluster.status != "failed":
                audit.record(
                    session,
                    store.system_actor(operation.tenant_id, operation.id),
                    "cluster.status_changed",
                    tenant_id=operation.tenant_id,
                    target_type="cluster",
                    target_id=cluster.id,
                    changes={"status": [cluster.status, "failed"], "operation": operation.id},
                )
                cluster.status = "failed"

    async def _publish(self, claim: store.Claim, kind: str, data: dict[str, Any]) -> None:
        try:
            event = {"type": "MODIFIED", "name": claim.operation_id, "kind": kind, **data}
            await self.bus.publish(operation_channel(claim.operation_id), event)
        except Exception:  # live updates are best effort; the database has the truth
            log.exception("publishing an update of %s failed", claim.operation_id)
