"""Cluster specifications from the Provisioner's input: topology, components, SSH nodes and credentials."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from app.errors import BadUserInput
from app.operations.specs import (
    ClusterSpec,
    NodePoolSpec,
    SshConfigSpec,
    SshNodeSpec,
    merge_template,
    parse_provisioner,
)

ED25519 = ed25519.Ed25519PrivateKey.generate()
OPENSSH_KEY = ED25519.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
).decode()
PUBLIC_KEY = ED25519.public_key().public_bytes(
    serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
).decode()
RSA = rsa.generate_private_key(public_exponent=65537, key_size=1024)
ENCRYPTED_RSA_KEY = RSA.private_bytes(  # PEM with Proc-Type and DEK-Info headers
    serialization.Encoding.PEM,
    serialization.PrivateFormat.TraditionalOpenSSL,
    serialization.BestAvailableEncryption(b"key passphrase"),
).decode()
PKCS8_KEY = RSA.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
NOT_UNICAST = "must be a unicast address a machine can be reached at"


def node(name: str, role: str, address: str, **rest: Any) -> dict[str, Any]:
    return {"name": name, "role": role, "ipAddress": address, "osType": "rocky9", **rest}


def provisioner(**changes: Any) -> dict[str, Any]:
    """The documented example (camelCase, with as many nodes as its topology) and `changes` on top."""
    data: dict[str, Any] = {
        "name": "my-cluster",
        "description": "My production Kubernetes cluster",
        "templateId": None,
        "topology": {"ha": True, "controlPlaneCount": 3, "workerCount": 2},
        "components": {"kubernetesVersion": "1.28.3", "cni": "calico", "ingress": "nginx", "runtime": "containerd"},
        "nodes": [
            node("control-01", "control-plane", "192.168.1.10", sshPort=22),
            node("control-02", "control-plane", "192.168.1.11", sshPort=22),
            node("control-03", "control-plane", "192.168.1.12", sshPort=22),
            node("worker-01", "worker", "192.168.1.20", sshPort=2222),
            node("worker-02", "worker", "192.168.1.21"),
        ],
        "sshConfig": {"username": "root", "authMethod": "private_key", "privateKey": OPENSSH_KEY,
                      "passphrase": "optional_key_passphrase", "password": None},
        "hardening": {"enableCisK8sBenchmark": True, "enableCisLinuxBenchmark": True},
        "provisionImmediately": True,
    }
    data.update(changes)
    return data


def topology(ha: bool, control_planes: int, workers: int) -> dict[str, Any]:
    nodes = [node(f"cp-{i}", "control-plane", f"192.168.1.{10 + i}") for i in range(control_planes)]
    nodes += [node(f"w-{i}", "worker", f"192.168.2.{10 + i}") for i in range(workers)]
    return provisioner(topology={"ha": ha, "controlPlaneCount": control_planes, "workerCount": workers}, nodes=nodes)


def refused(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(BadUserInput) as caught:
        parse_provisioner(data)
    fields = [d["field"] for d in caught.value.details]
    assert len(fields) == len(set(fields)), caught.value.details
    return {d["field"]: d["message"] for d in caught.value.details}


def test_the_documented_input_becomes_an_ssh_cluster_spec() -> None:
    spec = parse_provisioner(provisioner())
    assert (spec.name, spec.description, spec.version, spec.provider) == (
        "my-cluster", "My production Kubernetes cluster", "1.28.3", "ssh"
    )
    assert (spec.ha, spec.control_plane_count, spec.ingress, spec.runtime) == (True, 3, "nginx", "containerd")
    assert spec.networking.cni == "calico"
    assert spec.node_pools == [
        NodePoolSpec(
            name="control-plane",
            count=3,
            min_count=3,
            max_count=3,
            labels={"node-role.kubernetes.io/control-plane": ""},
            taints=["node-role.kubernetes.io/control-plane:NoSchedule"],
        ),
        NodePoolSpec(name="workers", count=2),
    ]
    assert spec.nodes[0] == SshNodeSpec(name="control-01", role="control-plane", ip_address="192.168.1.10",
                                        ssh_port=22, os_type="rocky9")
    assert [n.ssh_port for n in spec.nodes[3:]] == [2222, 22]
    assert spec.ssh_config == SshConfigSpec(username="root", auth_method="private_key", private_key=OPENSSH_KEY,
                                            passphrase="optional_key_passphrase")
    assert spec.hardening == {"enableCisK8sBenchmark": True, "enableCisLinuxBenchmark": True}
    assert spec.provision_immediately is True


def test_the_secrets_stay_out_of_the_public_part_and_come_back_with_it() -> None:
    spec = parse_provisioner(provisioner())
    public = json.dumps(spec.public())
    assert "PRIVATE KEY" not in public and "optional_key_passphrase" not in public
    assert spec.secrets() == {"privateKey": OPENSSH_KEY, "passphrase": "optional_key_passphrase"}
    assert ClusterSpec.from_public(json.loads(public), spec.secrets()) == spec


def test_optional_fields_take_their_documented_defaults() -> None:
    data = provisioner(description=None, hardening=None, provisionImmediately=None)
    data["components"] = {"kubernetesVersion": "1.30.6", "cni": "cilium", "ingress": "traefik"}
    spec = parse_provisioner(data)
    assert (spec.description, spec.runtime, spec.provision_immediately) == ("", "containerd", True)
    assert spec.hardening == {"enableCisK8sBenchmark": False, "enableCisLinuxBenchmark": False}


@pytest.mark.parametrize(("ha", "control_planes"), [(False, 1), (True, 3), (True, 5), (True, 7)])
def test_control_plane_sizes_that_keep_a_quorum_are_accepted(ha: bool, control_planes: int) -> None:
    spec = parse_provisioner(topology(ha, control_planes, 2))
    assert [p.count for p in spec.node_pools] == [control_planes, 2]


@pytest.mark.parametrize(
    ("ha", "control_planes", "message"),
    [
        (True, 1, "must be an odd number of at least 3 for high availability, so etcd keeps a quorum"),
        (True, 2, "must be an odd number of at least 3 for high availability, so etcd keeps a quorum"),
        (True, 4, "must be an odd number of at least 3 for high availability, so etcd keeps a quorum"),
        (True, 9, "must be at most 7"),
        (False, 3, "must be 1 without high availability (set ha for 3, 5 or 7)"),
        (False, 0, "must be 1 without high availability (set ha for 3, 5 or 7)"),
    ],
)
def test_control_plane_sizes_without_a_quorum_are_refused(ha: bool, control_planes: int, message: str) -> None:
    assert refused(topology(ha, control_planes, 1)) == {"topology.controlPlaneCount": message}


def test_a_cluster_without_workers_keeps_its_control_plane_schedulable() -> None:
    spec = parse_provisioner(topology(False, 1, 0))
    assert spec.node_pools[0].taints == [] and spec.node_pools[1].count == 0


def test_the_topology_must_agree_with_the_roles_of_the_nodes() -> None:
    data = provisioner(topology={"ha": True, "controlPlaneCount": 5, "workerCount": 1})
    assert refused(data) == {
        "topology.controlPlaneCount": "is 5 but nodes lists 3 with role control-plane",
        "topology.workerCount": "is 1 but nodes lists 2 with role worker",
    }


@pytest.mark.parametrize(
    ("topo", "field", "message"),
    [
        ({"controlPlaneCount": 3, "workerCount": 2}, "topology.ha", "is required"),
        ({"ha": "yes", "controlPlaneCount": 3, "workerCount": 2}, "topology.ha", "must be true or false"),
        ({"ha": True, "controlPlaneCount": 3, "workerCount": -1}, "topology.workerCount", "must be at least 0"),
        ({"ha": True, "controlPlaneCount": 3.0, "workerCount": 2}, "topology.controlPlaneCount", "must be an integer"),
    ],
)
def test_topology_fields_are_checked(topo: dict[str, Any], field: str, message: str) -> None:
    assert refused(provisioner(topology=topo)) == {field: message}


@pytest.mark.parametrize(
    ("components", "field"),
    [
        ({"kubernetesVersion": "1.27.0", "cni": "calico", "ingress": "nginx"}, "components.kubernetesVersion"),
        ({"kubernetesVersion": "1.30.6", "cni": "weave", "ingress": "nginx"}, "components.cni"),
        ({"kubernetesVersion": "1.30.6", "cni": "calico", "ingress": "istio"}, "components.ingress"),
        ({"kubernetesVersion": "1.30.6", "cni": "calico", "ingress": "nginx", "runtime": "docker"},
         "components.runtime"),
        ({"cni": "calico", "ingress": "nginx"}, "components.kubernetesVersion"),
    ],
)
def test_component_rules(components: dict[str, Any], field: str) -> None:
    assert list(refused(provisioner(components=components))) == [field]


@pytest.mark.parametrize("ingress", ["nginx", "traefik", "haproxy"])
@pytest.mark.parametrize("cni", ["calico", "cilium", "flannel"])
def test_every_documented_cni_and_ingress_is_accepted(cni: str, ingress: str) -> None:
    components = {"kubernetesVersion": "1.29.10", "cni": cni, "ingress": ingress, "runtime": "containerd"}
    spec = parse_provisioner(provisioner(components=components))
    assert (spec.networking.cni, spec.ingress, spec.version) == (cni, ingress, "1.29.10")


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"name": "Worker_01"}, "nodes[3].name", None),
        ({"name": "control-01"}, "nodes[3].name", "repeats the node name 'control-01'"),
        ({"role": "etcd"}, "nodes[3].role", "must be one of control-plane, worker"),
        ({"osType": "debian12"}, "nodes[3].osType", "must be one of rocky9, ubuntu22, rhel9"),
        ({"ipAddress": "192.168.1.300"}, "nodes[3].ipAddress", "must be an IPv4 or IPv6 address"),
        ({"ipAddress": "0.0.0.0"}, "nodes[3].ipAddress", NOT_UNICAST),
        ({"ipAddress": "224.0.0.5"}, "nodes[3].ipAddress", NOT_UNICAST),
        ({"ipAddress": "255.255.255.255"}, "nodes[3].ipAddress", NOT_UNICAST),
        ({"ipAddress": "192.168.1.10"}, "nodes[3].ipAddress", "repeats the address '192.168.1.10'"),
        ({"ipAddress": "10.244.7.1"}, "nodes[3].ipAddress", "lies inside the cluster's pod network 10.244.0.0/16"),
        ({"ipAddress": "10.100.0.5"}, "nodes[3].ipAddress", "lies inside the cluster's service network 10.96.0.0/12"),
        ({"sshPort": 0}, "nodes[3].sshPort", "must be from 1 to 65535"),
        ({"sshPort": 65536}, "nodes[3].sshPort", "must be from 1 to 65535"),
        ({"sshPort": "22"}, "nodes[3].sshPort", "must be an integer"),
    ],
)
def test_node_rules(change: dict[str, Any], field: str, message: str | None) -> None:
    data = provisioner()
    data["nodes"][3].update(change)
    problems = refused(data)
    assert list(problems) == [field]
    assert message is None or problems[field] == message


def test_ipv6_node_addresses_are_compared_as_addresses() -> None:
    data = provisioner()
    data["nodes"][3]["ipAddress"] = "fd00::1:20"
    data["nodes"][4]["ipAddress"] = "fd00:0:0:0:0:0:1:20"
    assert refused(data) == {"nodes[4].ipAddress": "repeats the address 'fd00:0:0:0:0:0:1:20'"}


def test_a_single_node_cluster_on_the_loopback_address_is_accepted() -> None:
    data = provisioner(topology={"ha": False, "controlPlaneCount": 1, "workerCount": 0})
    data["nodes"] = [node("all-in-one", "control-plane", "127.0.0.1", sshPort=40022)]
    assert parse_provisioner(data).nodes == [
        SshNodeSpec(name="all-in-one", role="control-plane", ip_address="127.0.0.1", ssh_port=40022, os_type="rocky9")
    ]


def test_nodes_are_required() -> None:
    problems = refused(provisioner(nodes=None))
    assert problems == {"nodes": "is required"}


@pytest.mark.parametrize("key", [OPENSSH_KEY, ENCRYPTED_RSA_KEY, PKCS8_KEY, OPENSSH_KEY.replace("\n", "\r\n")])
def test_private_keys_in_pem_and_openssh_form_are_accepted(key: str) -> None:
    data = provisioner()
    data["sshConfig"]["privateKey"] = key
    assert parse_provisioner(data).secrets()["privateKey"] == key


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (PUBLIC_KEY, "is a public key; give the private key"),
        ("-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----", None),
        ("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----", None),
        ("-----BEGIN PRIVATE KEY-----\n \n-----END PRIVATE KEY-----", None),
        ("hunter2", None),
        ("", "must not be empty"),
    ],
)
def test_text_that_is_not_a_private_key_is_refused(key: str, message: str | None) -> None:
    data = provisioner()
    data["sshConfig"]["privateKey"] = key
    problems = refused(data)
    assert list(problems) == ["sshConfig.privateKey"]
    assert message is None or problems["sshConfig.privateKey"] == message


@pytest.mark.parametrize(
    ("ssh", "expected"),
    [
        ({"username": "root", "authMethod": "private_key"}, {"sshConfig.privateKey": "is required"}),
        ({"username": "root", "authMethod": "password"}, {"sshConfig.password": "is required"}),
        ({"username": "root", "authMethod": "kerberos"},
         {"sshConfig.authMethod": "must be one of password, private_key"}),
        ({"authMethod": "password", "password": "pw"}, {"sshConfig.username": "is required"}),
        ({"username": "ro ot", "authMethod": "password", "password": "pw"},
         {"sshConfig.username": "must be a user name without spaces, ':' or '/'"}),
    ],
)
def test_ssh_config_rules(ssh: dict[str, Any], expected: dict[str, str]) -> None:
    assert refused(provisioner(sshConfig=ssh)) == expected


def test_password_auth_keeps_only_the_password() -> None:
    ssh = {"username": "admin", "authMethod": "password", "password": "s3cret!", "privateKey": OPENSSH_KEY}
    spec = parse_provisioner(provisioner(sshConfig=ssh))
    assert spec.secrets() == {"password": "s3cret!"}
    assert spec.public()["sshConfig"] == {"username": "admin", "authMethod": "password"}


def test_key_auth_drops_a_stray_password() -> None:
    spec = parse_provisioner(provisioner())
    assert "password" not in spec.secrets()


@pytest.mark.parametrize(
    ("hardening", "field"),
    [
        ({"enableCisK8sBenchmark": "yes"}, "hardening.enableCisK8sBenchmark"),
        ({"enableSelinux": True}, "hardening.enableSelinux"),
    ],
)
def test_hardening_rules(hardening: dict[str, Any], field: str) -> None:
    assert list(refused(provisioner(hardening=hardening))) == [field]


def test_every_problem_is_reported_at_once_with_its_field_path() -> None:
    data = provisioner(
        name="My Cluster",
        topology={"ha": True, "controlPlaneCount": 2, "workerCount": 2},
        components={"kubernetesVersion": "1.31.2", "cni": "calico", "ingress": "nginx"},
        sshConfig={"username": "root", "authMethod": "password"},
    )
    data["nodes"][1]["ipAddress"] = "192.168.1.999"
    data["nodes"][2]["ipAddress"] = "192.168.1.10"
    data["nodes"][4]["osType"] = "windows"
    assert sorted(refused(data)) == sorted([
        "name",
        "topology.controlPlaneCount",
        "nodes[1].ipAddress",
        "nodes[2].ipAddress",
        "nodes[4].osType",
        "sshConfig.password",
    ])


def test_a_stored_template_with_overrides_becomes_a_cluster() -> None:
    template = provisioner(name="base", nodes=[], sshConfig={"username": "root", "authMethod": "private_key"})
    overrides = {
        "name": "edge-7",
        "shape": "provisioner",
        "topology": {"ha": False, "controlPlaneCount": 1, "workerCount": 1},
        "nodes": [node("edge-7-cp", "control-plane", "10.0.7.10"), node("edge-7-w", "worker", "10.0.7.20")],
        "sshConfig": {"privateKey": OPENSSH_KEY, "passphrase": None},
    }
    spec = parse_provisioner(merge_template(template, overrides))
    assert (spec.name, spec.ha, [n.name for n in spec.nodes]) == ("edge-7", False, ["edge-7-cp", "edge-7-w"])
    assert spec.secrets() == {"privateKey": OPENSSH_KEY}
