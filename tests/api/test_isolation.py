"""The tenancy and permission matrix: every field that reaches a tenant's data, from every side.

For each query and mutation that takes a tenant-owned object or a tenant ID: another tenant's
admin gets NOT_FOUND, worded exactly as for a missing ID; a role that is too weak gets
FORBIDDEN; the role that is allowed passes the permission gate; and a refused attempt writes
nothing. Provider-only fields refuse every tenant role, and every protected field refuses an
anonymous caller. A schema field without an entry here fails `test_every_root_field_is_classified`.

The schema itself is enumerated too: every field of every type reachable from the roots that
reaches data (a root field, or one with a resolver of its own) must declare a check, every
`clusterId` argument (at any depth of an input) must be named by a per-cluster check, and
`node(id)` must read each kind as that kind's own field does. Deliberately open fields are
listed in OPEN, each with its reason.
"""

from __future__ import annotations

import fnmatch
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import strawberry
from graphql import (
    GraphQLArgument,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLUnionType,
    get_named_type,
)
from strawberry.permission import BasePermission

from app.db.models import TopologySnapshot
from app.db.session import Database
from app.ids import new_id
from app.log_lines import EntryKey, entry_id
from app.services import Services
from kubesim.fleet import Fleet, start_fleet
from schema import nodes as node_schema
from schema.permissions import (
    READS,
    ClusterPermission,
    ReadsById,
    SignedIn,
    requires_on_cluster,
    requires_on_source_cluster,
)
from schema.root import CONFIG, Mutation, Query, Subscription
from tests.support.alerts import stored_alert
from tests.support.api import PASSWORD, Api, TenantUsers

Vars = Callable[[str, str], dict[str, Any]]
"""Builds an operation's variables from (tenant ID, ID of the object acted on)."""

TENANT_ROLES = ("tenant_admin", "operator", "developer", "viewer")


@dataclass
class Targets:
    """Objects of tenant_a that the matrix acts on."""

    tenant: str
    user: str
    role: str
    session: str
    api_token: str
    audit: str
    cluster: str
    kubeconfig: str
    new_email: str
    new_role: str
    operation: str
    template: str
    managed_cluster: str
    snapshot: str
    alert: str
    incident: str
    silence: str
    alert_rule: str
    alert_receiver: str
    before: dict[str, Any]  # tenant_a's state before any attempt of this module


Pick = Callable[[Targets], str]


@dataclass(frozen=True)
class Case:
    field: str
    op: str
    build: Vars
    target: Pick | None = None  # the tenant_a object acted on, if any
    kind: str | None = None  # the ID kind of `target`, to make a random missing one
    tenant_arg: bool = False  # takes a tenantId (as an argument or in a filter)
    weak: str | None = "viewer"  # a role of the same tenant that must get FORBIDDEN
    allowed: str = "tenant_admin"
    probe: Callable[[Targets, TenantUsers], str] | None = None  # what the allowed role acts on
    probe_code: str | None = "NOT_FOUND"  # None: the probe succeeds
    label: str = ""

    @property
    def name(self) -> str:
        return self.label or self.field

    def probe_object(self, targets: Targets, tenant: TenantUsers) -> str:
        """By default a random missing ID of the target's kind."""
        if self.probe is not None:
            return self.probe(targets, tenant)
        return new_id(self.kind) if self.kind else ""


def _on_user(
    field: str, selection: str = "{ id }", extra: str = "", id_arg: str = "id", kind: str = "mutation"
) -> Case:
    op = f"{kind}($t:ID!,$i:ID!){{ {field}(tenantId:$t,{id_arg}:$i{extra}){selection} }}"
    return Case(field, op, lambda t, i: {"t": t, "i": i}, target=lambda x: x.user, kind="user", tenant_arg=True)


def _by_id(field: str, op: str, target: Pick, kind: str, weak: str | None = "viewer", **more: str) -> Case:
    allowed = more.get("allowed") or ("viewer" if weak is None else "tenant_admin")
    return Case(field, op, lambda _, i: {"i": i}, target, kind, weak=weak, allowed=allowed, label=more.get("label", ""))


def _on_cluster(field: str, args: str, weak: str | None = "viewer", kind: str = "mutation") -> Case:
    op = f"{kind}($i:ID!){{ {field}(clusterId:$i, {args}){{ __typename }} }}"
    return _by_id(field, op, lambda x: x.cluster, "cluster", weak)


def _listing(field: str, op: str, weak: str | None = "viewer") -> Case:
    allowed = "viewer" if weak is None else "tenant_admin"
    return Case(field, op, lambda t, _: {"t": t}, tenant_arg=True, weak=weak, allowed=allowed, probe_code=None)


def _listing_of_cluster(field: str, op: str) -> Case:
    """A tenant's listing narrowed to one of its clusters: every role reads it, nobody else."""
    return Case(field, op, lambda t, i: {"t": t, "i": i}, target=lambda x: x.cluster, kind="cluster",
                tenant_arg=True, weak=None, allowed="viewer", label=f"{field}:cluster")  # fmt: skip


def _cks(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "version": "1.30.6",
        "nodePools": [{"name": "general", "nodeCount": 1}],
        "networking": {"cni": "calico", "serviceCidr": "10.96.0.0/12", "podCidr": "10.244.0.0/16"},
    }


def _ssh(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "topology": {"ha": False, "controlPlaneCount": 1, "workerCount": 0},
        "components": {"kubernetesVersion": "1.30.6", "cni": "calico", "ingress": "nginx"},
        "nodes": [{"name": "cp-1", "role": "control-plane", "ipAddress": "192.168.50.10", "osType": "ubuntu22"}],
        "sshConfig": {"username": "root", "authMethod": "password", "password": "secret"},
        "provisionImmediately": False,
    }


def _new_user(email: str) -> dict[str, Any]:
    return {"email": email, "name": "Intruder", "role": "viewer", "password": PASSWORD}


NODE = "query($i:ID!){ node(id:$i){ __typename id } }"
AUDIT = "query($t:ID!){ auditLogs(filter:{tenantId:$t}, first:100){ totalCount nodes { id tenantId actorId } } }"
EXPORT = "query($t:ID!){ exportAuditLogs(filter:{tenantId:$t}) }"
REGISTER = "mutation($t:ID!,$in:RegisterClusterInput!){ registerCluster(tenantId:$t,input:$in){ id } }"
REMOVE_CLUSTER = "mutation($i:ID!){ removeCluster(id:$i){ ok } }"
REVOKE_TOKEN = "mutation($i:ID!){ revokeApiToken(id:$i){ ok } }"
CREATE_CLUSTER = "mutation($t:ID!,$in:CreateClusterInput!){ createCluster(tenantId:$t,input:$in){ operation { id } } }"
PROVISION_CLUSTER = (
    "mutation($t:ID!,$in:ProvisionClusterInput!){ provisionCluster(tenantId:$t,input:$in){ cluster { id } } }"
)
CREATE_TEMPLATE = """mutation($t:ID!,$n:String!){ createClusterTemplate(tenantId:$t,
  input:{name:$n, spec:{version:"1.30.6"}}){ id } }"""
