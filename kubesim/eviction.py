"""The pods/eviction subresource (policy/v1 Eviction): a delete that honours PodDisruptionBudgets.

As in the apiserver, a pod that is not running yet, has finished or is already terminating is
deleted without consulting budgets; otherwise the one budget selecting the pod must allow a
disruption, which the eviction spends by recording the pod in the budget's status.disruptedPods
until the disruption controller sees it gone.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from . import errors, handlers
from .clock import format_time
from .handlers import Target
from .httputil import json_response, read_body
from .selectors import match_label_selector
from .store import ClusterState

PDB_KEY = ("policy", "v1", "poddisruptionbudgets")
VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget."


async def evict(request: Request, state: ClusterState, target: Target) -> Response:
    body = await read_body(request) or {}
    if not isinstance(body, dict):
        raise errors.bad_request("the body of the request was in an unknown format")
    _check_names(body, target)
    pod = handlers.get_current(state, target)
    options = body.get("deleteOptions") or {}
    dry_run = bool(request.query_params.get("dryRun") or options.get("dryRun"))
    if not _ignores_budgets(pod):
        _check_budget(state, pod, dry_run)
    if not dry_run:
        state.delete(target.rt, target.namespace, target.name or "", grace_seconds=options.get("gracePeriodSeconds"),
                     preconditions=options.get("preconditions"))
    return json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201},
                         201)


def _check_names(body: dict[str, Any], target: Target) -> None:
    meta = body.get("metadata") or {}
    if meta.get("name") and meta["name"] != target.name:
        raise errors.bad_request("name in URL does not match name in Eviction object")
    if meta.get("namespace") and meta["namespace"] != target.namespace:
        raise errors.bad_request("the namespace of the provided object does not match the namespace sent on "
                                 "the request")


def _ignores_budgets(pod: dict[str, Any]) -> bool:
    phase = (pod.get("status") or {}).get("phase")
    return phase in ("Pending", "Succeeded", "Failed") or bool(pod["metadata"].get("deletionTimestamp"))


def _ready(pod: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def _check_budget(state: ClusterState, pod: dict[str, Any], dry_run: bool) -> None:
    rt = state.resources.get(*PDB_KEY)
    if rt is None:
        return
    namespace, labels = pod["metadata"].get("namespace"), pod["metadata"].get("labels") or {}
    budgets = [b for b in state.list(rt, namespace)
               if match_label_selector((b.get("spec") or {}).get("selector"), labels)]
    if not budgets:
        return
    if len(budgets) > 1:
        raise errors.internal("This pod has more than one PodDisruptionBudget, which the eviction subresource "
                              "does not support.")
    pdb = budgets[0]
    spec, status = pdb.get("spec") or {}, pdb.get("status") or {}
    if not _ready(pod):
        if spec.get("unhealthyPodEvictionPolicy") == "AlwaysAllow":
            return
        if status.get("currentHealthy", 0) >= status.get("desiredHealthy", 0) > 0:
            return
    _spend(state, pdb, pod["metadata"]["name"], dry_run)


def _spend(state: ClusterState, pdb: dict[str, Any], pod_name: str, dry_run: bool) -> None:
    """checkAndDecrement: refuse while the budget is stale or spent, otherwise take one disruption."""
    name, status = pdb["metadata"]["name"], pdb.get("status") or {}
    if status.get("observedGeneration", 0) < pdb["metadata"].get("generation", 1):
        raise _too_many(f"The disruption budget {name} is still being processed by the server.", 10)
    allowed = status.get("disruptionsAllowed", 0)
    if allowed < 0:
        raise errors.forbidden(f'poddisruptionbudgets.policy "{name}" is forbidden: pdb disruptions allowed is '
                               "negative", {"name": name, "group": "policy", "kind": "poddisruptionbudgets"})
    if allowed == 0:
        raise _too_many(f"The disruption budget {name} needs {status.get('desiredHealthy', 0)} healthy pods and "
                        f"has {status.get('currentHealthy', 0)} currently", 0)
    if dry_run:
        return
    status["disruptionsAllowed"] = allowed - 1
    status["disruptedPods"] = {**(status.get("disruptedPods") or {}), pod_name: format_time(state.clock.now())}
    if allowed - 1 == 0:
        status["conditions"] = [_spent(c, state) if c.get("type") == "DisruptionAllowed" else c
                                for c in status.get("conditions") or []]
    pdb["status"] = status
    rt = state.resources.get(*PDB_KEY)
    assert rt is not None
    state.update(rt, pdb, subresource="status")


def _spent(cond: dict[str, Any], state: ClusterState) -> dict[str, Any]:
    since = cond.get("lastTransitionTime") if cond.get("status") == "False" else format_time(state.clock.now())
    return {**cond, "status": "False", "reason": "InsufficientPods", "lastTransitionTime": since}


def _too_many(cause: str, retry_after: int) -> errors.ApiError:
    details: dict[str, Any] = {"causes": [{"reason": "DisruptionBudget", "message": cause}]}
    headers = {}
    if retry_after:
        details["retryAfterSeconds"] = retry_after
        headers["Retry-After"] = str(retry_after)
    return errors.ApiError(429, "TooManyRequests", VIOLATION, details, headers)
