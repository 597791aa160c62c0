"""The `ssh` provider: the Provisioner's path onto the customer's own machines.

Its phases are the rendered kubeadm plan (app/provisioning/plan.py). Preflight connects to every
node for real; the later phases run the plan's commands on their nodes over SSH. Those commands
install and configure Kubernetes, so they need real machines of the declared OS.
"""

from __future__ import annotations

import json
from typing import Any

from app.db.models import Cluster
from app.operations.provider import PhaseContext, PhaseFailed
from app.operations.spec_model import ClusterSpec
from app.provisioning.execute import CommandFailed, run_commands
from app.provisioning.models import SshCredentials, SshNode
from app.provisioning.plan import Hardening, PlanPhase, ProvisionSpec, render_plan
from app.provisioning.ssh import preflight_all


def provision_spec(spec: ClusterSpec) -> ProvisionSpec:
    return ProvisionSpec(
        name=spec.name,
        kubernetes_version=spec.version,
        nodes=[SshNode(n.name, n.role, n.ip_address, n.ssh_port, os_type=n.os_type) for n in spec.nodes],  # type: ignore[arg-type]
        cni=spec.networking.cni,
        ingress=spec.ingress or "nginx",
        runtime=spec.runtime,
        ha=spec.ha,
        pod_cidr=spec.networking.pod_cidr,
        service_cidr=spec.networking.service_cidr,
        hardening=Hardening(
            enable_cis_k8s_benchmark=bool(spec.hardening.get("enableCisK8sBenchmark")),
            enable_cis_linux_benchmark=bool(spec.hardening.get("enableCisLinuxBenchmark")),
        ),
    )


def plan_of(params: dict[str, Any]) -> list[PlanPhase]:
    return render_plan(provision_spec(ClusterSpec.from_public(params["spec"])))


class SshProvider:
    name = "ssh"

    def phases(self, operation_type: str, params: dict[str, Any]) -> list[str]:
        if operation_type != "provision":
            raise KeyError(operation_type)  # scaling or upgrading machines over SSH is not offered
        return [phase.name for phase in plan_of(params)]

    async def run_phase(self, phase: str, ctx: PhaseContext) -> None:
        credentials = await _credentials(ctx)
        plan = {p.name: p for p in plan_of(ctx.params)}
        step = plan[phase]
        spec = provision_spec(ClusterSpec.from_public(ctx.params["spec"]))
        nodes = [n for n in spec.nodes if n.name in step.nodes]
        if phase == "preflight":
            await _preflight(ctx, nodes, credentials)
            return
        await ctx.log(f"{phase}: {step.description}")
        for node in nodes:
            try:
                await run_commands(node, credentials, step.commands, ctx.log)
            except CommandFailed as exc:
                raise PhaseFailed(str(exc)) from exc


async def _credentials(ctx: PhaseContext) -> SshCredentials:
    async with ctx.db.session() as session:
        cluster = await session.get(Cluster, ctx.cluster_id)
    if cluster is None or not cluster.ssh_sealed:
        raise PhaseFailed("the cluster has no stored SSH credentials")
    secrets = json.loads(ctx.sealer.open(cluster.ssh_sealed))
    ssh = ctx.params["spec"].get("sshConfig") or {}
    return SshCredentials(
        username=str(ssh.get("username")),
        auth_method=ssh.get("authMethod", "private_key"),
        password=secrets.get("password"),
        private_key=secrets.get("privateKey"),
        passphrase=secrets.get("passphrase"),
    )


async def _preflight(ctx: PhaseContext, nodes: list[SshNode], credentials: SshCredentials) -> None:
    results = await preflight_all(nodes, credentials)
    problems = []
    for result in results:
        await ctx.log(f"{result.node} ({result.ip_address}): {result.message}")
        for check in result.checks:
            if not check.ok:
                await ctx.log(f"{result.node}: check {check.name} failed: {check.detail}")
                problems.append(f"{result.node}: {check.detail}")
        if not result.success and not result.checks:
            problems.append(f"{result.node}: {result.message}")
    if problems:
        raise PhaseFailed("; ".join(problems[:5]))