FROM_TEMPLATE = """mutation($t:ID!,$i:ID!){ createClusterFromTemplate(tenantId:$t, templateId:$i,
  overrides:{name:"intruder"}){ cluster { id } } }"""
NOT_A_KUBECONFIG = "not: [a kubeconfig"

SILENCE = """mutation($t:ID!,$n:String!,$e:DateTime!){ createSilence(tenantId:$t, input:{matchers:[{name:$n,
  value:"web-.*", isRegex:true}], endsAt:$e}){ id } }"""


def _in_a_month() -> str:
    return (datetime.now(UTC) + timedelta(days=30)).isoformat().replace("+00:00", "Z")
ALERT_RULE = """mutation($t:ID!,$q:String!){ createAlertRule(tenantId:$t, input:{name:"busy", query:$q,
  comparison:">", threshold:0.9}){ id } }"""
ALERT_RECEIVER = """mutation($t:ID!,$u:String!){ createAlertReceiver(tenantId:$t, input:{name:"pager", url:$u}){
  receiver { id } } }"""
BUSY = "sum(rate(container_cpu_usage_seconds_total[5m]))"


MATRIX: list[Case] = [
    _listing("users", "query($t:ID!){ users(tenantId:$t){ totalCount nodes { id email } } }"),
    _on_user("user", "{ id email }", kind="query"),
    Case(
        "createUser",
        "mutation($t:ID!,$in:CreateUserInput!){ createUser(tenantId:$t,input:$in){ id } }",
        lambda t, email: {"t": t, "in": _new_user(email)},
        target=lambda x: x.new_email,
        tenant_arg=True,
        probe=lambda _, a: a.emails["tenant_admin"],  # an email already taken: refused without a write
        probe_code="CONFLICT",
    ),
    _on_user("updateUser", extra=', input:{name:"Renamed"}'),
    _on_user("deleteUser", "{ ok }"),
    _on_user("suspendUser"),
    _on_user("activateUser"),
    _on_user("resetUserPassword", "{ resetToken }"),
    _on_user("unlockUser"),
    _on_user("setClusterRole", extra=', clusterId:"cl-isolation", role:"viewer"', id_arg="userId"),
    # every member reads their own tenant: no role is too weak
    _by_id("tenant", "query($i:ID!){ tenant(id:$i){ id name } }", lambda x: x.tenant, "tenant", weak=None),
    _by_id("node", NODE, lambda x: x.tenant, "tenant", weak=None, label="node:Tenant"),
    _by_id("node", NODE, lambda x: x.user, "user", weak="operator", label="node:User"),
    _by_id("node", NODE, lambda x: x.role, "role", weak="operator", label="node:Role"),
    _by_id("node", NODE, lambda x: x.audit, "audit", weak="developer", label="node:AuditEntry"),
    Case("roles", "{ roles { id name } }", lambda _, __: {}, probe_code=None),
    Case(
        "createRole",
        'mutation($n:String!){ createRole(input:{name:$n, permissions:["users:read"]}){ id } }',
        lambda _, name: {"n": name},
        target=lambda x: x.new_role,
        probe=lambda _, __: "viewer",  # a system role's name
        probe_code="BAD_USER_INPUT",
    ),
    _by_id(
        "updateRole",
        'mutation($i:ID!){ updateRole(id:$i, input:{description:"hijacked"}){ id } }',
        lambda x: x.role,
        "role",
    ),
    _by_id("deleteRole", "mutation($i:ID!){ deleteRole(id:$i){ ok } }", lambda x: x.role, "role"),
    # one's own sessions; a user admin also those of the tenant's users
    _by_id("revokeSession", "mutation($i:ID!){ revokeSession(id:$i){ ok } }", lambda x: x.session, "session"),
    # only its owner revokes a token, whatever their role
    _by_id("revokeApiToken", REVOKE_TOKEN, lambda x: x.api_token, "api_token", weak=None, allowed="operator"),
    _listing("auditLogs", AUDIT),
    _listing("exportAuditLogs", EXPORT),
    # every tenant role reads clusters; changing one, or reading its credentials, takes clusters:admin
    _listing("clusters", "query($t:ID!){ clusters(tenantId:$t){ totalCount nodes { id } } }", weak=None),
    _by_id("cluster", "query($i:ID!){ cluster(id:$i){ id name } }", lambda x: x.cluster, "cluster", weak=None),
    _listing("namespaces", "query($t:ID!){ namespaces(tenantId:$t){ items { name } errors { code } } }", weak=None),
    _listing("workloads", "query($t:ID!){ workloads(tenantId:$t){ items { name } errors { code } } }", weak=None),
    _by_id("kubeconfig", "query($i:ID!){ kubeconfig(clusterId:$i) }", lambda x: x.cluster, "cluster", "operator"),
    _by_id(
        "updateCluster",
        'mutation($i:ID!){ updateCluster(id:$i, input:{description:"hijacked"}){ id } }',
        lambda x: x.cluster,
        "cluster",
        weak="operator",
    ),
    _by_id("removeCluster", REMOVE_CLUSTER, lambda x: x.cluster, "cluster", "operator"),
    Case(
        "registerCluster",
        REGISTER,
        lambda t, kubeconfig: {"t": t, "in": {"name": "intruder", "kubeconfig": kubeconfig}},
        target=lambda x: x.kubeconfig,
        tenant_arg=True,
        weak="operator",
        probe=lambda _, __: NOT_A_KUBECONFIG,
        probe_code="BAD_USER_INPUT",
    ),
    # Kubernetes reads and writes inside a cluster: reading takes workloads:read, writing workloads:write
    # (namespaces: clusters:write), on the cluster as the caller's role there allows
    _on_cluster("rolloutHistory", 'namespace:"default", name:"web"', weak=None, kind="query"),
    _on_cluster("kubeObject", 'kind:"Namespace", name:"default"', weak=None, kind="query"),
    _on_cluster("resources", 'kind:"pods", fieldSelector:"status.phase=Running"', weak=None, kind="query"),
    _on_cluster("createNamespace", 'input:{name:"intruder"}'),
    _on_cluster("updateNamespace", 'name:"default", input:{labels:{hijacked:"yes"}}'),
    _on_cluster("deleteNamespace", 'name:"default", confirm:true'),
    _on_cluster("updateNamespaceQuota", 'name:"default", quota:{pods:1}'),
    _on_cluster("scaleNamespace", 'name:"default", replicas:0'),
    _on_cluster("createWorkload", 'namespace:"default", manifest:{kind:"Deployment"}'),
    _on_cluster("updateWorkload", 'kind:"Deployment", namespace:"default", name:"web", patch:{}'),
    _on_cluster("deleteWorkload", 'kind:"Deployment", namespace:"default", name:"web"'),
    _on_cluster("scaleWorkload", 'kind:"Deployment", namespace:"default", name:"web", replicas:0'),
    _on_cluster("applyManifest", 'yaml:"kind: Namespace"'),
    _on_cluster("patchResource", 'kind:"Namespace", name:"default", patch:{}'),
    _on_cluster("deleteResource", 'kind:"Namespace", name:"default", confirm:true'),
    _on_cluster("rollbackDeployment", 'namespace:"default", name:"web"'),
    _on_cluster("restartDeployment", 'namespace:"default", name:"web"'),
    _on_cluster("triggerCronJob", 'namespace:"default", name:"web"'),
    _on_cluster("retryJob", 'namespace:"default", name:"web"'),
    # cluster lifecycle: operators create and change clusters, admins delete them
    Case(
        "createCluster",
        CREATE_CLUSTER,
        lambda t, name: {"t": t, "in": _cks(name)},
        target=lambda x: x.new_role,
        tenant_arg=True,
        probe=lambda _, __: "Not A Valid Name",
        probe_code="BAD_USER_INPUT",
    ),
    Case(
        "provisionCluster",
        PROVISION_CLUSTER,
        lambda t, name: {"t": t, "in": _ssh(name)},
        target=lambda x: x.new_role,
        tenant_arg=True,
        probe=lambda _, __: "Not A Valid Name",
        probe_code="BAD_USER_INPUT",
    ),
    Case(
        "createClusterFromTemplate",
        FROM_TEMPLATE,
        lambda t, i: {"t": t, "i": i},
        target=lambda x: x.template,
        kind="template",
        tenant_arg=True,
    ),
    _by_id(
        "startProvisioning",
        "mutation($i:ID!){ startProvisioning(id:$i){ id } }",
        lambda x: x.managed_cluster,
        "cluster",
    ),
    _by_id(
        "scaleCluster",
        'mutation($i:ID!){ scaleCluster(id:$i, nodePools:[{id:"general", nodeCount:2}]){ id } }',
        lambda x: x.managed_cluster,
        "cluster",
    ),
    _by_id(
        "upgradeCluster",
        'mutation($i:ID!){ upgradeCluster(id:$i, version:"1.31.2"){ id } }',
        lambda x: x.managed_cluster,
        "cluster",
    ),
    _by_id(
        "deleteCluster",
        "mutation($i:ID!){ deleteCluster(id:$i){ status } }",
        lambda x: x.managed_cluster,
        "cluster",
        "operator",
    ),
    _on_cluster("drainNode", 'node:"node-1"'),
    _on_cluster("removeNode", 'node:"node-1"'),
    # topology: every tenant role reads workloads, so none is too weak
    _on_cluster("topology", 'namespace:"shop", depth:2', weak=None, kind="query"),
    _on_cluster("resourceTopology", 'object:{kind:"Service", namespace:"shop", name:"web"}', weak=None, kind="query"),
    _on_cluster("blastRadius", 'object:{kind:"ConfigMap", namespace:"shop", name:"web"}', weak=None, kind="query"),
    _on_cluster(
        "dependencyPath",
        'from:{kind:"Service", namespace:"shop", name:"web"}, to:{kind:"Node", name:"node-1"}',
        weak=None,
        kind="query",
    ),
    _on_cluster("topologyOrphans", 'namespace:"shop"', weak=None, kind="query"),
    _on_cluster("topologyExport", "format:SVG", weak=None, kind="query"),
    _on_cluster("topologySnapshots", "", weak=None, kind="query"),
    _on_cluster("saveTopologySnapshot", 'name:"before"'),
    _by_id(
        "deleteTopologySnapshot",
        "mutation($i:ID!){ deleteTopologySnapshot(id:$i){ ok } }",
        lambda x: x.snapshot,
        "topology_snapshot",
    ),
    Case(
        "projectTopology",
        """query($t:ID!,$i:ID!){ projectTopology(tenantId:$t, namespaces:[{clusterId:$i, namespace:"shop"}]){
          meta { nodeCount } } }""",
        lambda t, i: {"t": t, "i": i},
        target=lambda x: x.cluster,
        kind="cluster",
        tenant_arg=True,
        weak=None,
    ),
    _listing("fleetTopology", "query($t:ID!){ fleetTopology(tenantId:$t){ meta { nodeCount } } }", weak=None),
    _by_id(
        "topologyDiff",
        "query($i:ID!){ topologyDiff(left:{clusterId:$i, namespace:\"shop\"}, right:{clusterId:$i}){ nodesAdded } }",
        lambda x: x.cluster,
        "cluster",
        weak=None,
    ),
    # operations: everyone reads them; retrying or cancelling takes clusters:write
    _listing("operations", "query($t:ID!){ operations(tenantId:$t){ totalCount nodes { id } } }", weak=None),
    Case(
        "operations",
        "query($t:ID!,$i:ID!){ operations(tenantId:$t, clusterId:$i){ totalCount } }",
        lambda t, i: {"t": t, "i": i},
        target=lambda x: x.cluster,
        kind="cluster",
        tenant_arg=True,
        weak=None,
        allowed="viewer",
        label="operations:cluster",
    ),
    _by_id(
        "operation", "query($i:ID!){ operation(id:$i){ id status } }", lambda x: x.operation, "operation", weak=None
    ),
    _by_id("node", NODE, lambda x: x.operation, "operation", weak=None, label="node:Operation"),
    _by_id("retryOperation", "mutation($i:ID!){ retryOperation(id:$i){ id } }", lambda x: x.operation, "operation"),
    _by_id("cancelOperation", "mutation($i:ID!){ cancelOperation(id:$i){ id } }", lambda x: x.operation, "operation"),
    # logs: reading a pod's log takes workloads:read on its cluster, which every tenant role holds
    _listing("logSearch", "query($t:ID!){ logSearch(tenantId:$t){ totalCount errors { code } } }", weak=None),
    _listing_of_cluster("logSearch", "query($t:ID!,$i:ID!){ logSearch(tenantId:$t, clusterId:$i){ totalCount } }"),
    _by_id(
        "logEntry",
        "query($i:ID!){ logEntry(id:$i){ id message } }",
        lambda x: entry_id(EntryKey(x.cluster, "shop", "web", "nginx", "2025-01-31T12:00:00.000000000Z", "0" * 16)),
        "cluster",
        weak=None,
    ),
    # system health: every tenant role (clusters:read) sees its tenant's; the provider any tenant's
    _listing(
        "systemHealth", "query($t:ID!){ systemHealth(tenantId:$t){ status details { bus { status } } } }", weak=None
    ),
    # metrics: every tenant role reads its clusters' (clusters:read), scoped to them
    _listing("metricsQuery", 'query($t:ID!){ metricsQuery(tenantId:$t, query:"up") }', weak=None),
    # alerts and incidents: every role reads them; operators acknowledge and silence (alerts:write);
    # rules and receivers are the tenant admin's (alerts:admin)
    _listing("alerts", "query($t:ID!){ alerts(tenantId:$t){ totalCount } }", weak=None),
    _listing_of_cluster("alerts", "query($t:ID!,$i:ID!){ alerts(tenantId:$t, clusterId:$i){ totalCount } }"),
    _by_id("alert", "query($i:ID!){ alert(id:$i){ id state } }", lambda x: x.alert, "alert", weak=None),
    _by_id(
        "acknowledgeAlert",
        'mutation($i:ID!){ acknowledgeAlert(id:$i, note:"mine now"){ id } }',
        lambda x: x.alert,
        "alert",
    ),
    _listing("incidents", "query($t:ID!){ incidents(tenantId:$t){ totalCount } }", weak=None),
    _by_id(
        "incident", "query($i:ID!){ incident(id:$i){ id timeline { kind } } }", lambda x: x.incident, "incident",
        weak=None,
    ),
    _by_id(
        "acknowledgeIncident",
        "mutation($i:ID!){ acknowledgeIncident(id:$i){ id } }",
        lambda x: x.incident,
        "incident",
    ),
    _listing("silences", "query($t:ID!){ silences(tenantId:$t){ id } }", weak=None),
    Case(
        "createSilence",
        SILENCE,
        lambda t, name: {"t": t, "n": name, "e": _in_a_month()},
        target=lambda _: "pod",
        tenant_arg=True,
        probe=lambda _, __: "",
        probe_code="BAD_USER_INPUT",
    ),
    _by_id("expireSilence", "mutation($i:ID!){ expireSilence(id:$i){ id } }", lambda x: x.silence, "silence"),
    _listing("alertRules", "query($t:ID!){ alertRules(tenantId:$t){ id } }", weak=None),
    Case(
        "createAlertRule",
        ALERT_RULE,
        lambda t, query: {"t": t, "q": query},
        target=lambda _: BUSY,
        tenant_arg=True,
        weak="operator",
        probe=lambda _, __: "sum(",
        probe_code="BAD_USER_INPUT",
    ),
    _by_id(
        "updateAlertRule",
        "mutation($i:ID!){ updateAlertRule(id:$i, input:{threshold:0.1}){ id } }",
        lambda x: x.alert_rule,
        "alert_rule",
        weak="operator",
    ),
    _by_id(
        "deleteAlertRule", "mutation($i:ID!){ deleteAlertRule(id:$i){ ok } }", lambda x: x.alert_rule, "alert_rule",
        weak="operator",
    ),
    _listing("alertReceivers", "query($t:ID!){ alertReceivers(tenantId:$t){ id } }", weak="operator"),
    Case(
        "createAlertReceiver",
        ALERT_RECEIVER,
        lambda t, url: {"t": t, "u": url},
        target=lambda _: "https://127.0.0.1:9/other",
        tenant_arg=True,
        weak="operator",
        probe=lambda _, __: "ftp://example.com/hook",
        probe_code="BAD_USER_INPUT",
    ),
    _by_id(
        "deleteAlertReceiver",
        "mutation($i:ID!){ deleteAlertReceiver(id:$i){ ok } }",
        lambda x: x.alert_receiver,
        "alert_receiver",
        weak="operator",
    ),
    # cluster templates: everyone reads them; operators write them
    _listing("clusterTemplates", "query($t:ID!){ clusterTemplates(tenantId:$t){ id } }", weak=None),
    _by_id(
        "clusterTemplate", "query($i:ID!){ clusterTemplate(id:$i){ id } }", lambda x: x.template, "template", weak=None
    ),
    _by_id("node", NODE, lambda x: x.template, "template", weak=None, label="node:ClusterTemplate"),
    Case(
        "createClusterTemplate",
        CREATE_TEMPLATE,
        lambda t, name: {"t": t, "n": name},
        target=lambda x: x.new_role,
        tenant_arg=True,
        probe=lambda _, __: "",
        probe_code="BAD_USER_INPUT",
    ),
    _by_id(
        "updateClusterTemplate",
        'mutation($i:ID!){ updateClusterTemplate(id:$i, input:{description:"hijacked"}){ id } }',
        lambda x: x.template,
        "template",
    ),
    _by_id(
        "deleteClusterTemplate",
        "mutation($i:ID!){ deleteClusterTemplate(id:$i){ ok } }",
        lambda x: x.template,
        "template",
    ),
    Case(
        "testSshConnection",  # connects to the machines it is given, nothing of a tenant's
        """mutation($r:String!){ testSshConnection(nodes:[{name:"n", role:$r, ipAddress:"127.0.0.1", sshPort:1,
          osType:"ubuntu22"}], sshConfig:{username:"root", authMethod:"password", password:"x"}){ success } }""",
        lambda _, role: {"r": role},
        target=lambda _: "worker",
        probe=lambda _, __: "boss",
        probe_code="BAD_USER_INPUT",
    ),
    Case(
        "discoverClusters",  # reads the kubeconfig it is given, nothing of a tenant's
        "mutation($k:String!){ discoverClusters(kubeconfig:$k){ context } }",
        lambda _, kubeconfig: {"k": kubeconfig},
        target=lambda x: x.kubeconfig,
        probe=lambda _, __: NOT_A_KUBECONFIG,
        probe_code="BAD_USER_INPUT",
    ),
]

