"""Controllers that make a simulated cluster behave like a real one.

``start(state)`` runs them as asyncio tasks; ``settle(state)`` runs them synchronously to
convergence (skipping lifecycle delays) so a freshly loaded cluster is already steady.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kubesim.controllers import (
    cronjobs,
    daemonsets,
    deployments,
    disruption,
    endpoints,
    gc,
    hpa,
    jobs,
    namespaces,
    nodes,
    pods,
    quota,
    replicasets,
    scheduler,
    statefulsets,
    storage,
)
from kubesim.controllers.base import Controller
from kubesim.controllers.manager import ControllerManager

if TYPE_CHECKING:
    from kubesim.store import ClusterState

__all__ = ["ControllerManager", "all_controllers", "settle", "start"]


def all_controllers() -> list[Controller]:
    return [
        nodes.CONTROLLER,
        scheduler.CONTROLLER,
        pods.CONTROLLER,
        replicasets.CONTROLLER,
        deployments.CONTROLLER,
        statefulsets.CONTROLLER,
        daemonsets.CONTROLLER,
        jobs.CONTROLLER,
        cronjobs.CONTROLLER,
        endpoints.CONTROLLER,
        storage.CONTROLLER,
        quota.CONTROLLER,
        hpa.CONTROLLER,
        gc.CONTROLLER,
        disruption.CONTROLLER,
        namespaces.CONTROLLER,
    ]


def start(state: ClusterState, record_events: bool = True) -> ControllerManager:
    """Attach the controllers to ``state`` and run them on the current event loop."""
    manager = ControllerManager(state, all_controllers(), record_events=record_events)
    manager.start()
    return manager


def settle(state: ClusterState, record_events: bool = True) -> int:
    """Run every controller until nothing is left to do; returns the number of reconciles."""
    manager = ControllerManager(state, all_controllers(), record_events=record_events)
    try:
        return manager.settle()
    finally:
        manager.detach()
