"""A plan phase's commands run over SSH against a real OpenSSH server: output and exit status logged,
the first failing step stops the phase."""

from __future__ import annotations

import pytest

from app.provisioning.execute import CommandFailed, run_commands
from app.provisioning.ssh import SshCredentials, SshNode
from tests.support.sshd import SshServer


def node_for(server: SshServer) -> SshNode:
    return SshNode("node-01", "worker", server.host, server.port, os_type="ubuntu22")


def credentials(server: SshServer) -> SshCredentials:
    return SshCredentials(server.username, "private_key", private_key=server.private_key)


async def test_commands_run_in_order_and_their_output_is_logged(sshd_server: SshServer) -> None:
    lines: list[str] = []

    async def log(line: str) -> None:
        lines.append(line)

    await run_commands(node_for(sshd_server), credentials(sshd_server), ["echo first", "echo second >&2"], log)
    assert lines == [
        "node-01: first",
        "node-01: step 1 of 2 done",
        "node-01: second",
        "node-01: step 2 of 2 done",
    ]


async def test_a_failing_step_stops_the_rest(sshd_server: SshServer) -> None:
    lines: list[str] = []

    async def log(line: str) -> None:
        lines.append(line)

    with pytest.raises(CommandFailed, match="step 2 of 3 exited with 3"):
        await run_commands(node_for(sshd_server), credentials(sshd_server), ["true", "exit 3", "echo never"], log)
    assert "node-01: never" not in lines and lines[-1] == "node-01: step 1 of 3 done"


async def test_an_unreachable_node_is_a_clear_failure(sshd_server: SshServer) -> None:
    closed = SshNode("node-02", "worker", "127.0.0.1", 1, os_type="ubuntu22")

    async def log(line: str) -> None:
        raise AssertionError(line)

    with pytest.raises(CommandFailed, match="cannot connect to root@127.0.0.1:1"):
        await run_commands(closed, credentials(sshd_server), ["true"], log)