# Provider staff only: every tenant role, tenant_admin included, gets FORBIDDEN.
PROVIDER_ONLY: dict[str, tuple[str, Callable[[str], dict[str, Any]]]] = {
    "tenants": ("{ tenants { totalCount } }", lambda _: {}),
    "createTenant": (
        "mutation($in:CreateTenantInput!){ createTenant(input:$in){ tenant { id } } }",
        lambda email: {"in": {"name": "Intruder Co", "adminEmail": email}},
    ),
    "updateTenant": ('mutation($i:ID!){ updateTenant(id:$i, input:{name:"Hijacked"}){ id } }', lambda i: {"i": i}),
    "suspendTenant": ("mutation($i:ID!){ suspendTenant(id:$i){ id } }", lambda i: {"i": i}),
    "activateTenant": ("mutation($i:ID!){ activateTenant(id:$i){ id } }", lambda i: {"i": i}),
    "impersonateTenant": ("mutation($i:ID!){ impersonateTenant(id:$i){ token } }", lambda i: {"i": i}),
    "deleteTenant": ("mutation($i:ID!){ deleteTenant(id:$i){ id } }", lambda i: {"i": i}),
}

# Fields that take no tenant-owned object and no tenant ID: each acts on the caller's own account.
SELF_SERVICE: dict[str, tuple[str, dict[str, Any]]] = {
    "me": ("{ me { id } }", {}),
    "myActivity": ("{ myActivity { id } }", {}),
    "sessions": ("{ sessions { id } }", {}),
    "apiTokens": ("{ apiTokens { id } }", {}),
    "createApiToken": ('mutation { createApiToken(name:"x") { value } }', {}),
    "updateProfile": ('mutation { updateProfile(input:{name:"x"}) { id } }', {}),
    "updatePreferences": ("mutation { updatePreferences(preferences:{a:1}) { id } }", {}),
    "changePassword": ('mutation { changePassword(oldPassword:"a", newPassword:"b") { ok } }', {}),
    "logout": ("mutation { logout { ok } }", {}),
    "notifications": ("{ notifications { id } }", {}),
    "markNotificationsRead": ("mutation { markNotificationsRead { count } }", {}),
    # someone else's notification is NOT_FOUND: tests/api/test_notifications.py
    "dismissNotification": ('mutation { dismissNotification(id:"ntf_x") { ok } }', {}),
}

