"""Scale and deprovision for clusters the `ssh` provider made on the customer's machines.

The cluster's spec declares its machines; its workers pool says how many of the declared workers
are in the cluster (the first ones, in the spec's order). Scaling the pool down drains the last
workers, runs `kubeadm reset -f` on them and deletes their nodes; scaling it up again joins
declared machines that are out, each with a fresh token made on the first control plane. The
control plane keeps its size. Deprovision resets every machine in the cluster, workers first, then
forgets the cluster.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from app.db.types import utcnow
from app.errors import AppError, NotFound
from app.k8s import names
from app.operations import nodes as node_api
from app.operations import records
from app.operations.provider import PhaseContext, PhaseFailed
from app.operations.spec_provisioner import CONTROL_PLANE_POOL, WORKER_POOL
from app.operations.ssh_nodes import (
    Machines,
    credentials_of,
    drop_join_secrets,
    join_secrets,
    keep_join_secrets,
    machines_of,
    preflight,
    run_on,
)
from app.provisioning import kubeadm
from app.provisioning.plan import join_plan

PHASES: dict[str, list[str]] = {
    "scale": ["plan", "remove-workers", "join-token", "join-workers", "verify", "record"],
    "deprovision": ["reset-nodes", "unregister"],
}
PLAN_KEY = "scalePlan"
DRAIN_SECONDS = 300.0
WAIT_SECONDS = 900.0
POLL_SECONDS = 2.0


async def run_phase(phase: str, ctx: PhaseContext) -> None:
    handler = HANDLERS.get((ctx.type, phase))
    if handler is None:
        raise PhaseFailed(f"the ssh provider has no {phase} step for {ctx.type}")
    await handler(ctx)


# -- scale ------------------------------------------------------------------------------------------


async def _plan(ctx: PhaseContext) -> None:
    machines = await machines_of(ctx)
    counts: dict[str, int] = ctx.params["counts"]
    control_planes = len(machines.spec.control_planes)
    if counts.get(CONTROL_PLANE_POOL, control_planes) != control_planes:
        raise PhaseFailed(f"the control plane keeps its {control_planes} machines")
    workers = machines.spec.workers
    wanted = counts.get(WORKER_POOL, machines.workers_in)
    if wanted > len(workers):
        raise PhaseFailed(
            f"the {WORKER_POOL} pool can have at most {len(workers)} nodes: "
            f"the cluster's spec lists {len(workers)} worker machines"
        )
    joining = [n.name for n in workers[machines.workers_in : wanted]]
    leaving = [n.name for n in reversed(workers[wanted : machines.workers_in])]
    ctx.state[PLAN_KEY] = {"join": joining, "remove": leaving, "nodes": control_planes + wanted}
    await ctx.log(f"joining: {', '.join(joining) or 'none'}; leaving: {', '.join(leaving) or 'none'}")


def _scale_plan(ctx: PhaseContext) -> dict[str, Any]:
    plan = ctx.state.get(PLAN_KEY)
    if not isinstance(plan, dict):
        raise PhaseFailed("the scale has no plan; start a new one")
    return plan


async def _remove_workers(ctx: PhaseContext) -> None:
    machines = await machines_of(ctx)
    leaving = machines.named(_scale_plan(ctx)["remove"])
    if not leaving:
        return
    credentials = await credentials_of(ctx)
    for machine in leaving:
        hostname = (await run_on(ctx, [machine], ["hostname"], credentials=credentials, read_last=True))[machine.name]
        node = hostname.strip().lower()  # kubeadm names a node after its machine's host name
        if names.problem(node, names.rule_for("Node")) is not None:
            raise PhaseFailed(f"{machine.name} reports a host name that is not a node name")
        if await _exists(ctx, node):
            await node_api.cordon(ctx, node)
            await node_api.evict_pods(ctx, node, within=DRAIN_SECONDS)
        await run_on(ctx, [machine], kubeadm.RESET_COMMANDS, credentials=credentials)
        await node_api.delete_node(ctx, node)
        await ctx.log(f"{machine.name} left the cluster")


async def _exists(ctx: PhaseContext, node: str) -> bool:
    client = await node_api.client_for(ctx)
    try:
        await client.get("Node", None, node, identity=None)
    except NotFound:
        return False
    except AppError as exc:
        raise PhaseFailed(f"could not read node {node}: {exc.message}") from exc
    return True


async def _join_token(ctx: PhaseContext) -> None:
    if not _scale_plan(ctx)["join"]:
        return
    machines = await machines_of(ctx)
    first = machines.first
    outputs = await run_on(
        ctx, [first], [kubeadm.TOKEN_CREATE_COMMAND], credentials=await credentials_of(ctx), read_last=True
    )
    parsed = kubeadm.parse_join_command(outputs[first.name])
    if parsed is None:
        raise PhaseFailed(f"{first.name} did not print a join command with a token and CA certificate hash")
    token, digest = parsed
    keep_join_secrets(ctx, {kubeadm.JOIN_TOKEN_VAR: token, kubeadm.CA_CERT_HASH_VAR: digest})
    await ctx.log(f"a fresh join token was made on {first.name}; it expires in an hour")


async def _join_workers(ctx: PhaseContext) -> None:
    machines = await machines_of(ctx)
    joining = machines.named(_scale_plan(ctx)["join"])
    if not joining:
        return
    credentials = await credentials_of(ctx)
    await preflight(ctx, joining, credentials)
    secrets = join_secrets(ctx)
    for step in join_plan(machines.spec, joining):
        await ctx.log(f"{step.name}: {step.description}")
        group = [n for n in joining if n.name in step.nodes]
        await run_on(ctx, group, step.commands, credentials=credentials, secrets=secrets)


async def _verify(ctx: PhaseContext) -> None:
    wanted = int(_scale_plan(ctx)["nodes"])
    client = await node_api.client_for(ctx)
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while True:
        try:
            found = (await client.list("Node", identity=None)).items
            ready = sum(1 for node in found if _ready(node))
            if ready == wanted == len(found):
                await ctx.log(f"all {wanted} nodes are Ready")
                return
        except AppError as exc:
            await ctx.log(f"waiting for {wanted} Ready nodes: {exc.message}")
        if asyncio.get_running_loop().time() > deadline:
            raise PhaseFailed(f"gave up waiting for {wanted} Ready nodes")
        await asyncio.sleep(POLL_SECONDS)


def _ready(node: dict[str, Any]) -> bool:
    status = node.get("status")
    conditions = status.get("conditions") if isinstance(status, dict) else None
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions or [])


async def _record(ctx: PhaseContext) -> None:
    await records.set_pool_counts(ctx, ctx.params["counts"])
    drop_join_secrets(ctx)


# -- deprovision ------------------------------------------------------------------------------------


async def _reset_nodes(ctx: PhaseContext) -> None:
    """`kubeadm reset -f` on every machine in the cluster, the first control plane last; one that
    can't be reset fails the phase after the others were tried, so a retry resets what is left."""
    machines: Machines = await machines_of(ctx)
    credentials = await credentials_of(ctx)
    failed = []
    for machine in reversed(machines.joined):
        try:
            await run_on(ctx, [machine], kubeadm.RESET_COMMANDS, credentials=credentials)
        except PhaseFailed as exc:
            await ctx.log(f"{machine.name} was not reset: {exc}")
            failed.append(machine.name)
    if failed:
        raise PhaseFailed(f"not reset: {', '.join(failed)}")


async def _unregister(ctx: PhaseContext) -> None:
    await ctx.gateway.unregister(ctx.cluster_id or "")
    await records.set_status(ctx, "deleted", deleted_at=utcnow())


HANDLERS: dict[tuple[str, str], Callable[[PhaseContext], Awaitable[None]]] = {
    ("scale", "plan"): _plan,
    ("scale", "remove-workers"): _remove_workers,
    ("scale", "join-token"): _join_token,
    ("scale", "join-workers"): _join_workers,
    ("scale", "verify"): _verify,
    ("scale", "record"): _record,
    ("deprovision", "reset-nodes"): _reset_nodes,
    ("deprovision", "unregister"): _unregister,
}
