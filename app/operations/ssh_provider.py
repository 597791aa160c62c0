"""The `ssh` provider: the Provisioner's path onto the customer's own machines.

A provision runs the rendered kubeadm plan (app/provisioning/plan.py), phase by phase: preflight
connects to every node for real, the later phases run the plan's commands on their nodes over SSH,
and the last one reads the admin kubeconfig and connects the cluster to the fleet. Those commands
install and configure Kubernetes, so they need real machines of the declared OS. Scale and
deprovision are in `ssh_changes`; upgrading is not offered.

The nodes are the tenant's choice: every connection passes the outbound policy (`app.outbound`).
Preflight checks each node's address as it connects; the later phases connect to the address the
policy has just checked, and the cluster's API server is probed through the same policy.
"""

from __future__ import annotations

from typing import Any

from app.errors import AppError
from app.k8s.client import ClusterClient
from app.k8s.kubeconfig import parse_kubeconfig
from app.operations import records, ssh_changes
from app.operations.provider import PhaseContext, PhaseFailed
from app.operations.spec_model import ClusterSpec
from app.operations.ssh_nodes import (
    credentials_of,
    drop_join_secrets,
    join_secrets,
    keep_join_secrets,
    log,
    preflight,
    provision_spec,
    run_on,
)
from app.outbound import OutboundPolicy
from app.provisioning import kubeadm
from app.provisioning.plan import READS_CA_CERT_HASH, READS_KUBECONFIG, PlanPhase, render_plan

UPGRADE_REFUSED = (
    "upgrading Kubernetes on machines provisioned over SSH is not offered yet; "
    "run kubeadm upgrade on the nodes, one control plane at a time"
)


def plan_of(params: dict[str, Any]) -> list[PlanPhase]:
    return render_plan(provision_spec(ClusterSpec.from_public(params["spec"])))


class SshProvider:
    name = "ssh"

    def phases(self, operation_type: str, params: dict[str, Any]) -> list[str]:
        if operation_type == "provision":
            return [phase.name for phase in plan_of(params)]
        if operation_type == "upgrade":
            raise ValueError(UPGRADE_REFUSED)
        return list(ssh_changes.PHASES[operation_type])  # KeyError: not offered

    async def run_phase(self, phase: str, ctx: PhaseContext) -> None:
        if ctx.type == "provision":
            await _provision(phase, ctx)
        else:
            await ssh_changes.run_phase(phase, ctx)


def _step(plan: list[PlanPhase], phase: str, position: int) -> PlanPhase:
    if position < len(plan) and plan[position].name == phase:
        return plan[position]
    raise PhaseFailed(f"the plan no longer has {phase} at step {position + 1}; start a new provision")


async def _provision(phase: str, ctx: PhaseContext) -> None:
    spec = provision_spec(ClusterSpec.from_public(ctx.params["spec"]))
    step = _step(render_plan(spec), phase, ctx.position)
    nodes = [n for n in spec.nodes if n.name in step.nodes]
    credentials = await credentials_of(ctx)
    if phase == "preflight":
        await preflight(ctx, nodes, credentials)
        _ensure_join_secrets(ctx)  # saved with this phase, before any node has used them
        return
    await ctx.log(f"{phase}: {step.description}")
    outputs = await run_on(
        ctx, nodes, step.commands, credentials=credentials, secrets=_ensure_join_secrets(ctx),
        read_last=step.reads is not None,
    )
    if step.reads == READS_CA_CERT_HASH:
        digest = kubeadm.parse_ca_cert_hash(outputs[nodes[0].name])
        if digest is None:
            raise PhaseFailed(f"{nodes[0].name} did not print the CA certificate hash the joins need")
        keep_join_secrets(ctx, {kubeadm.CA_CERT_HASH_VAR: digest})
        await ctx.log("CA certificate hash read; it is kept for the joins")
    elif step.reads == READS_KUBECONFIG:
        await connect(ctx, nodes[0].name, outputs[nodes[0].name], spec.version)
        drop_join_secrets(ctx)


def _ensure_join_secrets(ctx: PhaseContext) -> dict[str, str]:
    """The provision's join secrets, made once: a resumed or retried provision joins with the token
    and certificate key `kubeadm init` was given."""
    kept = join_secrets(ctx)
    if kubeadm.JOIN_TOKEN_VAR in kept:
        return kept
    token, certificate_key = kubeadm.new_join_token(), kubeadm.new_certificate_key()
    return keep_join_secrets(ctx, {kubeadm.JOIN_TOKEN_VAR: token, kubeadm.CERTIFICATE_KEY_VAR: certificate_key})


async def connect(ctx: PhaseContext, node: str, kubeconfig: str, version: str) -> None:
    """Stores the admin kubeconfig read from `node` and connects the cluster, once its API server answers.

    The kubeconfig comes from the tenant's machine, so it is read as an uploaded one is (no exec
    plugins, no file references) and its server is one more address the tenant chose: the probe
    goes through the outbound policy, as registering a cluster does.
    """
    try:
        connection = parse_kubeconfig(kubeconfig).connection(None)
    except AppError as exc:
        raise PhaseFailed(f"the admin kubeconfig on {node} can't be used: {exc.message}") from None
    client = ClusterClient(
        "probe", connection, timeout=ctx.settings.k8s_timeout_seconds, retries=0,
        outbound=OutboundPolicy.from_settings(ctx.settings),
    )
    try:
        answer = await client.version()
    except (AppError, ValueError) as exc:
        log.info("cluster %s at %s could not be probed: %s", ctx.cluster_id, connection.server, exc)
        raise PhaseFailed(f"the cluster's API server at {connection.server} could not be reached") from None
    finally:
        await client.close()
    await records.connect(ctx, kubeconfig, str(answer.get("gitVersion") or "v" + version))
    await ctx.log(f"cluster connected at {connection.server}; its nodes and workloads are visible in the fleet")