# Public fields: they work without signing in, and take credentials rather than a principal.
PUBLIC = {"login", "refreshToken", "completePasswordReset"}
# Public reads: the service's own facts (name, version, topology kinds), nothing of anyone's.
PUBLIC_READS = {"serviceInfo"}


@pytest.fixture(scope="module")
async def kube() -> AsyncIterator[Fleet]:
    async with start_fleet(1, profile="small", seed=7) as fleet:
        yield fleet


async def _stored_snapshot(db: Database, tenant: TenantUsers, cluster_id: str) -> str:
    """A saved snapshot, written straight to the database: saving one through the API lists every
    kind of a cold cluster, which the shared app's client throttling makes slow (tested elsewhere)."""
    snapshot = TopologySnapshot(id=new_id("topology_snapshot"), tenant_id=tenant.id, cluster_id=cluster_id,
                                namespace="shop", name="kept", graph={"nodes": [], "edges": []})  # fmt: skip
    async with db.transaction() as session:
        session.add(snapshot)
    return snapshot.id


async def _create_targets(api: Api, tenant: TenantUsers, kubeconfig: str, db: Database) -> dict[str, str]:
    admin, operator = tenant.tokens["tenant_admin"], tenant.tokens["operator"]
    suffix = uuid.uuid4().hex[:8]
    user = await api.ok(
        "mutation($t:ID!,$in:CreateUserInput!){ createUser(tenantId:$t,input:$in){ id } }",
        {"t": tenant.id, "in": _new_user(f"target-{suffix}@{tenant.slug}.test")},
        admin,
    )
    role = await api.ok(
        'mutation($n:String!){ createRole(input:{name:$n, permissions:["users:read"], description:"kept"}){ id } }',
        {"n": f"auditor-{suffix}"},
        admin,
    )
    cluster = await api.ok(REGISTER, {"t": tenant.id, "in": {"name": f"iso-{suffix}", "kubeconfig": kubeconfig}}, admin)
    token = await api.ok('mutation { createApiToken(name:"isolation") { token { id } } }', token=operator)
    sessions = (await api.ok("{ sessions { id current } }", token=operator))["sessions"]
    template = await api.ok(CREATE_TEMPLATE, {"t": tenant.id, "n": f"small-{suffix}"}, operator)
    managed = await api.ok(CREATE_CLUSTER, {"t": tenant.id, "in": _cks(f"managed-{suffix}")}, operator)
    operation = managed["createCluster"]["operation"]["id"]
    managed_cluster = (await api.ok("query($i:ID!){ operation(id:$i){ clusterId } }", {"i": operation}, operator))[
        "operation"
    ]["clusterId"]
    snapshot_id = await _stored_snapshot(db, tenant, cluster["registerCluster"]["id"])
    alert_id, incident_id = await stored_alert(db, tenant.id, cluster["registerCluster"]["id"])
    silence = await api.ok(SILENCE, {"t": tenant.id, "n": "pod", "e": _in_a_month()}, operator)
    rule = await api.ok(ALERT_RULE, {"t": tenant.id, "q": BUSY}, admin)
    receiver = await api.ok(ALERT_RECEIVER, {"t": tenant.id, "u": "https://127.0.0.1:9/hook"}, admin)
    audit = (await api.ok("{ auditLogs(first:1) { nodes { id tenantId } } }", token=admin))["auditLogs"]["nodes"]
    assert audit[0]["tenantId"] == tenant.id
    return {
        "tenant": tenant.id,
        "user": user["createUser"]["id"],
        "role": role["createRole"]["id"],
        "cluster": cluster["registerCluster"]["id"],
        "session": next(s["id"] for s in sessions if s["current"]),
        "api_token": token["createApiToken"]["token"]["id"],
        "audit": audit[0]["id"],
        "new_email": f"intruder-{suffix}@{tenant.slug}.test",
        "new_role": f"intruder-{suffix}",
        "operation": operation,
        "template": template["createClusterTemplate"]["id"],
        "managed_cluster": managed_cluster,
        "snapshot": snapshot_id,
        "alert": alert_id,
        "incident": incident_id,
        "silence": silence["createSilence"]["id"],
        "alert_rule": rule["createAlertRule"]["id"],
        "alert_receiver": receiver["createAlertReceiver"]["receiver"]["id"],
    }


