"""Preflight against a real OpenSSH server on the loopback interface."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import asyncssh
import pytest

from app.provisioning.facts import parse_memory_mib, parse_os_release
from app.provisioning.host_keys import HostKeyMemory
from app.provisioning.os_types import OS_TYPES
from app.provisioning.ssh import SshCredentials, SshNode, preflight, preflight_all
from tests.support.server import free_port
from tests.support.sshd import SshServer

LOCAL_OS = parse_os_release(Path("/etc/os-release").read_text())
FOREIGN_OS_TYPE = next(name for name, family in OS_TYPES.items() if not family.matches(LOCAL_OS))


def node_for(server: SshServer, role: str = "control-plane", os_type: str = FOREIGN_OS_TYPE) -> SshNode:
    return SshNode("node-01", role, server.host, server.port, os_type=os_type)  # type: ignore[arg-type]


def key_credentials(server: SshServer) -> SshCredentials:
    return SshCredentials(server.username, "private_key", private_key=server.private_key)


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield int(listener.getsockname()[1])


async def test_key_login_reports_the_node(sshd_server: SshServer) -> None:
    result = await preflight(node_for(sshd_server), key_credentials(sshd_server), host_keys=HostKeyMemory())

    assert result.success
    assert result.message == f"Connected successfully. Hostname: {socket.gethostname()}"
    assert (result.node, result.ip_address, result.hostname) == ("node-01", "127.0.0.1", socket.gethostname())
    assert result.os_id == LOCAL_OS.get("ID")
    assert result.os_version == LOCAL_OS.get("VERSION_ID")
    assert result.cpus == len(os.sched_getaffinity(0))
    assert result.memory_mib == parse_memory_mib(Path("/proc/meminfo").read_text())
    names = [check.name for check in result.checks]
    assert names == ["reachable", "authenticated", "inspected", "os", "cpu", "memory", "ports"]


async def test_declared_os_that_differs_fails_the_os_check_only(sshd_server: SshServer) -> None:
    result = await preflight(node_for(sshd_server, os_type=FOREIGN_OS_TYPE), key_credentials(sshd_server))

    os_check = result.check("os")
    assert os_check is not None and not os_check.ok
    assert os_check.detail.startswith(f"declared {FOREIGN_OS_TYPE} (")
    assert "but the node runs" in os_check.detail
    assert result.success and not result.ready


async def test_unsupported_os_type_is_reported_not_raised(sshd_server: SshServer) -> None:
    result = await preflight(node_for(sshd_server, os_type="windows11"), key_credentials(sshd_server))

    os_check = result.check("os")
    assert os_check is not None and not os_check.ok
    assert "unsupported os_type 'windows11'" in os_check.detail


async def test_required_ports_already_listening_are_reported(sshd_server: SshServer) -> None:
    closed = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        busy = int(taken.getsockname()[1])
        result = await preflight(
            node_for(sshd_server), key_credentials(sshd_server), required_ports=(closed, busy, sshd_server.port)
        )

    assert result.ports_in_use == sorted([busy, sshd_server.port])
    ports = result.check("ports")
    assert ports is not None and not ports.ok
    assert str(busy) in ports.detail and str(closed) not in ports.detail
    assert result.success and not result.ready


# ssh-keygen encrypts keys with 16 bcrypt rounds, fewer than the bcrypt package likes.
FEW_ROUNDS = pytest.mark.filterwarnings("ignore:.*bcrypt.kdf.*:UserWarning")


@FEW_ROUNDS
async def test_encrypted_key_with_its_passphrase_logs_in(sshd_server: SshServer) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    sshd_server.authorize(key.export_public_key().decode())
    encrypted = key.export_private_key(passphrase="correct horse", rounds=16).decode()
    credentials = SshCredentials(sshd_server.username, "private_key", private_key=encrypted, passphrase="correct horse")

    result = await preflight(node_for(sshd_server), credentials)

    assert result.success, result.message


@FEW_ROUNDS
async def test_wrong_passphrase_is_a_clean_failure(sshd_server: SshServer) -> None:
    encrypted = asyncssh.generate_private_key("ssh-ed25519").export_private_key(passphrase="right", rounds=16).decode()
    credentials = SshCredentials(sshd_server.username, "private_key", private_key=encrypted, passphrase="wrong-one")

    result = await preflight(node_for(sshd_server), credentials)

    assert not result.success
    assert result.message.startswith(f"Invalid private key for {sshd_server.username}@127.0.0.1:{sshd_server.port}")
    assert "wrong-one" not in result.message


async def test_key_the_server_does_not_know_fails_authentication(sshd_server: SshServer) -> None:
    stranger = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
    credentials = SshCredentials(sshd_server.username, "private_key", private_key=stranger)

    result = await preflight(node_for(sshd_server), credentials)

    assert not result.success
    assert result.message == f"Authentication failed for {sshd_server.username}@127.0.0.1:{sshd_server.port}"
    assert [(check.name, check.ok) for check in result.checks] == [("reachable", True), ("authenticated", False)]


async def test_wrong_password_is_refused_cleanly(sshd_server: SshServer) -> None:
    credentials = SshCredentials(sshd_server.username, "password", password="not-the-password")

    result = await preflight(node_for(sshd_server), credentials)

    assert not result.success
    assert result.message == f"Authentication failed for {sshd_server.username}@127.0.0.1:{sshd_server.port}"
    assert "not-the-password" not in repr(result) + repr(credentials)


async def test_text_that_is_no_key_is_a_clean_failure(sshd_server: SshServer) -> None:
    credentials = SshCredentials(sshd_server.username, "private_key", private_key="-----BEGIN NONSENSE-----")

    result = await preflight(node_for(sshd_server), credentials)

    assert not result.success
    assert result.message.startswith("Invalid private key for ")


async def test_missing_password_is_reported_before_connecting() -> None:
    node = SshNode("node-01", "worker", "127.0.0.1", free_port(), os_type="rocky9")

    result = await preflight(node, SshCredentials("root", "password"))

    assert not result.success
    assert result.message == f"No password given for root@127.0.0.1:{node.ssh_port}"


async def test_closed_port_is_connection_refused() -> None:
    node = SshNode("node-01", "worker", "127.0.0.1", free_port(), os_type="rocky9")

    result = await preflight(node, SshCredentials("root", "password", password="x"))

    assert not result.success
    assert result.message == f"Could not reach an SSH server at 127.0.0.1:{node.ssh_port}"
    assert [(check.name, check.ok) for check in result.checks] == [("reachable", False)]


async def test_server_that_never_speaks_times_out(silent_listener: int) -> None:
    node = SshNode("node-01", "worker", "127.0.0.1", silent_listener, os_type="rocky9")

    result = await preflight(node, SshCredentials("root", "password", password="x"), timeout=0.5)

    assert not result.success
    assert result.message == f"Could not reach an SSH server at 127.0.0.1:{silent_listener}"


async def test_unknown_host_is_reported_not_raised() -> None:
    node = SshNode("node-01", "worker", "no-such-node.invalid", 22, os_type="rocky9")

    result = await preflight(node, SshCredentials("root", "password", password="x"), timeout=5)

    assert not result.success
    assert "no-such-node.invalid" in result.message


async def test_host_key_is_remembered_on_first_use_and_enforced_after(sshd_server: SshServer) -> None:
    memory = HostKeyMemory()
    host_key = asyncssh.read_private_key(sshd_server.directory / "host_ed25519")

    first = await preflight(node_for(sshd_server), key_credentials(sshd_server), host_keys=memory)
    assert first.success
    assert memory.fingerprint("127.0.0.1", sshd_server.port) == host_key.get_fingerprint()

    memory.remember("127.0.0.1", sshd_server.port, "SHA256:a-key-this-server-never-had")
    changed = await preflight(node_for(sshd_server), key_credentials(sshd_server), host_keys=memory)

    assert not changed.success
    assert changed.message == (
        f"Host key of 127.0.0.1:{sshd_server.port} differs from the one seen before; refusing to connect"
    )


async def test_preflight_all_keeps_node_order(sshd_server: SshServer) -> None:
    unreachable = SshNode("worker-09", "worker", "127.0.0.1", free_port(), os_type="rocky9")
    worker = SshNode("worker-01", "worker", sshd_server.host, sshd_server.port, os_type="rocky9")
    nodes = [node_for(sshd_server), unreachable, worker]

    results = await preflight_all(nodes, key_credentials(sshd_server), concurrency=2)

    assert [(result.node, result.success) for result in results] == [
        ("node-01", True),
        ("worker-09", False),
        ("worker-01", True),
    ]
    worker_cpu = results[2].check("cpu")
    assert worker_cpu is not None and "a worker needs at least 1" in worker_cpu.detail
