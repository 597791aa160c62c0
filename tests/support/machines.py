"""Machines to provision over SSH in tests: each a real sshd with a machine of its own (tests/support/sshd.py)
whose plan commands are stand-ins (tests/support/standins.py) that log every call, the machines
sharing one kubesim cluster as their API server and one SSH key."""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh

from tests.support.sshd import Machine, SshServer, running_sshd
from tests.support.standins import SEPARATOR

STANDINS = Path(__file__).with_name("standins.py")
ACTING = ("kubeadm", "kubectl")  # tests/support/standins.py
LOGGING = (
    "apt-get", "apt-mark", "containerd", "curl", "dnf", "firewall-cmd", "gpg", "helm", "modprobe", "setenforce",
    "swapoff", "sysctl", "systemctl", "ufw",
)
# one write per call: the two sides of a pipe (curl | gpg) log at the same time
LOG_CALL = """call=$(printf '%s\\037' "$(basename "$0")" "$@")\nprintf '%s\\n' "$call" >> "$STANDIN_LOG"\n"""
CONTAINERD_DEFAULT = (
    'if [ "$1 $2" = "config default" ]; then\n'
    "  printf 'version = 2\\n[plugins.cri.containerd.runtimes.runc.options]\\n  SystemdCgroup = false\\n'\n"
    "fi\n"
)
OS_RELEASES = {
    "ubuntu22": 'PRETTY_NAME="Ubuntu 22.04.4 LTS"\nNAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\nID_LIKE=debian\n',
    "rocky9": 'PRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"\nNAME="Rocky Linux"\nVERSION_ID="9.4"\nID="rocky"\n'
    'ID_LIKE="rhel centos fedora"\n',
}
OS_FILES = {
    "rocky9": {
        "/etc/selinux/config": "SELINUX=enforcing\nSELINUXTYPE=targeted\n",
        "/etc/yum.repos.d/rocky.repo": "[baseos]\nname=Rocky Linux $releasever - BaseOS\nenabled=1\n",
    },
}


@dataclass
class RunningMachine:
    name: str
    role: str
    os_type: str
    server: SshServer
    log: Path

    def calls(self, command: str | None = None) -> list[list[str]]:
        """Every stand-in call, oldest first, as [command, *arguments] (only `command`'s when given)."""
        if not self.log.exists():
            return []
        calls = [line.split(SEPARATOR)[:-1] for line in self.log.read_text().splitlines()]
        return [call for call in calls if command in (None, call[0])]

    def node_input(self) -> dict[str, Any]:
        """This machine as a node of the Provisioner's create-cluster input."""
        return {
            "name": self.name, "role": self.role, "ipAddress": self.server.host, "sshPort": self.server.port,
            "osType": self.os_type,
        }


@dataclass
class MachineSet:
    machines: dict[str, RunningMachine]
    shared: Path
    private_key: str
    username: str

    def __getitem__(self, name: str) -> RunningMachine:
        return self.machines[name]

    def cluster_state(self) -> dict[str, Any]:
        """What the kubeadm stand-in keeps for the cluster: bootstrap tokens, CA certificate hash, ..."""
        return dict(json.loads((self.shared / "state.json").read_text()))

    def fail_next_join(self, name: str) -> None:
        (self.shared / f"fail-next-join-{name}").touch()


def _commands(directory: Path) -> Path:
    directory.mkdir(parents=True)
    python, program = shlex.quote(sys.executable), shlex.quote(str(STANDINS))
    scripts = {name: f'exec {python} {program} {name} "$@"\n' for name in ACTING}
    scripts |= {name: LOG_CALL for name in LOGGING}
    scripts["containerd"] += CONTAINERD_DEFAULT
    for name, body in scripts.items():
        script = directory / name
        script.write_text("#!/bin/sh\n" + body)
        script.chmod(0o755)
    return directory


@contextmanager
def running_machines(
    sshd: str, directory: Path, kubeconfig: str, layout: list[tuple[str, str, str]]
) -> Iterator[MachineSet]:
    """One machine per (name, role, os_type) of `layout`, at 127.0.10.1, .2, ...; all accept one key."""
    commands = _commands(directory / "commands")
    shared = directory / "cluster"
    shared.mkdir()
    (shared / "kubeconfig").write_text(kubeconfig)
    with ExitStack() as stack:
        machines: dict[str, RunningMachine] = {}
        for index, (name, role, os_type) in enumerate(layout, start=1):
            log = directory / f"{name}.calls"
            own = Machine(
                hostname=name,
                os_release=OS_RELEASES[os_type],
                commands=commands,
                environment={"STANDIN_LOG": str(log), "STANDIN_CLUSTER": str(shared)},
                files=OS_FILES.get(os_type, {}),
            )
            server = stack.enter_context(
                running_sshd(sshd, directory / name, host=f"127.0.10.{index}", machine=own)
            )
            machines[name] = RunningMachine(name, role, os_type, server, log)
        first = next(iter(machines.values())).server
        public_key = asyncssh.import_private_key(first.private_key).export_public_key().decode()
        for running in machines.values():
            running.server.authorize(public_key)
        yield MachineSet(machines, shared, first.private_key, first.username)