@pytest.fixture(scope="module")
async def targets(api: Api, tenant_a: TenantUsers, kube: Fleet, services: Services) -> AsyncIterator[Targets]:
    kubeconfig = kube.kubeconfigs["cluster-0"].read_text()
    made = await _create_targets(api, tenant_a, kubeconfig, services.db)
    before = await snapshot(api, tenant_a, made)
    assert before["cluster"]["namespaces"] and before["users"]["totalCount"] >= 5
    yield Targets(**made, kubeconfig=kubeconfig, before=before)
    admin = tenant_a.tokens["tenant_admin"]
    await api.ok(REMOVE_CLUSTER, {"i": made["cluster"]}, admin)
    await api.ok("mutation($i:ID!){ cancelOperation(id:$i){ id } }", {"i": made["operation"]}, admin)
    await api.ok("mutation($i:ID!){ deleteCluster(id:$i){ status } }", {"i": made["managed_cluster"]}, admin)


SNAPSHOT = """query($t:ID!,$u:ID!,$c:ID!){
  tenant(id:$t){ name status settings maxUsers updatedAt }
  users(tenantId:$t, first:100){ totalCount nodes { id email name username role status locked mustChangePassword
    updatedAt } }
  user(tenantId:$t, id:$u){ clusterRoles { clusterId role } }
  roles { id name description scope permissions }
  clusters(tenantId:$t){ totalCount nodes { id name description region tags } }
  cluster(id:$c){ namespaces(first:100) { nodes { name } } }
  topologySnapshots(clusterId:$c){ id name }
  operations(tenantId:$t, first:100){ totalCount nodes { id status phases { status } } }
  clusterTemplates(tenantId:$t){ id name description spec }
  alerts(tenantId:$t, first:5){ nodes { id state acknowledgedAt acknowledgementNote } }
  incidents(tenantId:$t, first:5){ nodes { id status acknowledgedAt } }
  silences(tenantId:$t){ id endsAt }
  alertRules(tenantId:$t){ id name query threshold }
  alertReceivers(tenantId:$t){ id name url }
}"""
CREDENTIALS = "{ sessions { id } apiTokens { id name } }"
CREDENTIAL_FIELDS = ("revokeSession", "revokeApiToken")


