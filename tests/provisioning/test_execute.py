"""A plan phase's commands run over SSH against a real OpenSSH server: output and exit status logged,
the first failing step stops the phase."""

from __future__ import annotations

import pytest

from app.provisioning.execute import CommandFailed, mask, run_commands, with_secrets
from app.provisioning.kubeadm import CERTIFICATE_KEY_VAR, JOIN_TOKEN_VAR, new_certificate_key, new_join_token
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


async def test_secrets_reach_the_commands_that_name_them_but_no_command_line_and_no_log(
    sshd_server: SshServer,
) -> None:
    token, key = new_join_token(), new_certificate_key()
    secrets = {JOIN_TOKEN_VAR: token, CERTIFICATE_KEY_VAR: key}
    lines: list[str] = []

    async def log(line: str) -> None:
        lines.append(line)

    # the shell's own command line, as `ps` shows it, is printed by the last command and read back
    commands = [
        'echo "joining with ${FLEETGRAPH_JOIN_TOKEN} and $FLEETGRAPH_CERTIFICATE_KEY"',
        'echo "a step that names no secret sees $(env | grep -c FLEETGRAPH_)"',
        'test -n "$FLEETGRAPH_JOIN_TOKEN" && tr "\\0" " " < /proc/$$/cmdline',
    ]
    cmdline = await run_commands(node_for(sshd_server), credentials(sshd_server), commands, log, secrets=secrets,
                                 read_last=True)

    assert "FLEETGRAPH_JOIN_TOKEN" in cmdline and token not in cmdline and key not in cmdline
    assert lines == [
        "node-01: joining with [redacted] and [redacted]",
        "node-01: step 1 of 3 done",
        "node-01: a step that names no secret sees 0",
        "node-01: step 2 of 3 done",
        "node-01: step 3 of 3 done",
    ]


def test_a_secret_is_sent_on_a_line_of_its_own() -> None:
    text, stdin = with_secrets('kubeadm join --token="${FLEETGRAPH_JOIN_TOKEN}"', {JOIN_TOKEN_VAR: "abc", "OTHER": "x"})
    assert stdin == "abc\n" and "abc" not in text
    assert text.splitlines()[:2] == ["IFS= read -r FLEETGRAPH_JOIN_TOKEN || exit 125", "export FLEETGRAPH_JOIN_TOKEN"]
    assert with_secrets("true", {JOIN_TOKEN_VAR: "abc"}) == ("true", "")
    with pytest.raises(ValueError, match="line of its own"):
        with_secrets("echo $FLEETGRAPH_JOIN_TOKEN", {JOIN_TOKEN_VAR: "abc\nrm -rf /"})


def test_output_is_masked_for_secrets_not_known_yet() -> None:
    digest = "0f" * 32
    printed = "kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:"
    printed += digest
    assert mask(printed, []) == (
        "kubeadm join 10.0.0.1:6443 --token [redacted] --discovery-token-ca-cert-hash sha256:[redacted]"
    )
    assert mask("Using certificate key: s3cr3t-key", ["s3cr3t-key"]) == "Using certificate key: [redacted]"
    assert mask("node cp-1 Ready 5m v1.30.6", []) == "node cp-1 Ready 5m v1.30.6"