async def snapshot(api: Api, tenant: TenantUsers, ids: dict[str, str], credentials: bool = True) -> dict[str, Any]:
    """What a refused attempt could have changed: read by tenant_a's admin (and by the operator, their
    own sessions and API tokens, which no one else can list)."""
    variables = {"t": tenant.id, "u": ids["user"], "c": ids["cluster"]}
    state = await api.ok(SNAPSHOT, variables, tenant.tokens["tenant_admin"])
    if credentials:
        state.update(await api.ok(CREDENTIALS, token=tenant.tokens["operator"]))
    return state


async def assert_nothing_written(api: Api, tenant: TenantUsers, targets: Targets, case: Case | None = None) -> None:
    if case is not None and not case.op.startswith("mutation"):
        return  # a query changes nothing the snapshot holds
    credentials = case is not None and case.field in CREDENTIAL_FIELDS
    after = await snapshot(api, tenant, {"user": targets.user, "cluster": targets.cluster}, credentials)
    assert after == {key: targets.before[key] for key in after}


def shape(body: dict[str, Any], *ids: str) -> dict[str, Any]:
    """What a caller sees of a refusal, with the IDs it named replaced by a placeholder."""
    assert body.get("errors"), body
    error = body["errors"][0]
    message = error["message"]
    for identifier in ids:
        message = message.replace(identifier, "<id>")
    return {
        "data": body.get("data"),
        "errors": len(body["errors"]),
        "message": message,
        "path": error.get("path"),
        "extensions": error.get("extensions"),
    }


async def assert_hidden(api: Api, case: Case, token: str, attempt: tuple[str, str], missing: tuple[str, str]) -> None:
    """Acting on another tenant's (tenant ID, object) reads exactly like acting on a missing one."""
    answered = await api.run(case.op, case.build(*attempt), token)
    assert answered.get("errors"), f"{case.name} answered another tenant's request: {str(answered['data'])[:160]}"
    seen = shape(answered, *attempt)
    baseline = shape(await api.run(case.op, case.build(*missing), token), *missing)
    assert seen["extensions"] == {"code": "NOT_FOUND"}, seen
    assert seen == baseline


def _ids(case: Case) -> str:
    return case.name


@pytest.mark.parametrize("case", [c for c in MATRIX if c.tenant_arg or c.kind], ids=_ids)
async def test_other_tenant_gets_not_found(
    api: Api, tenant_a: TenantUsers, tenant_b: TenantUsers, targets: Targets, case: Case
) -> None:
    other = tenant_b.tokens["tenant_admin"]
    obj = case.target(targets) if case.target else ""
    if case.tenant_arg:  # naming tenant_a's tenantId
        await assert_hidden(api, case, other, (tenant_a.id, obj), (new_id("tenant"), obj))
    if case.kind:  # naming tenant_a's object under tenant_b's own tenantId
        await assert_hidden(api, case, other, (tenant_b.id, obj), (tenant_b.id, new_id(case.kind)))
    await assert_nothing_written(api, tenant_a, targets, case)


@pytest.mark.parametrize("case", [c for c in MATRIX if c.weak], ids=_ids)
async def test_too_weak_role_is_forbidden(api: Api, tenant_a: TenantUsers, targets: Targets, case: Case) -> None:
    assert case.weak is not None
    variables = case.build(tenant_a.id, case.target(targets) if case.target else "")
    body = await api.run(case.op, variables, tenant_a.tokens[case.weak])
    assert body.get("errors"), f"{case.weak} was answered: {str(body['data'])[:160]}"
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body["errors"]
    assert not any((body.get("data") or {}).values()), body["data"]
    await assert_nothing_written(api, tenant_a, targets, case)


@pytest.mark.parametrize("case", MATRIX, ids=_ids)
async def test_allowed_role_passes_the_gate(api: Api, tenant_a: TenantUsers, targets: Targets, case: Case) -> None:
    """The same operation on the caller's own tenant gets past the permission check."""
    variables = case.build(tenant_a.id, case.probe_object(targets, tenant_a))
    body = await api.run(case.op, variables, tenant_a.tokens[case.allowed])
    if case.probe_code is None:
        assert not body.get("errors"), body["errors"]
        assert body["data"][case.field] is not None
    else:
        assert body.get("errors"), body
        assert body["errors"][0]["extensions"]["code"] == case.probe_code, body["errors"]


async def test_tenant_level_queries_never_return_other_tenants_rows(
    api: Api, tenant_a: TenantUsers, tenant_b: TenantUsers, targets: Targets
) -> None:
    own = await api.ok(AUDIT, {"t": tenant_a.id}, tenant_a.tokens["tenant_admin"])
    assert own["auditLogs"]["totalCount"] > 0  # there is something that could leak
    a_users = [*tenant_a.user_ids.values(), targets.user]
    other = tenant_b.tokens["tenant_admin"]

    users = await api.run("query($t:ID!){ users(tenantId:$t){ nodes { id } } }", {"t": tenant_a.id}, other)
    assert users["data"] == {"users": None} and not any(u in str(users) for u in a_users)

    audit = await api.run(AUDIT, {"t": tenant_a.id}, other)
    rows = (audit.get("data") or {}).get("auditLogs") or {"nodes": []}
    assert all(row["tenantId"] == tenant_b.id for row in rows["nodes"]), rows
    assert not any(u in str(rows) for u in a_users)

    export = await api.run(EXPORT, {"t": tenant_a.id}, other)
    csv_text = str((export.get("data") or {}).get("exportAuditLogs") or "")
    assert tenant_a.id not in csv_text and not any(u in csv_text for u in a_users)

    by_actor = "query($u:ID!){ auditLogs(filter:{userId:$u}){ totalCount } }"
    assert (await api.ok(by_actor, {"u": tenant_a.user_ids["tenant_admin"]}, other))["auditLogs"]["totalCount"] == 0

    search = "query($t:ID!,$s:String!){ users(tenantId:$t, search:$s){ totalCount } }"
    assert (await api.ok(search, {"t": tenant_b.id, "s": tenant_a.slug}, other))["users"]["totalCount"] == 0

    roles = await api.ok("{ roles { id } }", token=other)
    assert targets.role not in {r["id"] for r in roles["roles"]}

    for fleet_query in ("clusters(tenantId:$t){ nodes { id } }", "workloads(tenantId:$t){ items { clusterId } }"):
        body = await api.run(f"query($t:ID!){{ {fleet_query} }}", {"t": tenant_a.id}, other)
        assert not any((body.get("data") or {}).values()) and targets.cluster not in str(body)


@pytest.mark.parametrize("field", list(PROVIDER_ONLY))
async def test_provider_only_fields_are_forbidden_to_every_tenant_role(
    api: Api, tenant_a: TenantUsers, targets: Targets, provider_token: str, field: str
) -> None:
    op, build = PROVIDER_ONLY[field]
    argument = f"intruder-{uuid.uuid4().hex[:8]}@x.test" if field == "createTenant" else tenant_a.id
    for role in TENANT_ROLES:
        body = await api.run(op, build(argument), tenant_a.tokens[role])
        assert body.get("errors"), (role, body)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", (role, body["errors"])
    await assert_nothing_written(api, tenant_a, targets)
    # the provider passes the same gate: a missing tenant, or an invalid input, is refused later
    probe = build("not-an-email" if field == "createTenant" else new_id("tenant"))
    body = await api.run(op, probe, provider_token)
    expected = {"tenants": None, "createTenant": "BAD_USER_INPUT"}.get(field, "NOT_FOUND")
    codes = [e["extensions"]["code"] for e in body.get("errors") or []]
    assert codes == ([expected] if expected else []), body


async def test_every_protected_field_refuses_an_anonymous_caller(api: Api) -> None:
    calls: list[tuple[str, str, dict[str, Any]]] = [
        (c.name, c.op, c.build(new_id("tenant"), new_id(c.kind) if c.kind else "nobody@x.test")) for c in MATRIX
    ]
    calls += [(field, op, build(new_id("tenant"))) for field, (op, build) in PROVIDER_ONLY.items()]
    calls += [(field, op, variables) for field, (op, variables) in SELF_SERVICE.items()]
    for name, op, variables in calls:
        body = await api.run(op, variables)
        assert body.get("errors"), (name, body)
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", (name, body["errors"])
        assert not any((body.get("data") or {}).values()), name


async def test_every_root_field_is_classified(api: Api) -> None:
    body = await api.ok("{ __schema { queryType { fields { name } } mutationType { fields { name } } } }")
    schema = body["__schema"]
    fields = {f["name"] for root in ("queryType", "mutationType") for f in schema[root]["fields"]}
    classified = {c.field for c in MATRIX} | set(PROVIDER_ONLY) | set(SELF_SERVICE) | PUBLIC | PUBLIC_READS
    assert fields - classified == set(), "add these fields to the isolation matrix (or an allow-list)"
    assert classified - fields == set(), "these entries name fields the schema no longer has"


# ---- the schema, enumerated -----------------------------------------------------------------

ROOTS = ("Query", "Mutation", "Subscription")

# Fields that reach data without a declared check of their own, each with the reason.
OPEN: dict[str, str] = {
    **{f"Mutation.{name}": "public: takes credentials, not a principal" for name in PUBLIC},
    **{f"Query.{name}": "public: the service's own facts, nobody's data" for name in PUBLIC_READS},
    "*Connection.nodes": "the page its connection's field authorised, without the edges around it",
    "Cluster.insights": "no data of its own: every ClusterInsights field checks the cluster",
    "User.tenant": "the tenant of a user the field returning it authorised, through the tenant-scoped loader",
    "User.clusterRoles": "the per-cluster roles of a user the field returning it authorised",
    "User.roleId": "the ID of the role named by a user the field returning it authorised, through the "
    "tenant-scoped loader",
    "Operation.logs": "the log of an operation the field returning it authorised",
    "AuditEntry.actor": "who made an entry the field returning it authorised: the ID and email the entry "
    "records, and that user's names, through the tenant-scoped loader (no other field of the user)",
    "Incident.alerts": "the alerts of an incident the field returning it authorised",
    "Incident.timeline": "the timeline of an incident the field returning it authorised",
    "Silence.status": "computed from the times of a silence the field returning it authorised",
    "AuditEntry.tenant": "the tenant of an entry the field returning it authorised, through the tenant-scoped "
    "loader: one's own tenant, which every signed-in caller reads",
}
# Fields with a clusterId argument that no per-cluster check names, each with the reason.
CLUSTER_ARGUMENTS_OPEN: dict[str, str] = {
    "Mutation.setClusterRole": "grants a role on the cluster: an act on the user (users:write); the "
    "resolver checks the cluster is one of the tenant's",
}


def reachable_fields(graphql: Any) -> Iterator[tuple[str, GraphQLField]]:
    """("Type.field", field) for every field of every type reachable from the roots, an interface's
    implementations included."""
    pending: list[GraphQLNamedType] = [t for t in (graphql.query_type, graphql.mutation_type,
                                                   graphql.subscription_type) if t is not None]
    seen: set[str] = set()
    while pending:
        named = pending.pop()
        if named.name in seen:
            continue
        seen.add(named.name)
        if isinstance(named, GraphQLInterfaceType | GraphQLUnionType):
            pending.extend(graphql.get_possible_types(named))
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            for name, field in named.fields.items():
                pending.append(get_named_type(field.type))
                yield f"{named.name}.{name}", field


def declared(field: GraphQLField) -> list[type[BasePermission]]:
    return list(field.extensions["strawberry-definition"].permission_classes)


def is_open(name: str, allowed: dict[str, str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in allowed)


def undeclared(schema: strawberry.Schema, allowed: dict[str, str]) -> list[str]:
    """Fields that reach data (a root field, or one with a resolver of its own) without a declared check."""
    found = []
    for name, field in reachable_fields(schema._schema):
        reaches_data = name.split(".")[0] in ROOTS or field.extensions["strawberry-definition"].base_resolver
        if reaches_data and not declared(field) and not is_open(name, allowed):
            found.append(name)
    return sorted(found)


def cluster_arguments(arguments: dict[str, GraphQLArgument]) -> list[str]:
    """The python paths of every clusterId argument, inside inputs too (`left.cluster_id`)."""
    found: list[str] = []

    def walk(kind: GraphQLInputType, path: list[str], inputs: frozenset[str]) -> None:
        named = get_named_type(kind)
        if isinstance(named, GraphQLInputObjectType):
            if named.name not in inputs:
                for field in named.fields.values():
                    python = field.extensions["strawberry-definition"].python_name
                    walk(field.type, [*path, python], inputs | {named.name})
        elif path[-1] == "cluster_id":
            found.append(".".join(path))

    for argument in arguments.values():
        walk(argument.type, [argument.extensions["strawberry-definition"].python_name], frozenset())
    return found


def unchecked_clusters(schema: strawberry.Schema, allowed: dict[str, str]) -> list[str]:
    """`Type.field(path)` for each clusterId argument that no per-cluster check of the field names."""
    found = []
    for name, field in reachable_fields(schema._schema):
        checked = {p for c in declared(field) if issubclass(c, ClusterPermission) for p in c.cluster_from}
        found += [f"{name}({path})" for path in cluster_arguments(field.args) if path not in checked]
    return sorted(f for f in found if not is_open(f.split("(")[0], allowed))


SCHEMA = strawberry.Schema(query=Query, mutation=Mutation, subscription=Subscription, config=CONFIG)
FIELDS = dict(reachable_fields(SCHEMA._schema))


def test_every_field_that_reaches_data_declares_a_check() -> None:
    assert undeclared(SCHEMA, OPEN) == [], "declare a permission class on these fields (or list them in OPEN)"


def test_every_cluster_argument_is_checked_on_its_cluster() -> None:
    assert unchecked_clusters(SCHEMA, CLUSTER_ARGUMENTS_OPEN) == [], "declare requires_on_cluster on these"


def test_every_open_entry_names_a_field_that_needs_one() -> None:
    for pattern in OPEN:
        matched = [n for n in FIELDS if fnmatch.fnmatchcase(n, pattern)]
        assert matched, f"OPEN names {pattern}, which the schema no longer has"
        assert all(not declared(FIELDS[n]) for n in matched), f"{pattern} declares a check: drop it from OPEN"
    assert all(n in FIELDS for n in CLUSTER_ARGUMENTS_OPEN)


@pytest.mark.parametrize("case", [c for c in MATRIX if c.kind in ("cluster", "operation") and c.field != "node"],
                         ids=_ids)
def test_fields_on_a_cluster_or_its_operations_check_the_cluster(case: Case) -> None:
    root = "Mutation" if case.op.startswith("mutation") else "Query"
    checks = [c for c in declared(FIELDS[f"{root}.{case.field}"]) if issubclass(c, ClusterPermission)]
    assert checks, f"{case.field} acts on a {case.kind} without a per-cluster check"


def test_node_reads_each_kind_as_its_own_field_does() -> None:
    assert set(ReadsById.table) == set(node_schema._TYPES)
    assert declared(FIELDS["Query.node"]) == [SignedIn, ReadsById]
    own_fields = {
        "tenant": "Query.tenant",
        "user": "Query.user",
        "role": "Query.roles",
        "audit": "Query.auditLogs",
        "cluster": "Query.cluster",
        "operation": "Query.operation",
        "template": "Query.clusterTemplate",
    }
    assert set(own_fields) == set(READS)
    for kind, field in own_fields.items():
        assert declared(FIELDS[field]) == READS[kind], field


BOTH_CLUSTERS = ("cluster_id", "side.cluster_id")


@strawberry.input(name="Side")
class _Side:
    cluster_id: strawberry.ID | None = None


@strawberry.type(name="Leaf")
class _Leaf:
    name: str

    @strawberry.field
    def unguarded(self) -> str:
        return self.name

    @strawberry.field(permission_classes=[requires_on_source_cluster("clusters:read")])
    def guarded(self) -> str:
        return self.name


@strawberry.type(name="Query")
class _Query:
    @strawberry.field
    def leaked(self) -> _Leaf:
        return _Leaf(name="x")

    @strawberry.field(permission_classes=[SignedIn])
    def signed_in_only(self, cluster_id: strawberry.ID, side: _Side) -> _Leaf:
        return _Leaf(name="x")

    @strawberry.field(permission_classes=[SignedIn, requires_on_cluster("clusters:read", BOTH_CLUSTERS)])
    def checked(self, cluster_id: strawberry.ID, side: _Side) -> _Leaf:
        return _Leaf(name="x")


def test_the_enumerator_flags_a_new_field_without_a_check() -> None:
    """A field added without a declaration fails the two tests above: here on a throwaway schema."""
    throwaway = strawberry.Schema(query=_Query)
    assert undeclared(throwaway, {}) == ["Leaf.unguarded", "Query.leaked"]
    assert undeclared(throwaway, {"Query.leaked": "a reason", "Leaf.*": "a reason"}) == []
    unchecked = ["Query.signedInOnly(cluster_id)", "Query.signedInOnly(side.cluster_id)"]
    assert unchecked_clusters(throwaway, {}) == unchecked
